// `upman vendor publish`: upload the full package, a binary delta from each of the last N
// revisions (built against that revision's own full package, fetched back from the store), then
// the manifest, then the catalog's latest version. Artifacts go first and the manifest last,
// so a reader never sees a listed artifact that is missing; if anything fails before the
// manifest is written, every uploaded object is deleted again (by version id: the bucket is
// versioned, and a delete marker alone would leave the bytes behind).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BadRequest } from '../errors.js';
import { parseVersion } from '../registry/version.js';
import { buildDelta } from './delta.js';
import { revisionNumberOf, softwareOf } from './layout.js';
import {
  type Artifact,
  artifactEntry,
  assertPublishable,
  emptyManifest,
  type Manifest,
  PublishRefused,
  type Release,
  withRelease,
} from './manifest.js';
import { buildFull, type OpenedRelease, openRelease, sha256OfFile } from './package.js';
import { addTargets, type MetadataStore, type RoleSigners } from './tuf.js';

/** A stored object's identity for a conditional write: its ETag, or null when it does not exist. */
export type Expected = { etag: string | null };

/** What a publish lock holds: who publishes and until when the lock counts (a crashed publish expires). */
export interface PublishLock {
  holder: string;
  startedAt: string;
  expiresAt: string;
}

export interface ReleaseStore {
  readManifest(software: string): Promise<Manifest | undefined>;
  /** The manifest with its ETag, for the conditional write that ends a publish. */
  readManifestForUpdate(software: string): Promise<{ manifest: Manifest | undefined } & Expected>;
  /** Uploads a built artifact; returns the stored object's version id, if the bucket versions. */
  uploadArtifact(
    artifact: Artifact,
    file: string,
    onProgress?: (sent: number) => void,
  ): Promise<{ versionId?: string }>;
  /** Writes the manifest only if it is still `expected` (S3 If-Match / If-None-Match); false if not. */
  writeManifest(manifest: Manifest, expected: Expected): Promise<boolean>;
  /** Creates the software's publish lock if it is `expected` (absent, or the stale one read); false if not. */
  writePublishLock(software: string, lock: PublishLock, expected: Expected): Promise<boolean>;
  readPublishLock(software: string): Promise<({ lock: PublishLock } & Expected) | undefined>;
  deletePublishLock(software: string): Promise<void>;
  deleteArtifact(key: string, versionId?: string): Promise<void>;
  /** Copies a stored artifact to a local file (an earlier full package, to build a delta from). */
  downloadArtifact(key: string, file: string): Promise<void>;
}

/** How many earlier revisions get a delta when nothing else is said. */
export const DEFAULT_DELTA_REVISIONS = 3;

export interface CatalogUpdater {
  /** Fails early (before any upload) when the catalog cannot be updated later, e.g. not registered. */
  check(software: string): Promise<void>;
  setLatest(software: string, version: string, revision: number): Promise<void>;
}

export interface PublishInput {
  software: string;
  version: string;
  revision: number | string;
  /** Directory, .tar.gz/.tgz or .zip. */
  input: string;
  /** Deltas from this many of the latest earlier revisions (0: full package only). */
  deltaRevisions?: number;
  /** Bytes of an artifact sent so far (a progress bar). */
  onUpload?: (artifact: Artifact, sent: number) => void;
  /** Who publishes (in the lock, for the message another publisher gets). */
  holder?: string;
  now?: () => Date;
  onProgress?: (message: string) => void;
}

export interface PublishResult {
  software: string;
  version: string;
  revision: number;
  files: number;
  artifacts: Artifact[];
  catalogUpdated: boolean;
}

export async function publishRelease(
  ports: {
    store: ReleaseStore;
    catalog?: CatalogUpdater;
    /** Signed release metadata: the new artifacts become signed targets before the manifest lists them. */
    tuf?: { store: MetadataStore; signers: RoleSigners };
  },
  input: PublishInput,
): Promise<PublishResult> {
  const software = softwareOf(input.software);
  const version = parseVersion(input.version, 'version');
  const revision = revisionNumberOf(input.revision);
  const deltaRevisions = input.deltaRevisions ?? DEFAULT_DELTA_REVISIONS;
  if (!Number.isSafeInteger(deltaRevisions) || deltaRevisions < 0) {
    throw new BadRequest('deltas must be a whole number of revisions, 0 or more', 'deltas');
  }
  const now = () => input.now?.() ?? new Date();
  const unlock = await lockPublishing(ports.store, software, input.holder ?? 'upman vendor publish', now());
  let opened: OpenedRelease | undefined;
  let work: string | undefined;
  try {
    const stored = await ports.store.readManifestForUpdate(software);
    const manifest = stored.manifest ?? emptyManifest(software);
    assertPublishable(manifest, version, revision);
    if (ports.tuf && !(await ports.tuf.store.readMetadata('root.json'))) {
      throw new PublishRefused(
        'the site has no signed release metadata yet: run "upman vendor tuf init" first',
        'tuf',
      );
    }
    await ports.catalog?.check(software);
    opened = await openRelease(input.input);
    work = await mkdtemp(join(tmpdir(), 'upman-publish-'));
    return await publishLocked(
      ports,
      input,
      { software, version, revision, deltaRevisions, manifest, etag: stored.etag },
      opened,
      work,
    );
  } finally {
    if (work) await rm(work, { recursive: true, force: true });
    await opened?.close();
    await unlock();
  }
}

/** How long a publish lock counts: a publish that crashed holding it is taken over afterwards. */
export const PUBLISH_LOCK_MS = 60 * 60 * 1000;

