// Signed release metadata: The Update Framework (TUF) per vendor site, built and signed with
// @tufjs/models. Four roles, each a JSON document under `tuf/` in the release bucket:
//   root.json (+ <n>.root.json)  the keys of every role; rotated by a root signed by old AND new keys
//   targets.json                 every artifact (key = target path) with its length and SHA-256
//   snapshot.json                the version of targets.json (short expiry)
//   timestamp.json               the version of snapshot.json (shortest expiry, refreshed by a schedule)
// Every write takes the stored version + 1, so versions only go up, and is conditional on the
// ETag it read (S3 If-Match / If-None-Match): publishes of different software and the refresh
// schedule share targets, snapshot and timestamp, and a writer that lost the race reads again
// and merges instead of overwriting. A snapshot is built after reading the snapshot it replaces
// and then targets (a timestamp: timestamp, then snapshot), so whichever write lands last names
// the newest version. Signing is asynchronous (AWS KMS signs remotely), so the canonical bytes
// are taken from the models, signed, and the signature attached, instead of Metadata.sign's
// synchronous callback doing the signing.
import { createHash } from 'node:crypto';
import {
  Key,
  Metadata,
  MetadataKind,
  MetaFile,
  Root,
  Signature,
  Snapshot,
  TargetFile,
  Targets,
  Timestamp,
} from '@tufjs/models';
import { Conflict } from '../errors.js';

export { TUF_PREFIX, tufMetadataNames } from './layout.js';

const SPEC_VERSION = '1.0.31';
const DAY = 24 * 3600 * 1000;

/** How long each role's metadata is valid; snapshot and timestamp are refreshed on a schedule. */
export interface Lifetimes {
  rootDays: number;
  targetsDays: number;
  snapshotDays: number;
  timestampDays: number;
}
export const DEFAULT_LIFETIMES: Lifetimes = {
  rootDays: 365,
  targetsDays: 365,
  snapshotDays: 7,
  timestampDays: 1,
};

/** A key that signs metadata: a key file locally, an AWS KMS asymmetric key in AWS. */
export interface MetadataSigner {
  readonly key: Key;
  /** Signs the canonical bytes; returns the signature as TUF's ecdsa scheme wants it (DER). */
  sign(data: Buffer): Promise<Buffer>;
}

export interface RoleSigners {
  root: MetadataSigner[];
  targets: MetadataSigner;
  snapshot: MetadataSigner;
  timestamp: MetadataSigner;
}

/** A stored metadata file and the ETag to write it back on. */
export interface StoredMetadata {
  body: string;
  etag: string;
}

/** Where the metadata lives: names like "timestamp.json" or "3.root.json", relative to tuf/. */
export interface MetadataStore {
  readMetadata(name: string): Promise<StoredMetadata | undefined>;
  /** Writes only if the file is still the one read (`etag`), or absent (`null`); false if not. */
  writeMetadata(name: string, body: string, expected: { etag: string | null }): Promise<boolean>;
}

/** How often a writer that lost a conditional write reads again before it gives up. */
const WRITE_ATTEMPTS = 10;

export interface TufTarget {
  path: string;
  length: number;
  sha256: string;
}

/** A public key as TUF names it: ECDSA P-256 (what AWS KMS's ECC_NIST_P256 keys are), PEM. */
export function ecdsaKey(publicKeyPem: string): Key {
  const body = { keytype: 'ecdsa', keyval: { public: publicKeyPem }, scheme: 'ecdsa-sha2-nistp256' };
  const keyID = createHash('sha256').update(JSON.stringify(body)).digest('hex');
  return new Key({ keyID, keyType: body.keytype, scheme: body.scheme, keyVal: body.keyval });
}

const expiry = (now: Date, days: number) =>
  new Date(now.getTime() + days * DAY).toISOString().replace(/\.\d{3}Z$/, 'Z');

