// The client's side of a download (【0015】【0028】): unpack a full package, or apply a delta
// (write its files, delete what its index lists), then check the result against the release's
// file list. The agent uses these; so do the tests.
import { mkdtemp, readFile, rm, rmdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { BadRequest } from '../errors.js';
import { DELTA_INDEX } from './layout.js';
import type { ReleaseFile } from './manifest.js';
import { type DeltaIndex, extractTarGz, isSafeRelativePath, scanTree } from './package.js';

/** Unpacks a full package into `dir` (which should be empty or hold the old version). */
export async function unpackFull(archive: string, dir: string): Promise<void> {
  await extractTarGz(archive, dir);
}

export async function readDeltaIndex(archive: string): Promise<DeltaIndex> {
  const stage = await mkdtemp(join(tmpdir(), 'upman-index-'));
  try {
    await extractTarGz(archive, stage, (path) => path === DELTA_INDEX);
    const index = JSON.parse(
      await readFile(join(stage, DELTA_INDEX), 'utf8').catch(() => 'null'),
    ) as DeltaIndex | null;
    if (index?.schema !== 1 || !Array.isArray(index.files) || !Array.isArray(index.deleted)) {
      throw new BadRequest(`${archive} is not an upman delta (no valid ${DELTA_INDEX})`, 'archive');
    }
    for (const path of [...index.files, ...index.deleted]) {
      if (!isSafeRelativePath(path) || path === DELTA_INDEX) {
        throw new BadRequest(
          `${archive}: ${DELTA_INDEX} names an unsafe path ${JSON.stringify(path)}`,
          'archive',
        );
      }
    }
    return index;
  } finally {
    await rm(stage, { recursive: true, force: true });
  }
}

/**
 * Applies a delta to the installed release in `dir`: the changed files overwrite the old
 * ones, deleted paths are removed (and directories they leave empty). Returns the index.
 */
export async function applyDelta(archive: string, dir: string): Promise<DeltaIndex> {
  const index = await readDeltaIndex(archive);
  const listed = new Set(index.files);
  await extractTarGz(archive, dir, (path) => listed.has(path));
  for (const path of index.deleted) {
    await rm(join(dir, ...path.split('/')), { force: true });
    // Remove directories the deletion left empty, up to (not including) the root.
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
  return index;
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