/**
 * One publish of a software at a time: a lock object created with a conditional write (S3
 * If-None-Match), so of two publishers exactly one gets it; the other is refused at once,
 * before it builds or uploads anything. An expired lock is taken over by its ETag (If-Match).
 */
async function lockPublishing(store: ReleaseStore, software: string, holder: string, now: Date) {
  const lock: PublishLock = {
    holder,
    startedAt: now.toISOString(),
    expiresAt: new Date(now.getTime() + PUBLISH_LOCK_MS).toISOString(),
  };
  if (!(await store.writePublishLock(software, lock, { etag: null }))) {
    const held = await store.readPublishLock(software);
    const stale = held !== undefined && Date.parse(held.lock.expiresAt) <= now.getTime();
    if (!stale || !(await store.writePublishLock(software, lock, { etag: held.etag }))) {
      throw new PublishRefused(
        `another publish of ${software} is in progress${held ? ` (${held.lock.holder}, since ${held.lock.startedAt})` : ''}; ` +
          'nothing was uploaded: publish again when it is done',
        'software',
      );
    }
  }
  return () => store.deletePublishLock(software);
}

async function publishLocked(
  ports: Parameters<typeof publishRelease>[0],
  input: PublishInput,
  target: {
    software: string;
    version: string;
    revision: number;
    deltaRevisions: number;
    manifest: Manifest;
    etag: string | null;
  },
  opened: OpenedRelease,
  work: string,
): Promise<PublishResult> {
  const { software, version, revision, deltaRevisions, manifest } = target;
  const say = input.onProgress ?? (() => {});
  const uploaded: Array<{ key: string; versionId?: string }> = [];
  try {
    say(`${software} ${version} (revision ${revision}): ${opened.files.length} files`);
    const artifacts: Artifact[] = [];
    const upload = async (artifact: Artifact, file: string) => {
      const { versionId } = await ports.store.uploadArtifact(artifact, file, (sent) =>
        input.onUpload?.(artifact, sent),
      );
      uploaded.push({ key: artifact.key, ...(versionId ? { versionId } : {}) });
      artifacts.push(artifact);
      say(`uploaded ${artifact.key} (${artifact.size} bytes)`);
    };

    const fullFile = join(work, 'full.tar.gz');
    const full = artifactEntry(software, revision, null, await buildFull(opened.dir, opened.files, fullFile));
    await upload(full, fullFile);

    const bases = [...manifest.releases].sort((a, b) => b.revision - a.revision).slice(0, deltaRevisions);
    for (const earlier of bases) {
      const previous = await fetchRelease(ports.store, earlier, work);
      try {
        const file = join(work, `delta-from-${earlier.revision}.zdelta`);
        const built = await buildDelta(
          previous,
          opened,
          { software, from: earlier.revision, to: revision },
          file,
        );
        // A delta no smaller than the full package is of no use to anyone: clients get the full one.
        if (built.size >= full.size) {
          say(`no delta from revision ${earlier.revision}: it would not be smaller than the full package`);
          continue;
        }
        await upload(artifactEntry(software, revision, earlier.revision, built), file);
      } finally {
        await previous.close();
      }
    }

    if (ports.tuf) {
      await addTargets(
        ports.tuf.store,
        ports.tuf.signers,
        artifacts.map((a) => ({ path: a.key, length: a.size, sha256: a.sha256 })),
        input.now?.() ?? new Date(),
      );
      say(`signed targets, snapshot and timestamp for ${artifacts.length} artifacts`);
    }

    const release: Release = {
      version,
      revision,
      publishedAt: (input.now?.() ?? new Date()).toISOString(),
      files: opened.files,
      artifacts,
    };
    if (!(await ports.store.writeManifest(withRelease(manifest, release), { etag: target.etag }))) {
      throw new PublishRefused(
        `the manifest of ${software} changed while this publish ran (another publisher took over its lock): ` +
          'this publish was undone and nothing of it is visible; publish again',
        'software',
      );
    }
    uploaded.length = 0; // listed now: nothing to roll back
    say(`wrote manifest: ${software} now at ${version} (revision ${revision})`);

    let catalogUpdated = false;
    if (ports.catalog) {
      await ports.catalog.setLatest(software, version, revision).catch((error: Error) => {
        throw new Error(
          `The release is published, but the catalog was not updated (${error.message}). ` +
            `Set latestVersion ${version} / latestRevision ${revision} with PUT /software/${software}.`,
        );
      });
      catalogUpdated = true;
      say(`catalog: ${software} latest version ${version}`);
    }
    return { software, version, revision, files: opened.files.length, artifacts, catalogUpdated };
  } catch (error) {
    for (const object of uploaded.reverse()) {
      await ports.store.deleteArtifact(object.key, object.versionId).catch((e: Error) => {
        say(`could not remove ${object.key} after the failure: ${e.message}`);
      });
    }
    throw error;
  }
}

/** An earlier release's files, from its full package in the store, checked against the manifest. */
async function fetchRelease(store: ReleaseStore, release: Release, work: string): Promise<OpenedRelease> {
  const full = release.artifacts.find((a) => a.kind === 'full');
  if (!full) throw new Error(`revision ${release.revision} has no full package to build a delta from`);
  const file = join(work, `base-${release.revision}.tar.gz`);
  await store.downloadArtifact(full.key, file);
  const got = await sha256OfFile(file);
  if (got.sha256 !== full.sha256) {
    throw new Error(
      `${full.key} in the store does not match its SHA-256 in the manifest: not building a delta from it`,
    );
  }
  try {
    return await openRelease(file);
  } finally {
    await rm(file, { force: true });
  }
}
