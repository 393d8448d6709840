// The release manifest (<software>/manifest.json): every published revision with its file list
// (path, size, SHA-256: deltas are computed from it, and announcements filter by module path)
// and every artifact with its key, kind, size and SHA-256. Written last by a publish, so it
// only ever lists artifacts that are fully uploaded.
import { BadRequest, Conflict } from '../errors.js';
import { compareVersions, isVersion } from '../registry/version.js';
import { deltaKey, fullKey, manifestKey } from './layout.js';

export const MANIFEST_SCHEMA = 1;

export interface ReleaseFile {
  /** POSIX path inside the package, no leading "/" and no "..". */
  path: string;
  size: number;
  sha256: string;
  /** Unix permission bits (0o755 for executables). */
  mode: number;
}

export interface Artifact {
  key: string;
  kind: 'full' | 'delta';
  /** The revision a delta applies to; null for a full package. */
  from: number | null;
  to: number;
  size: number;
  sha256: string;
}

export interface Release {
  version: string;
  revision: number;
  publishedAt: string;
  files: ReleaseFile[];
  artifacts: Artifact[];
}

export interface Manifest {
  schema: typeof MANIFEST_SCHEMA;
  software: string;
  /** Oldest first. */
  releases: Release[];
}

export const emptyManifest = (software: string): Manifest => ({
  schema: MANIFEST_SCHEMA,
  software,
  releases: [],
});

const SHA256 = /^[0-9a-f]{64}$/;

/** Parses a stored manifest; a malformed one is an error naming the field (never silently replaced). */
export function parseManifest(text: string, software: string): Manifest {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new BadRequest(`${manifestKey(software)} is not valid JSON`, 'manifest');
  }
  const fail = (field: string): never => {
    throw new BadRequest(`${manifestKey(software)}: ${field} is malformed`, `manifest.${field}`);
  };
  const m = raw as Partial<Manifest>;
  if (typeof m !== 'object' || m === null || m.schema !== MANIFEST_SCHEMA) fail('schema');
  if (m.software !== software) fail('software');
  if (!Array.isArray(m.releases)) fail('releases');
  m.releases!.forEach((r, i) => {
    if (!isVersion(r?.version)) fail(`releases[${i}].version`);
    if (!Number.isSafeInteger(r.revision) || r.revision < 1) fail(`releases[${i}].revision`);
    if (!Array.isArray(r.files)) fail(`releases[${i}].files`);
    if (!Array.isArray(r.artifacts)) fail(`releases[${i}].artifacts`);
    r.artifacts.forEach((a, j) => {
      if (typeof a?.key !== 'string' || !SHA256.test(a.sha256) || !Number.isSafeInteger(a.size)) {
        fail(`releases[${i}].artifacts[${j}]`);
      }
    });
  });
  return m as Manifest;
}

export function findRelease(manifest: Manifest, revision: number): Release | undefined {
  return manifest.releases.find((r) => r.revision === revision);
}

export function latestRelease(manifest: Manifest): Release | undefined {
  return manifest.releases.reduce<Release | undefined>(
    (best, r) => (best === undefined || r.revision > best.revision ? r : best),
    undefined,
  );
}

/** A release by version (the catalog names versions; the grant pins the revision). */
export function releaseOfVersion(manifest: Manifest, version: string): Release | undefined {
  return manifest.releases.find((r) => compareVersions(r.version, version) === 0);
}

/**
 * Checks that `version`/`revision` may be published after what the manifest holds: a version
 * is published once, and revisions only go up (deltas are built from earlier revisions).
 */
export function assertPublishable(manifest: Manifest, version: string, revision: number): void {
  const same = releaseOfVersion(manifest, version);
  if (same) {
    throw new PublishRefused(
      `${manifest.software} ${version} is already published (revision ${same.revision}); publish a new version instead`,
      'version',
    );
  }
  const latest = latestRelease(manifest);
  if (latest && revision <= latest.revision) {
    throw new PublishRefused(
      `revision ${revision} is not above the latest published revision ${latest.revision} (${latest.version})`,
      'revision',
    );
  }
  if (latest && compareVersions(version, latest.version) <= 0) {
    throw new PublishRefused(
      `version ${version} is not above the latest published version ${latest.version}`,
      'version',
    );
  }
}

/** A publish that would break the release history (409): nothing has been uploaded. */
export class PublishRefused extends Conflict {}

export function withRelease(manifest: Manifest, release: Release): Manifest {
  return {
    ...manifest,
    releases: [...manifest.releases, release].sort((a, b) => a.revision - b.revision),
  };
}

export interface ArtifactChoice {
  artifact: Artifact;
  release: Release;
}

/**
 * S603 / claim 7: the best artifact to bring a client at `currentRevision` to `targetRevision`:
 * the delta from exactly that revision when there is one and it is smaller than the full
 * package, otherwise the full package.
 */
export function chooseArtifact(
  manifest: Manifest,
  targetRevision: number,
  currentRevision: number | null | undefined,
): ArtifactChoice | undefined {
  const release = findRelease(manifest, targetRevision);
  const full = release?.artifacts.find((a) => a.kind === 'full');
  if (!release || !full) return undefined;
  const delta =
    currentRevision == null || currentRevision === targetRevision
      ? undefined
      : release.artifacts.find((a) => a.kind === 'delta' && a.from === currentRevision);
  return { release, artifact: delta && delta.size < full.size ? delta : full };
}

/** Artifact entries for a release as the publisher builds them. */
export function artifactEntry(
  software: string,
  to: number,
  from: number | null,
  built: { size: number; sha256: string },
): Artifact {
  return {
    key: from === null ? fullKey(software, to) : deltaKey(software, to, from),
    kind: from === null ? 'full' : 'delta',
    from,
    to,
    size: built.size,
    sha256: built.sha256,
  };
}
