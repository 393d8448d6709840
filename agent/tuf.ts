// Checks the vendor's signed release metadata (TUF) before anything is downloaded: tuf-js walks
// root → timestamp → snapshot → targets from the root the organisation pinned at enrolment,
// checking signatures, expiry and that no version went back, then the artifact's length and
// SHA-256 must be the ones the signed targets name. The bucket stays private: every metadata
// file is fetched through a presigned URL the API issued with the key, never a public base URL.
import { createHash } from 'node:crypto';
import { copyFile, mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Metadata, MetadataKind } from '@tufjs/models';
import { BaseFetcher, Updater } from 'tuf-js';
// Not re-exported by the package, but the updater's root walk stops only on this class's 404.
import { DownloadHTTPError } from 'tuf-js/dist/error.js';
import { AgentError } from './errors.js';
import { stateDir } from './install-root.js';

/** Stands for the vendor's tuf/ folder; each file below it is mapped to its presigned URL. */
const BASE = 'https://release-metadata.invalid/tuf/';

/** Fetches `tuf/<name>` through the presigned URL the API gave for it (404 when none was given). */
class PresignedFetcher extends BaseFetcher {
  constructor(
    private readonly urls: Record<string, string>,
    private readonly fetchFn: typeof fetch,
  ) {
    super();
  }
  async fetch(url: string): Promise<ReadableStream<Uint8Array<ArrayBuffer>>> {
    const name = url.startsWith(BASE) ? url.slice(BASE.length) : url;
    const presigned = this.urls[name];
    // No URL offered for a newer root means there is none: tuf-js stops its root walk at a 404.
    if (!presigned) throw new DownloadHTTPError(`no URL for ${name}`, 404);
    const res = await this.fetchFn(presigned);
    if (!res.ok || !res.body) {
      await res.body?.cancel();
      throw new DownloadHTTPError(
        `${name}: the download site answered ${res.status}`,
        res.status === 403 ? 404 : res.status,
      );
    }
    return res.body as ReadableStream<Uint8Array<ArrayBuffer>>;
  }
}

export interface VerifyInput {
  /** The client's TUF state: root.json pinned at enrolment, then what tuf-js has trusted since. */
  trustDir: string;
  /** The pinned root, copied into trustDir the first time. */
  pinnedRoot: string;
  /** Presigned URLs by file name under tuf/ (timestamp.json, snapshot.json, targets.json, <n>.root.json). */
  metadataUrls: Record<string, string>;
  /** The artifact's key in the release bucket (its TUF target path). */
  targetPath: string;
  size: number;
  sha256: string;
  fetchFn?: typeof fetch;
}

const refuse = (what: string, detail: string) =>
  new AgentError(
    'metadata-refused',
    `S606: the vendor's release metadata was refused (${what}: ${detail}). Nothing was downloaded or installed; ` +
      'the vendor must publish valid metadata, or your administrator must check the vendor root pinned at enrolment.',
    { what, detail },
  );

/** Names the check that failed, from tuf-js's and @tufjs/models' error classes. */
function describe(error: Error): AgentError {
  const kind = error.constructor.name;
  const message = error.message.replace(/^Unable to load snapshot metadata error /, '');
  if (kind === 'ExpiredMetadataError' || /expired/i.test(message)) return refuse('expired metadata', message);
  if (kind === 'UnsignedMetadataError' || /signed by|signature/i.test(message))
    return refuse('bad or missing signature', message);
  if (kind === 'BadVersionError' || kind === 'EqualVersionError' || /version/i.test(message))
    return refuse('rolled-back metadata', message);
  if (kind === 'LengthOrHashMismatchError') return refuse('metadata hash mismatch', message);
  return refuse('unreadable metadata', `${kind}: ${message}`);
}

export async function verifyTarget(input: VerifyInput): Promise<void> {
  await mkdir(input.trustDir, { recursive: true });
  const trusted = join(input.trustDir, 'root.json');
  if (!(await stat(trusted).catch(() => undefined))) {
    if (!(await stat(input.pinnedRoot).catch(() => undefined))) {
      throw refuse(
        'no pinned root',
        `${input.pinnedRoot} does not exist: the vendor root is pinned at enrolment`,
      );
    }
    await copyFile(input.pinnedRoot, trusted);
  }
  const updater = new Updater({
    metadataDir: input.trustDir,
    metadataBaseUrl: BASE,
    fetcher: new PresignedFetcher(input.metadataUrls, input.fetchFn ?? fetch),
  });
  let target: Awaited<ReturnType<Updater['getTargetInfo']>>;
  try {
    await updater.refresh();
    target = await updater.getTargetInfo(input.targetPath);
  } catch (error) {
    throw describe(error as Error);
  }
  if (!target) throw refuse('unknown target', `${input.targetPath} is not in the signed targets`);
  if (target.length !== input.size || target.hashes.sha256 !== input.sha256) {
    throw refuse(
      'target hash mismatch',
      `${input.targetPath} is signed as ${target.length} bytes, SHA-256 ${target.hashes.sha256}, ` +
        `but the key offers ${input.size} bytes, SHA-256 ${input.sha256}`,
    );
  }
}

