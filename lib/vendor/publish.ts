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

export interface ReleaseStore {
  readManifest(software: string): Promise<Manifest | undefined>;
  /** Uploads a built artifact; returns the stored object's version id, if the bucket versions. */
  uploadArtifact(artifact: Artifact, file: string): Promise<{ versionId?: string }>;
  writeManifest(manifest: Manifest): Promise<void>;
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
  const say = input.onProgress ?? (() => {});
  const deltaRevisions = input.deltaRevisions ?? DEFAULT_DELTA_REVISIONS;
  if (!Number.isSafeInteger(deltaRevisions) || deltaRevisions < 0) {
    throw new BadRequest('deltas must be a whole number of revisions, 0 or more', 'deltas');
  }

  const manifest = (await ports.store.readManifest(software)) ?? emptyManifest(software);
  assertPublishable(manifest, version, revision);
  if (ports.tuf && !(await ports.tuf.store.readMetadata('root.json'))) {
    throw new PublishRefused(
      'the site has no signed release metadata yet: run "upman vendor tuf init" first',
      'tuf',
    );
  }
  await ports.catalog?.check(software);

  const opened = await openRelease(input.input);
  const work = await mkdtemp(join(tmpdir(), 'upman-publish-'));
  const uploaded: Array<{ key: string; versionId?: string }> = [];
  try {
    say(`${software} ${version} (revision ${revision}): ${opened.files.length} files`);
    const artifacts: Artifact[] = [];
    const upload = async (artifact: Artifact, file: string) => {
      const { versionId } = await ports.store.uploadArtifact(artifact, file);
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
    await ports.store.writeManifest(withRelease(manifest, release));
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
  } finally {
    await rm(work, { recursive: true, force: true });
    await opened.close();
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
