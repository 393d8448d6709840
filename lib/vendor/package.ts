// Release packages on disk: read a release (directory, .tar.gz or .zip) into a file list, and
// build the full package with node-tar + gzip (deltas: delta.ts). What a package may contain is
// decided by ONE rule, packageEntryProblem: `vendor publish` refuses what the agent would refuse
// (a link, a path leaving the package, the agent's own install manifest), and the agent applies
// the same rule to every full package and every delta's file and `deleted` list.
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { lstat, mkdir, mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative, sep } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import * as tar from 'tar';
import { BadRequest } from '../errors.js';
import type { ReleaseFile } from './manifest.js';

export interface Built {
  size: number;
  sha256: string;
}

export const GZIP_LEVEL = 9;

/** A POSIX relative path that stays inside its root: no "", ".", "..", absolute or NUL parts. */
export function isSafeRelativePath(path: string): boolean {
  if (path === '' || path.startsWith('/') || path.includes('\0') || path.includes('\\')) return false;
  return path.split('/').every((part) => part !== '' && part !== '.' && part !== '..');
}

/** The manifest the agent writes into every installed software folder: never part of a package. */
export const INSTALL_MANIFEST = '.upman.json';
const MAX_PATH_BYTES = 4096;
const MAX_NAME_BYTES = 255;

export type PackageEntryType = 'file' | 'directory' | 'other';

/**
 * Why a package may not hold this entry, or undefined when it may. The one rule for publishing
 * and installing: regular files and directories only, relative paths that stay inside the
 * package, no control characters, names a file system takes, and nothing named like the
 * agent's install manifest (it would overwrite or fake the record of what is installed).
 */
export function packageEntryProblem(path: string, type: PackageEntryType = 'file'): string | undefined {
  if (type === 'other')
    return 'is a link or a special file (a package holds regular files and directories only)';
  if (!isSafeRelativePath(path))
    return 'leaves the package (an absolute path, or an empty, "." or ".." part)';
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it refuses
  if (/[\x00-\x1f\x7f]/.test(path)) return 'contains control characters';
  if (
    Buffer.byteLength(path) > MAX_PATH_BYTES ||
    path.split('/').some((part) => Buffer.byteLength(part) > MAX_NAME_BYTES)
  )
    return `is longer than a file system takes (${MAX_NAME_BYTES} bytes a name, ${MAX_PATH_BYTES} a path)`;
  if (path.split('/').includes(INSTALL_MANIFEST))
    return `is named ${INSTALL_MANIFEST}, the agent's install manifest`;
  return undefined;
}

export const isPackagePath = (path: string) => packageEntryProblem(path) === undefined;

/**
 * The first part of `relative` under `base` that is a link, if any (parts that do not exist yet
 * end the walk): whoever writes, renames or deletes there must refuse rather than follow it.
 */
export async function firstLinkOn(base: string, relative: string): Promise<string | undefined> {
  let path = base;
  for (const part of relative.split('/')) {
    path = join(path, part);
    let isLink: boolean;
    try {
      isLink = (await lstat(path)).isSymbolicLink();
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
    if (isLink) return path;
  }
  return undefined;
}

/** Refuses (400, field `package`) an entry the rule does not allow, naming where it came from. */
export function assertPackageEntry(where: string, path: string, type: PackageEntryType = 'file'): void {
  const problem = packageEntryProblem(path, type);
  if (problem) throw new BadRequest(`${where}: entry ${path} ${problem}`, 'package');
}

export async function sha256OfFile(file: string): Promise<Built> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of createReadStream(file) as AsyncIterable<Buffer>) {
    hash.update(chunk);
    size += chunk.length;
  }
  return { size, sha256: hash.digest('hex') };
}

