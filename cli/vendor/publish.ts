// `upman vendor publish --software <name> --version <v> --revision <n> <directory|.tar.gz|.zip>`
// (docs/vendor.md). Uploads the release's artifacts and manifest to the vendor bucket, then sets
// the catalog's latest version through the registry's API (PUT /software/{name}, admin token),
// which works from the vendor's own account too (claim 9).
import { hostname, userInfo } from 'node:os';
import { currentToken, describeToken } from '../../agent/auth.js';
import { AgentError } from '../../agent/errors.js';
import { S3Releases } from '../../lib/adapters/s3/releases.js';
import type { Artifact } from '../../lib/vendor/manifest.js';
import { type CatalogUpdater, type PublishResult, publishRelease } from '../../lib/vendor/publish.js';
import { connect } from './connection.js';
import { loadSigners } from './tuf.js';

export interface PublishOptions {
  software: string;
  version: string;
  revision: string;
  catalog: boolean;
  bucket?: string;
  api?: string;
  token?: string;
  endpoints?: string;
  /** Deltas from this many of the latest earlier revisions. */
  deltas?: string;
  /** The site's metadata signing keys (key files or kms-keys.json): sign the new artifacts as TUF targets. */
  tufKeys?: string;
  quiet?: boolean;
  /** Where progress lines go (default: stdout). */
  onProgress?: (message: string) => void;
  /** Bytes of each artifact sent so far, as they upload (the CLI's progress bars). */
  onUpload?: (artifact: Artifact, sent: number) => void;
}

/** The catalog's latest version through the registry's HTTP API. */
export function httpCatalog(api: string, token: string, fetchFn: typeof fetch = fetch): CatalogUpdater {
  const call = async (method: string, name: string, body?: unknown) => {
    const res = await fetchFn(`${api}/software/${encodeURIComponent(name)}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    const json = text ? (JSON.parse(text) as Record<string, unknown>) : {};
    return { status: res.status, json };
  };
  const read = async (name: string) => {
    const { status, json } = await call('GET', name);
    if (status === 404) {
      throw new AgentError(
        'not-found',
        `${name} is not in the software catalog: an admin registers it first (PUT /software/${name} with vendor, licencePrice, licenceModel)`,
      );
    }
    if (status === 401 || status === 403)
      throw new AgentError(
        status === 401 ? 'not-logged-in' : 'forbidden',
        `The API refused the token (${status}): publishing to the catalog needs an admin's login ("upman login --user <name> --groups admins")`,
      );
    if (status !== 200)
      throw new Error(`GET /software/${name} answered ${status}: ${String(json.message ?? '')}`);
    return json;
  };
  return {
    check: async (name) => {
      await read(name);
    },
    setLatest: async (name, version, revision) => {
      const entry = await read(name);
      const { status, json } = await call('PUT', name, {
        vendor: entry.vendor,
        licencePrice: entry.licencePrice,
        licenceModel: entry.licenceModel,
        latestVersion: version,
        latestRevision: revision,
      });
      if (status !== 200 && status !== 201) {
        throw new Error(`PUT /software/${name} answered ${status}: ${String(json.message ?? '')}`);
      }
    },
  };
}

export async function runPublish(input: string, options: PublishOptions): Promise<PublishResult> {
  const conn = connect(options);
  try {
    let catalog: CatalogUpdater | undefined;
    if (options.catalog) {
      if (!conn.api)
        throw new AgentError(
          'usage',
          'No API for the catalog: pass --api, set UPMAN_API or start the local cloud (or --no-catalog)',
        );
      // --token, else UPMAN_TOKEN, else the login "upman login" stored (an admin's).
      const token = options.token ? describeToken(options.token, 'flag') : await currentToken();
      if (!token.groups.includes('admins')) {
        throw new AgentError(
          'forbidden',
          `Publishing updates the catalog, which needs an admin: you are logged in as ${token.user} (${token.groups.join(', ') || 'no groups'}). ` +
            'Log in as one ("upman login --user <name> --groups admins") or pass --no-catalog',
        );
      }
      catalog = httpCatalog(conn.api, token.token);
    }
    const store = new S3Releases(conn.s3, conn.bucket);
    const tufKeys = options.tufKeys ?? process.env.UPMAN_TUF_KEYS;
    const tuf = tufKeys ? { store, signers: await loadSigners(tufKeys, options.endpoints) } : undefined;
    return await publishRelease(
      { store, ...(catalog ? { catalog } : {}), ...(tuf ? { tuf } : {}) },
      {
        software: options.software,
        version: options.version,
        revision: options.revision,
        input,
        ...(options.deltas === undefined ? {} : { deltaRevisions: deltaCount(options.deltas) }),
        holder: `${userInfo().username}@${hostname()} (pid ${process.pid})`,
        ...(options.quiet ? {} : { onProgress: options.onProgress ?? ((m: string) => console.log(m)) }),
        ...(options.onUpload ? { onUpload: options.onUpload } : {}),
      },
    );
  } finally {
    conn.s3.destroy();
  }
}

function deltaCount(value: string): number {
  if (!/^\d{1,3}$/.test(value))
    throw new AgentError('usage', `--deltas must be a whole number from 0 to 999, not ${value}`);
  return Number(value);
}
