// `upman vendor publish`: upload the full package, a delta from every earlier revision, then
// the manifest, then the catalog's latest version. Artifacts go first and the manifest last,
// so a reader never sees a listed artifact that is missing; if anything fails before the
// manifest is written, every uploaded object is deleted again (by version id: the bucket is
// versioned, and a delete marker alone would leave the bytes behind).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseVersion } from '../registry/version.js';
import { revisionNumberOf, softwareOf } from './layout.js';
import {
  type Artifact,
  artifactEntry,
  assertPublishable,
  emptyManifest,
  type Manifest,
  type Release,
  withRelease,
} from './manifest.js';
import { buildDelta, buildFull, openRelease } from './package.js';

export interface ReleaseStore {
  readManifest(software: string): Promise<Manifest | undefined>;
  /** Uploads a built artifact; returns the stored object's version id, if the bucket versions. */
  uploadArtifact(artifact: Artifact, file: string): Promise<{ versionId?: string }>;
  writeManifest(manifest: Manifest): Promise<void>;
  deleteArtifact(key: string, versionId?: string): Promise<void>;
}

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
  ports: { store: ReleaseStore; catalog?: CatalogUpdater },
  input: PublishInput,
): Promise<PublishResult> {
  const software = softwareOf(input.software);
  const version = parseVersion(input.version, 'version');
  const revision = revisionNumberOf(input.revision);
  const say = input.onProgress ?? (() => {});

  const manifest = (await ports.store.readManifest(software)) ?? emptyManifest(software);
  assertPublishable(manifest, version, revision);
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

    for (const earlier of manifest.releases) {
      const file = join(work, `delta-from-${earlier.revision}.tar.gz`);
      const built = await buildDelta(
        opened.dir,
        { software, from: earlier.revision, to: revision },
        earlier.files,
        opened.files,
        file,
      );
      // A delta no smaller than the full package is of no use to anyone: clients get the full one.
      if (built.size >= full.size) {
        say(`no delta from revision ${earlier.revision}: it would not be smaller than the full package`);
        continue;
      }
      await upload(artifactEntry(software, revision, earlier.revision, built), file);
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