/** Every regular file under `root`, sorted by path, with size, SHA-256 and mode. */
export async function scanTree(root: string): Promise<ReleaseFile[]> {
  const files: ReleaseFile[] = [];
  const walk = async (dir: string): Promise<void> => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const full = join(dir, entry.name);
      const path = relative(root, full).split(sep).join('/');
      if (entry.isDirectory()) await walk(full);
      else if (entry.isFile()) {
        const st = await lstat(full);
        files.push({ path, ...(await sha256OfFile(full)), mode: st.mode & 0o777 });
      } else {
        throw new BadRequest(
          `${path} is not a regular file or directory (links are not allowed in a release)`,
          'package',
        );
      }
    }
  };
  await walk(root);
  return files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

export interface OpenedRelease {
  /** Directory holding the release's files. */
  dir: string;
  files: ReleaseFile[];
  /** Removes what opening created (never the caller's own directory). */
  close(): Promise<void>;
}

/** Opens a release given as a directory, a .tar.gz/.tgz or a .zip; refuses empty or unreadable ones. */
export async function openRelease(input: string): Promise<OpenedRelease> {
  let st: Awaited<ReturnType<typeof stat>>;
  try {
    st = await stat(input);
  } catch {
    throw new BadRequest(`${input} does not exist`, 'package');
  }
  let dir = input;
  let temp: string | undefined;
  if (!st.isDirectory()) {
    temp = await mkdtemp(join(tmpdir(), 'upman-release-'));
    dir = temp;
    try {
      if (/\.(tar\.gz|tgz)$/i.test(input)) await extractTarGz(input, dir);
      else if (/\.zip$/i.test(input)) await extractZip(input, dir);
      else throw new BadRequest(`${input}: give a directory, a .tar.gz (.tgz) or a .zip`, 'package');
    } catch (error) {
      await rm(temp, { recursive: true, force: true });
      throw error;
    }
  }
  const close = async () => {
    if (temp) await rm(temp, { recursive: true, force: true });
  };
  try {
    const files = await scanTree(dir);
    if (files.length === 0) throw new BadRequest(`${input} contains no files: nothing to publish`, 'package');
    for (const f of files) assertPackageEntry(input, f.path);
    return { dir, files, close };
  } catch (error) {
    await close();
    throw error;
  }
}

/** Extracts a .tar.gz strictly: any damage, link or path outside the target is an error. */
export async function extractTarGz(
  archive: string,
  dir: string,
  only?: (path: string) => boolean,
): Promise<void> {
  let refused: { path: string; problem: string } | undefined;
  try {
    await tar.x({
      file: archive,
      cwd: dir,
      strict: true,
      preservePaths: false,
      // Replace files instead of writing into them: the new mode applies, and a hard link to
      // something outside is cut rather than written through.
      unlink: true,
      // Owners and times from the archive are not applied: the installing user owns the files.
      preserveOwner: false,
      filter: (path, entry) => {
        const type = 'type' in entry ? entry.type : undefined;
        const clean = path.replace(/^(\.\/)+/, '').replace(/\/$/, '');
        // The archive's root directory itself ("./"): nothing to create.
        if ((clean === '' || clean === '.') && type === 'Directory') return false;
        const kind =
          type === 'File' || type === 'OldFile' ? 'file' : type === 'Directory' ? 'directory' : 'other';
        const problem = packageEntryProblem(clean, kind);
        if (problem) {
          refused ??= { path, problem };
          return false;
        }
        return only ? only(clean) : true;
      },
    });
  } catch (error) {
    throw new BadRequest(
      `${archive} is not a readable .tar.gz archive: ${(error as Error).message}`,
      'package',
    );
  }
  if (refused !== undefined) {
    throw new BadRequest(`${archive}: entry ${refused.path} ${refused.problem}`, 'package');
  }
}

interface ZipEntry {
  fileName: string;
  externalFileAttributes: number;
}
interface ZipFile {
  readEntry(): void;
  openReadStream(entry: ZipEntry, cb: (err: Error | null, stream: NodeJS.ReadableStream) => void): void;
  on(event: 'entry', cb: (entry: ZipEntry) => void): void;
  on(event: 'end', cb: () => void): void;
  on(event: 'error', cb: (err: Error) => void): void;
  close(): void;
}

