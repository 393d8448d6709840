// Release packages on disk: read a release (directory, .tar.gz or .zip) into a file list, and
// build the full package with node-tar + gzip (deltas: delta.ts).
// Only regular files and directories are accepted: a link in a release could point outside
// the install directory on the client.
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
  let refused: string | undefined;
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
        if ((type !== 'File' && type !== 'Directory' && type !== 'OldFile') || !isSafeRelativePath(clean)) {
          refused ??= path;
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
    throw new BadRequest(`${archive}: entry ${refused} is a link or leaves the package directory`, 'package');
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
      if (!isSafeRelativePath(path) || (type !== 0 && type !== 0o100000 && type !== 0o040000)) {
        return fail(
          new BadRequest(
            `${archive}: entry ${entry.fileName} is a link or leaves the package directory`,
            'package',
          ),
        );
      }
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
