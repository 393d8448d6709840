// `upman vendor publish --software <name> --version <v> --revision <n> <directory|.tar.gz|.zip>`
// (docs/vendor.md). Uploads the release's artifacts and manifest to the vendor bucket, then sets
// the catalog's latest version through the registry's API (PUT /software/{name}, admin token),
// which works from the vendor's own account too (claim 9).
import { hostname, userInfo } from 'node:os';
import { SingleBar } from 'cli-progress';
import type { Command } from 'commander';
import { S3Releases } from '../../lib/adapters/s3/releases.js';
import type { Artifact } from '../../lib/vendor/manifest.js';
import {
  type CatalogUpdater,
  DEFAULT_DELTA_REVISIONS,
  type PublishResult,
  publishRelease,
} from '../../lib/vendor/publish.js';
import { connect } from './connection.js';
import { loadSigners, registerTufCommands } from './tuf.js';

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
      throw new Error(
        `${name} is not in the software catalog: an admin registers it first (PUT /software/${name} with vendor, licencePrice, licenceModel)`,
      );
    }
    if (status === 401 || status === 403)
      throw new Error(`the API refused the token (${status}): it needs the admins role`);
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
      const token = options.token ?? process.env.UPMAN_TOKEN;
      if (!conn.api)
        throw new Error('No API URL for the catalog: pass --api or set UPMAN_API_URL (or --no-catalog)');
      if (!token)
        throw new Error('No admin token for the catalog: pass --token or set UPMAN_TOKEN (or --no-catalog)');
      catalog = httpCatalog(conn.api, token);
    }
    const store = new S3Releases(conn.s3, conn.bucket);
    const tufKeys = options.tufKeys ?? process.env.UPMAN_TUF_KEYS;
    const tuf = tufKeys ? { store, signers: await loadSigners(tufKeys, options.endpoints) } : undefined;
    const bars = uploadBars(!options.quiet && process.stdout.isTTY === true);
    return await publishRelease(
      { store, ...(catalog ? { catalog } : {}), ...(tuf ? { tuf } : {}) },
      {
        software: options.software,
        version: options.version,
        revision: options.revision,
        input,
        ...(options.deltas === undefined ? {} : { deltaRevisions: deltaCount(options.deltas) }),
        holder: `${userInfo().username}@${hostname()} (pid ${process.pid})`,
        ...(options.quiet ? {} : { onProgress: (m: string) => (bars.stop(), console.log(m)) }),
        ...(bars.enabled ? { onUpload: bars.update } : {}),
      },
    );
  } finally {
    conn.s3.destroy();
  }
}

/** One progress bar per artifact while it uploads (on a terminal only; logs and pipes get the lines). */
function uploadBars(enabled: boolean) {
  let bar: SingleBar | undefined;
  let current: string | undefined;
  const stop = () => {
    bar?.stop();
    bar = undefined;
    current = undefined;
  };
  return {
    enabled,
    stop,
    update: (artifact: Artifact, sent: number) => {
      if (current !== artifact.key) {
        stop();
        current = artifact.key;
        bar = new SingleBar({
          format: `  {bar} {percentage}% | {value}/{total} bytes | ${artifact.key}`,
          hideCursor: true,
        });
        bar.start(artifact.size, 0);
      }
      bar?.update(sent);
    },
  };
}

function deltaCount(value: string): number {
  if (!/^\d{1,3}$/.test(value))
    throw new Error(`--deltas must be a whole number from 0 to 999, not ${value}`);
  return Number(value);
}

export function registerVendorCommands(program: Command): void {
  const vendor = program.command('vendor').description("the vendor's download site");
  vendor
    .command('publish')
    .description('publish a release: full package, binary deltas from recent revisions, manifest, catalog')
    .argument('<package>', 'the release: a directory, a .tar.gz (.tgz) or a .zip')
    .requiredOption('--software <name>', 'software name, as in the catalog')
    .requiredOption('--version <version>', 'version, e.g. 2.1.0 (published once)')
    .requiredOption('--revision <n>', 'revision (build) number, above every published one')
    .option('--bucket <name>', 'release bucket (default: UPMAN_RELEASE_BUCKET or the local cloud)')
    .option('--api <url>', 'upman API for the catalog (default: UPMAN_API_URL or the local cloud)')
    .option('--token <jwt>', 'admin token for the catalog (default: UPMAN_TOKEN)')
    .option('--endpoints <file>', 'local cloud endpoints file (default: .local/endpoints.json)')
    .option(
      '--deltas <n>',
      `binary deltas from the latest n earlier revisions (default ${DEFAULT_DELTA_REVISIONS}; 0: full package only)`,
    )
    .option('--tuf-keys <dir>', "sign the artifacts into the site's TUF metadata (env UPMAN_TUF_KEYS)")
    .option('--no-catalog', 'do not update the catalog (the release is still published)')
    .action(async (pkg: string, options: PublishOptions) => {
      const result = await runPublish(pkg, options);
      for (const a of result.artifacts)
        console.log(`${a.kind.padEnd(5)} ${String(a.size).padStart(12)}  ${a.sha256}  ${a.key}`);
    });
  registerTufCommands(vendor);
}