async function extractZip(archive: string, dir: string): Promise<void> {
  // yauzl validates entry names (no absolute paths, no "..") and checks CRCs as it reads.
  const yauzl = (await import('yauzl')) as unknown as {
    open(path: string, options: object, cb: (err: Error | null, zip: ZipFile) => void): void;
  };
  const zip = await new Promise<ZipFile>((resolve, reject) =>
    yauzl.open(archive, { lazyEntries: true, strictFileNames: true }, (err, z) =>
      err ? reject(err) : resolve(z),
    ),
  ).catch((error: Error) => {
    throw new BadRequest(`${archive} is not a readable .zip archive: ${error.message}`, 'package');
  });
  await new Promise<void>((resolve, reject) => {
    const fail = (error: Error) => {
      zip.close();
      reject(
        error instanceof BadRequest
          ? error
          : new BadRequest(`${archive} is not a readable .zip archive: ${error.message}`, 'package'),
      );
    };
    zip.on('error', fail);
    zip.on('end', resolve);
    zip.on('entry', (entry) => {
      const unixMode = (entry.externalFileAttributes >>> 16) & 0o177777;
      const type = unixMode & 0o170000;
      const path = entry.fileName.replace(/\/$/, '');
      const kind =
        entry.fileName.endsWith('/') || type === 0o040000
          ? 'directory'
          : type === 0 || type === 0o100000
            ? 'file'
            : 'other';
      const problem = packageEntryProblem(path, kind);
      if (problem) return fail(new BadRequest(`${archive}: entry ${entry.fileName} ${problem}`, 'package'));
      const target = join(dir, ...path.split('/'));
      if (entry.fileName.endsWith('/') || type === 0o040000) {
        mkdir(target, { recursive: true }).then(() => zip.readEntry(), fail);
        return;
      }
      zip.openReadStream(entry, (err, stream) => {
        if (err) return fail(err);
        mkdir(dirname(target), { recursive: true })
          .then(() => pipeline(stream, createWriteStream(target, { mode: unixMode & 0o777 || 0o644 })))
          .then(() => zip.readEntry(), fail);
      });
    });
    zip.readEntry();
  });
}

/** Streams `source` to `file`, hashing what is written. */
async function writeHashed(source: NodeJS.ReadableStream, file: string): Promise<Built> {
  const hash = createHash('sha256');
  let size = 0;
  const tap = new Transform({
    transform(chunk: Buffer, _enc, done) {
      hash.update(chunk);
      size += chunk.length;
      done(null, chunk);
    },
  });
  await pipeline(source, tap, createWriteStream(file));
  return { size, sha256: hash.digest('hex') };
}

function pack(cwd: string, paths: string[]): NodeJS.ReadableStream {
  return tar.c(
    { cwd, gzip: { level: GZIP_LEVEL }, portable: true, strict: true },
    paths,
  ) as unknown as NodeJS.ReadableStream;
}

/** The full package: every file of the release. */
export async function buildFull(dir: string, files: ReleaseFile[], out: string): Promise<Built> {
  return writeHashed(
    pack(
      dir,
      files.map((f) => f.path),
    ),
    out,
  );
}

/** What changed between two file lists: changed-or-added paths of `next`, and paths only in `previous`. */
export function diffFiles(
  previous: ReleaseFile[],
  next: ReleaseFile[],
): { changed: string[]; deleted: string[] } {
  const before = new Map(previous.map((f) => [f.path, f]));
  const after = new Set(next.map((f) => f.path));
  const changed = next
    .filter((f) => {
      const old = before.get(f.path);
      return !old || old.sha256 !== f.sha256 || old.mode !== f.mode;
    })
    .map((f) => f.path);
  const deleted = previous.filter((f) => !after.has(f.path)).map((f) => f.path);
  return { changed, deleted };
}