/** Signs `metadata` with every signer: the canonical bytes of `signed`, each signature attached. */
export async function signMetadata<T extends Root | Targets | Snapshot | Timestamp>(
  metadata: Metadata<T>,
  signers: MetadataSigner[],
): Promise<Metadata<T>> {
  let canonical: Buffer | undefined;
  metadata.sign((data) => {
    canonical = data;
    return new Signature({ keyID: 'canonical-bytes', sig: '' });
  }, false);
  metadata.signatures = {};
  for (const signer of signers) {
    const sig = await signer.sign(canonical!);
    metadata.signatures[signer.key.keyID] = new Signature({
      keyID: signer.key.keyID,
      sig: sig.toString('hex'),
    });
  }
  return metadata;
}

const serialise = (metadata: Metadata<Root | Targets | Snapshot | Timestamp>) =>
  `${JSON.stringify(metadata.toJSON(), null, 2)}\n`;

type Signed<K extends MetadataKind> = K extends MetadataKind.Root
  ? Root
  : K extends MetadataKind.Targets
    ? Targets
    : K extends MetadataKind.Snapshot
      ? Snapshot
      : Timestamp;

/** A role's metadata as stored, with the ETag a conditional write of it needs (null: absent). */
async function read<K extends MetadataKind>(
  store: MetadataStore,
  kind: K,
  name = `${kind}.json`,
): Promise<{ metadata: Metadata<Signed<K>> | undefined; etag: string | null }> {
  const stored = await store.readMetadata(name);
  if (stored === undefined) return { metadata: undefined, etag: null };
  return {
    // biome-ignore lint/suspicious/noExplicitAny: fromJSON's overloads are keyed by kind
    metadata: Metadata.fromJSON(kind as any, JSON.parse(stored.body)) as unknown as Metadata<Signed<K>>,
    etag: stored.etag,
  };
}

/**
 * Read, build, sign, write on the ETag read; when another writer got in between, read again.
 * `build` answers undefined when nothing needs writing.
 */
async function writeRole<K extends MetadataKind>(
  store: MetadataStore,
  kind: K,
  build: (current: Metadata<Signed<K>> | undefined) => Promise<Metadata<Signed<K>> | undefined>,
): Promise<{ metadata: Metadata<Signed<K>>; written: boolean }> {
  for (let attempt = 1; ; attempt++) {
    const { metadata: current, etag } = await read(store, kind);
    const next = await build(current);
    if (!next) return { metadata: current!, written: false };
    if (await store.writeMetadata(`${kind}.json`, serialise(next), { etag })) {
      return { metadata: next, written: true };
    }
    if (attempt >= WRITE_ATTEMPTS) {
      throw new Conflict(
        `${kind}.json kept changing while it was being signed (${attempt} attempts): try again`,
        'tuf',
      );
    }
    // Jittered, growing pause: two writers that collided do not collide again in step.
    await new Promise((resolve) => setTimeout(resolve, Math.random() * 50 * attempt));
  }
}

function rootOf(signers: RoleSigners, version: number, now: Date, lifetimes: Lifetimes): Root {
  const root = new Root({
    version,
    specVersion: SPEC_VERSION,
    expires: expiry(now, lifetimes.rootDays),
    consistentSnapshot: false,
    // Every role: threshold 1 (the models' default); a root may still list several keys.
  });
  for (const s of signers.root) root.addKey(s.key, 'root');
  root.addKey(signers.targets.key, 'targets');
  root.addKey(signers.snapshot.key, 'snapshot');
  root.addKey(signers.timestamp.key, 'timestamp');
  return root;
}

/** Creates the vendor site's repository: root v1, empty targets, snapshot and timestamp. */
export async function initRepository(
  store: MetadataStore,
  signers: RoleSigners,
  now = new Date(),
  lifetimes = DEFAULT_LIFETIMES,
): Promise<Metadata<Root>> {
  const exists = () => new Conflict('the TUF repository exists already: rotate its root instead', 'root');
  if (await store.readMetadata('root.json')) throw exists();
  const root = await signMetadata(new Metadata(rootOf(signers, 1, now, lifetimes)), signers.root);
  // Created only if absent: of two inits at once, one wins and the other is refused.
  if (!(await store.writeMetadata('1.root.json', serialise(root), { etag: null }))) throw exists();
  if (!(await store.writeMetadata('root.json', serialise(root), { etag: null }))) throw exists();
  await writeTargets(store, signers, [], now, lifetimes);
  return root;
}

