// Signed release metadata: The Update Framework (TUF) per vendor site, built and signed with
// @tufjs/models. Four roles, each a JSON document under `tuf/` in the release bucket:
//   root.json (+ <n>.root.json)  the keys of every role; rotated by a root signed by old AND new keys
//   targets.json                 every artifact (key = target path) with its length and SHA-256
//   snapshot.json                the version of targets.json (short expiry)
//   timestamp.json               the version of snapshot.json (shortest expiry, refreshed by a schedule)
// Every write takes the stored version + 1, so versions only go up. Signing is asynchronous (AWS
// KMS signs remotely), so the canonical bytes are taken from the models, signed, and the
// signature attached, instead of Metadata.sign's synchronous callback doing the signing.
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

/** Where the metadata lives: names like "timestamp.json" or "3.root.json", relative to tuf/. */
export interface MetadataStore {
  readMetadata(name: string): Promise<string | undefined>;
  writeMetadata(name: string, body: string): Promise<void>;
}

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

async function read<K extends MetadataKind>(store: MetadataStore, kind: K, name = `${kind}.json`) {
  const text = await store.readMetadata(name);
  if (text === undefined) return undefined;
  // biome-ignore lint/suspicious/noExplicitAny: fromJSON's overloads are keyed by kind
  return Metadata.fromJSON(kind as any, JSON.parse(text)) as unknown as Metadata<
    K extends MetadataKind.Root
      ? Root
      : K extends MetadataKind.Targets
        ? Targets
        : K extends MetadataKind.Snapshot
          ? Snapshot
          : Timestamp
  >;
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
  if (await store.readMetadata('root.json'))
    throw new Conflict('the TUF repository exists already: rotate its root instead', 'root');
  const root = await signMetadata(new Metadata(rootOf(signers, 1, now, lifetimes)), signers.root);
  await store.writeMetadata('1.root.json', serialise(root));
  await store.writeMetadata('root.json', serialise(root));
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
  signers: RoleSigners,
  add: TufTarget[],
  now: Date,
  lifetimes: Lifetimes,
): Promise<void> {
  const current = await read(store, MetadataKind.Targets);
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
  await store.writeMetadata(
    'targets.json',
    serialise(await signMetadata(new Metadata(next), [signers.targets])),
  );
  await refreshTimestamp(store, signers, now, lifetimes);
}

/**
 * The schedule's job (and the end of every publish): a new snapshot naming the current
 * targets version, and a new timestamp naming it, each with a fresh short expiry.
 */
export async function refreshTimestamp(
  store: MetadataStore,
  signers: Pick<RoleSigners, 'snapshot' | 'timestamp'>,
  now = new Date(),
  lifetimes = DEFAULT_LIFETIMES,
): Promise<{ snapshot: number; timestamp: number }> {
  const targets = await read(store, MetadataKind.Targets);
  if (!targets) throw new Conflict('the TUF repository has no targets.json: initialise it first', 'targets');
  const snapshot = await read(store, MetadataKind.Snapshot);
  const nextSnapshot = new Snapshot({
    version: (snapshot?.signed.version ?? 0) + 1,
    specVersion: SPEC_VERSION,
    expires: expiry(now, lifetimes.snapshotDays),
    meta: { 'targets.json': new MetaFile({ version: targets.signed.version }) },
  });
  await store.writeMetadata(
    'snapshot.json',
    serialise(await signMetadata(new Metadata(nextSnapshot), [signers.snapshot])),
  );
  const timestamp = await read(store, MetadataKind.Timestamp);
  const nextTimestamp = new Timestamp({
    version: (timestamp?.signed.version ?? 0) + 1,
    specVersion: SPEC_VERSION,
    expires: expiry(now, lifetimes.timestampDays),
    snapshotMeta: new MetaFile({ version: nextSnapshot.version }),
  });
  await store.writeMetadata(
    'timestamp.json',
    serialise(await signMetadata(new Metadata(nextTimestamp), [signers.timestamp])),
  );
  return { snapshot: nextSnapshot.version, timestamp: nextTimestamp.version };
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
  const old = await read(store, MetadataKind.Root);
  if (!old) throw new Conflict('the TUF repository has no root.json: initialise it first', 'root');
  const signers = [...current, ...next.root.filter((s) => !current.some((c) => c.key.keyID === s.key.keyID))];
  const root = await signMetadata(
    new Metadata(rootOf(next, old.signed.version + 1, now, lifetimes)),
    signers,
  );
  await store.writeMetadata(`${root.signed.version}.root.json`, serialise(root));
  await store.writeMetadata('root.json', serialise(root));
  await writeTargets(store, next, [], now, lifetimes);
  return root;
}