/** Where the vendor root pinned at enrolment is kept, and tuf-js's trusted state beside it. */
export const pinnedRootFile = (root: string) => join(stateDir(root), 'trust', 'vendor-root.json');
export const trustDirOf = (root: string) => join(stateDir(root), 'trust', 'tuf');

/** Pins a vendor root (enrolment): it must be a TUF root; the trusted state starts afresh from it. */
export async function pinVendorRoot(root: string, file: string): Promise<{ version: number; keys: number }> {
  return pinRootDocument(root, await readFile(file, 'utf8'), file);
}

async function pinRootDocument(
  root: string,
  text: string,
  source: string,
): Promise<{ version: number; keys: number }> {
  let parsed: Metadata<import('@tufjs/models').Root>;
  try {
    parsed = Metadata.fromJSON(MetadataKind.Root, JSON.parse(text));
  } catch (error) {
    throw new AgentError('usage', `${source} is not a TUF root.json: ${(error as Error).message}`);
  }
  await mkdir(join(stateDir(root), 'trust'), { recursive: true });
  await rm(trustDirOf(root), { recursive: true, force: true });
  const file = pinnedRootFile(root);
  await writeFile(`${file}.tmp`, text);
  await rename(`${file}.tmp`, file);
  return { version: parsed.signed.version, keys: Object.keys(parsed.signed.keys).length };
}

/** The part of the API the trust steps use. */
export interface OrganisationTrust {
  vendorRoot(): Promise<{ root: Record<string, unknown>; version: number; sha256: string } | undefined>;
}

const sha256Of = (document: unknown) => createHash('sha256').update(JSON.stringify(document)).digest('hex');

async function pinnedDocument(root: string): Promise<unknown> {
  const text = await readFile(pinnedRootFile(root), 'utf8').catch(() => undefined);
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/**
 * Enrolment: pins the vendor root the organisation pinned (GET /vendor-root, signed in), unless
 * this PC has that very document pinned already (re-pinning would forget what it has trusted since).
 */
export async function pinOrganisationRoot(
  root: string | undefined,
  api: OrganisationTrust,
): Promise<{ status: 'none' } | { status: 'pinned' | 'unchanged' | 'no-install-root'; version: number }> {
  const organisation = await api.vendorRoot();
  if (!organisation) return { status: 'none' };
  // The root is pinned in the install root's state folder: without one there is nowhere to keep it.
  if (root === undefined) return { status: 'no-install-root', version: organisation.version };
  const local = await pinnedDocument(root);
  if (local !== undefined && sha256Of(local) === organisation.sha256) {
    return { status: 'unchanged', version: organisation.version };
  }
  const pinned = await pinRootDocument(
    root,
    `${JSON.stringify(organisation.root, null, 2)}\n`,
    "the organisation's vendor root",
  );
  return { status: 'pinned', version: pinned.version };
}

/**
 * Before asking for a key: a PC without a pinned root may install unverified releases only while
 * the organisation has pinned none either; otherwise it refuses and says how to get the root.
 */
export async function requirePinnedRootIfOrganisationHasOne(
  root: string,
  api: OrganisationTrust,
): Promise<void> {
  if (await stat(pinnedRootFile(root)).catch(() => undefined)) return;
  const organisation = await api.vendorRoot();
  if (!organisation) return;
  throw new AgentError(
    'metadata-refused',
    `S606: your organisation requires the vendor's signed release metadata (vendor root version ${organisation.version}), ` +
      'and this PC has not pinned the vendor root. Nothing was downloaded or installed: run "upman agent register" ' +
      'to get it, then run this command again.',
    { what: 'no pinned root', organisationRootVersion: organisation.version },
  );
}

/** The newest root version this PC trusts (what tuf-js has walked to, else the pinned one). */
export async function trustedRootVersion(root: string): Promise<number | undefined> {
  for (const file of [join(trustDirOf(root), 'root.json'), pinnedRootFile(root)]) {
    const text = await readFile(file, 'utf8').catch(() => undefined);
    if (text === undefined) continue;
    try {
      const version = (JSON.parse(text) as { signed?: { version?: unknown } }).signed?.version;
      if (typeof version === 'number' && Number.isSafeInteger(version) && version >= 1) return version;
    } catch {
      // unreadable: the check itself will say so
    }
  }
  return undefined;
}

/**
 * The key's artifact against the signed metadata. With a pinned vendor root, metadata is
 * required: a key without it (an unsigned release) is refused. Without one, nothing can be
 * checked, and the caller says so.
 */
export async function checkKeyAgainstMetadata(
  root: string,
  key: { artifactKey?: string; size: number; sha256: string; metadata?: Record<string, string> },
  fetchFn?: typeof fetch,
): Promise<'verified' | 'no-pinned-root'> {
  if (!(await stat(pinnedRootFile(root)).catch(() => undefined))) return 'no-pinned-root';
  if (!key.metadata || !key.artifactKey) {
    throw refuse(
      'unsigned release',
      'the key carries no signed release metadata, and a vendor root is pinned',
    );
  }
  await verifyTarget({
    trustDir: trustDirOf(root),
    pinnedRoot: pinnedRootFile(root),
    metadataUrls: key.metadata,
    targetPath: key.artifactKey,
    size: key.size,
    sha256: key.sha256,
    ...(fetchFn ? { fetchFn } : {}),
  });
  return 'verified';
}