/** Signs targets.json with `add` merged in, then a new snapshot and timestamp. */
export async function addTargets(
  store: MetadataStore,
  signers: RoleSigners,
  add: TufTarget[],
  now = new Date(),
  lifetimes = DEFAULT_LIFETIMES,
): Promise<void> {
  await writeTargets(store, signers, add, now, lifetimes);
}

async function writeTargets(
  store: MetadataStore,
  signers: Pick<RoleSigners, 'targets' | 'snapshot' | 'timestamp'>,
  add: TufTarget[],
  now: Date,
  lifetimes: Lifetimes,
): Promise<void> {
  // Merged into whatever is stored at the moment of writing: another software's publish that
  // landed first keeps its targets.
  await writeRole(store, MetadataKind.Targets, async (current) => {
    const targets: Record<string, TargetFile> = { ...(current?.signed.targets ?? {}) };
    for (const t of add) {
      targets[t.path] = new TargetFile({ path: t.path, length: t.length, hashes: { sha256: t.sha256 } });
    }
    const next = new Targets({
      version: (current?.signed.version ?? 0) + 1,
      specVersion: SPEC_VERSION,
      expires: expiry(now, lifetimes.targetsDays),
      targets,
    });
    return signMetadata(new Metadata(next), [signers.targets]);
  });
  await refreshTimestamp(store, signers, now, lifetimes);
}

export interface Refreshed {
  snapshot: number;
  timestamp: number;
  /** The roles signed anew by this call (none when everything was current and not due). */
  renewed: Array<'snapshot' | 'timestamp'>;
}

/** Due for renewal: less than half its lifetime left (the schedule then has many chances before expiry). */
const due = (expires: string, now: Date, days: number) =>
  Date.parse(expires) - now.getTime() < (days * DAY) / 2;

/**
 * A new snapshot naming the current targets version, and a new timestamp naming it, each with a
 * fresh short expiry: the end of every publish, and the refresh schedule's job. With
 * `onlyWhenDue` (the schedule) a role is signed again only when it names an older version than
 * the current one, or has less than half its lifetime left.
 */
export async function refreshTimestamp(
  store: MetadataStore,
  signers: Pick<RoleSigners, 'snapshot' | 'timestamp'>,
  now = new Date(),
  lifetimes = DEFAULT_LIFETIMES,
  options: { onlyWhenDue?: boolean } = {},
): Promise<Refreshed> {
  const renewed: Refreshed['renewed'] = [];
  const snapshot = await writeRole(store, MetadataKind.Snapshot, async (current) => {
    // Read after the snapshot it replaces: a targets write that lands later writes its own snapshot.
    const { metadata: targets } = await read(store, MetadataKind.Targets);
    if (!targets)
      throw new Conflict('the TUF repository has no targets.json: initialise it first', 'targets');
    const named = current?.signed.meta['targets.json']?.version ?? 0;
    if (named > targets.signed.version) {
      throw new Conflict(
        `snapshot.json names targets version ${named}, newer than the stored targets.json (${targets.signed.version})`,
        'targets',
      );
    }
    if (
      options.onlyWhenDue &&
      current &&
      named === targets.signed.version &&
      !due(current.signed.expires, now, lifetimes.snapshotDays)
    ) {
      return undefined;
    }
    const next = new Snapshot({
      version: (current?.signed.version ?? 0) + 1,
      specVersion: SPEC_VERSION,
      expires: expiry(now, lifetimes.snapshotDays),
      meta: { 'targets.json': new MetaFile({ version: targets.signed.version }) },
    });
    return signMetadata(new Metadata(next), [signers.snapshot]);
  });
  if (snapshot.written) renewed.push('snapshot');
  const timestamp = await writeRole(store, MetadataKind.Timestamp, async (current) => {
    const { metadata: stored } = await read(store, MetadataKind.Snapshot);
    const version = stored?.signed.version ?? snapshot.metadata.signed.version;
    const named = current?.signed.snapshotMeta.version ?? 0;
    if (
      options.onlyWhenDue &&
      current &&
      named === version &&
      !due(current.signed.expires, now, lifetimes.timestampDays)
    ) {
      return undefined;
    }
    const next = new Timestamp({
      version: (current?.signed.version ?? 0) + 1,
      specVersion: SPEC_VERSION,
      expires: expiry(now, lifetimes.timestampDays),
      snapshotMeta: new MetaFile({ version }),
    });
    return signMetadata(new Metadata(next), [signers.timestamp]);
  });
  if (timestamp.written) renewed.push('timestamp');
  return {
    snapshot: snapshot.metadata.signed.version,
    timestamp: timestamp.metadata.signed.version,
    renewed,
  };
}

