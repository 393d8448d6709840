// The client's side of a download (【0015】【0028】): unpack a full package, or apply a delta
// (patch the changed files, delete what its header lists), then check the result against the release's
// file list. The agent uses these; so do the tests.
import { mkdir, mkdtemp, rename, rm, rmdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { type DeltaHeader, DeltaRefused, readDeltaHeader, writeDeltaFiles } from './delta.js';
import type { ReleaseFile } from './manifest.js';
import { extractTarGz, firstLinkOn, scanTree } from './package.js';

/** Unpacks a full package into `dir` (which should be empty or hold the old version). */
export async function unpackFull(archive: string, dir: string): Promise<void> {
  await extractTarGz(archive, dir);
}

/**
 * Applies a delta to the installed release in `dir` in place: the new files are written and
 * verified in a staging folder next to it first, then moved over the old ones, and deleted
 * paths are removed (with directories they leave empty). The agent installs through its own
 * atomic swap instead (agent/install.ts); this is for tools and tests.
 */
export async function applyDelta(archive: string, dir: string): Promise<DeltaHeader> {
  const opened = await readDeltaHeader(archive);
  // Before any change: no path it writes, reads or deletes passes through a link.
  for (const path of [...opened.header.files.map((f) => f.path), ...opened.header.deleted]) {
    const link = await firstLinkOn(dir, path);
    if (link) throw new DeltaRefused(`${path} passes through the link ${link}: a delta never follows links`);
  }
  const stage = await mkdtemp(join(dirname(dir), '.upman-delta-'));
  try {
    const header = await writeDeltaFiles(archive, dir, stage, opened);
    for (const file of header.files) {
      const target = join(dir, ...file.path.split('/'));
      await mkdir(dirname(target), { recursive: true });
      await rename(join(stage, ...file.path.split('/')), target);
    }
    await removePaths(dir, header.deleted);
    return header;
  } finally {
    await rm(stage, { recursive: true, force: true });
  }
}

/** Removes files, then the directories their removal left empty, up to (not including) `dir`. */
export async function removePaths(dir: string, paths: string[]): Promise<void> {
  for (const path of paths) {
    await rm(join(dir, ...path.split('/')), { force: true });
    let parent = dirname(path);
    while (parent !== '.' && parent !== '') {
      try {
        await rmdir(join(dir, ...parent.split('/')));
      } catch {
        break;
      }
      parent = dirname(parent);
    }
  }
}

export interface TreeMismatch {
  path: string;
  problem: 'missing' | 'unexpected' | 'content' | 'mode';
}

/** Compares an installed tree with a release's file list, file by file. */
export async function verifyTree(dir: string, expected: ReleaseFile[]): Promise<TreeMismatch[]> {
  const actual = new Map((await scanTree(dir)).map((f) => [f.path, f]));
  const problems: TreeMismatch[] = [];
  for (const file of expected) {
    const got = actual.get(file.path);
    actual.delete(file.path);
    if (!got) problems.push({ path: file.path, problem: 'missing' });
    else if (got.sha256 !== file.sha256 || got.size !== file.size)
      problems.push({ path: file.path, problem: 'content' });
    else if ((got.mode & 0o100) !== (file.mode & 0o100)) problems.push({ path: file.path, problem: 'mode' });
  }
  for (const path of actual.keys()) problems.push({ path, problem: 'unexpected' });
  return problems;
}