/**
 * Root rotation: root v(n+1) with the new keys, signed by the current root keys (so clients
 * that trust v(n) accept it) and by the new ones (so it can stand on its own); then targets,
 * snapshot and timestamp are signed again with the new role keys.
 */
export async function rotateRoot(
  store: MetadataStore,
  current: MetadataSigner[],
  next: RoleSigners,
  now = new Date(),
  lifetimes = DEFAULT_LIFETIMES,
): Promise<Metadata<Root>> {
  const { metadata: old, etag } = await read(store, MetadataKind.Root);
  if (!old) throw new Conflict('the TUF repository has no root.json: initialise it first', 'root');
  const signers = [...current, ...next.root.filter((s) => !current.some((c) => c.key.keyID === s.key.keyID))];
  const root = await signMetadata(
    new Metadata(rootOf(next, old.signed.version + 1, now, lifetimes)),
    signers,
  );
  const raced = () =>
    new Conflict(`another rotation wrote root version ${root.signed.version} first: rotate again`, 'root');
  if (!(await store.writeMetadata(`${root.signed.version}.root.json`, serialise(root), { etag: null })))
    throw raced();
  if (!(await store.writeMetadata('root.json', serialise(root), { etag }))) throw raced();
  await writeTargets(store, next, [], now, lifetimes);
  return root;
}

/** A store that can tell a missing file from a refused read (the schedule's role lists tuf/). */
export interface ListedMetadataStore extends MetadataStore {
  metadataExists(name: string): Promise<boolean>;
}

export type ScheduledRefresh = (Refreshed & { status: 'checked' }) | { status: 'not-initialised' };

/**
 * The refresh schedule's job: nothing before the vendor has initialised the site; otherwise the
 * keys it holds must be the ones root.json names for snapshot and timestamp (else it would
 * sign metadata every client refuses), and each role is signed again when due.
 */
export async function refreshWhenDue(
  store: ListedMetadataStore,
  signers: Pick<RoleSigners, 'snapshot' | 'timestamp'>,
  now = new Date(),
  lifetimes = DEFAULT_LIFETIMES,
): Promise<ScheduledRefresh> {
  if (!(await store.metadataExists('root.json'))) return { status: 'not-initialised' };
  const { metadata: root } = await read(store, MetadataKind.Root);
  for (const role of ['snapshot', 'timestamp'] as const) {
    const keyIds = root?.signed.roles[role]?.keyIDs ?? [];
    if (!keyIds.includes(signers[role].key.keyID)) {
      throw new Conflict(
        `root.json (version ${root?.signed.version}) does not name this site's ${role} key ${signers[role].key.keyID} ` +
          `(it names ${keyIds.join(', ') || 'none'}): initialise or rotate the root with the site's keys (--site-keys)`,
        role,
      );
    }
  }
  return {
    status: 'checked',
    ...(await refreshTimestamp(store, signers, now, lifetimes, { onlyWhenDue: true })),
  };
}
