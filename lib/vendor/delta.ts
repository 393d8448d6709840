// Binary deltas (claim 7: send only what changed). One delta brings revision `from` to `to`:
//
//   "UPMD" | format byte (1) | u32 BE length of the header | zstd(header JSON) | zstd(content)
//
// The content is the new bytes of every changed or added file, concatenated in header order,
// compressed with Node's built-in zstd (level 19, long-distance matching, a window covering the
// dictionary) and with a dictionary the client already has: the OLD bytes of the changed files
// and of the removed ones (renamed files, e.g. hashed chunk names, find their old bytes there).
// Measured on real npm release pairs (bench/delta.ts) this is within a few per cent of
// `zstd --patch-from` over the whole tree, and smaller than per-file patching, which misses
// renames; using the whole old tree as the dictionary gains nothing and makes the client read
// it all. So a client reads only the old files that changed, writes and hashes only the new
// ones, and reads the delta once, front to back. Needs Node ≥ 22.19 (earlier 22.x silently
// ignore the dictionary).
import { createHash } from 'node:crypto';
import {
  closeSync,
  createReadStream,
  createWriteStream,
  fchmodSync,
  mkdirSync,
  openSync,
  write,
} from 'node:fs';
import { open, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  constants,
  createZstdCompress,
  createZstdDecompress,
  zstdCompressSync,
  zstdDecompressSync,
} from 'node:zlib';
import { z } from 'zod';
import { BadRequest } from '../errors.js';
import type { ReleaseFile } from './manifest.js';
import { diffFiles, isPackagePath } from './package.js';

const MAGIC = Buffer.from('UPMD', 'ascii');
const FORMAT = 1;
const PREAMBLE = MAGIC.length + 1 + 4;
export const DELTA_LEVEL = 19;
const MIN_WINDOW_LOG = 20;
/** zstd's largest window on 64-bit builds: dictionary plus content must fit in it. */
const MAX_WINDOW_LOG = 31;
const MAX_HEADER_BYTES = 64 * 1024 * 1024;
const CHUNK = 1024 * 1024;
/** Decompressed bytes waiting to be written before the reader pauses. */
const MAX_BYTES_IN_FLIGHT = 32 * 1024 * 1024;

interface OpenFile {
  file: DeltaFile;
  fd: number;
  left: number;
  position: number;
  hash: ReturnType<typeof createHash>;
  writes: Promise<void>[];
}

/** Writes all of `data` at `position` (fs.write may write less than asked). */
async function writeAt(fd: number, data: Buffer, position: number): Promise<void> {
  let offset = 0;
  while (offset < data.length) {
    const written = await new Promise<number>((resolve, reject) =>
      write(fd, data, offset, data.length - offset, position + offset, (error, n) =>
        error ? reject(error) : resolve(n),
      ),
    );
    offset += written;
  }
}

const deltaFileSchema = z.object({
  // The package rule (package.ts), the same `vendor publish` applies: the agent refuses the rest.
  path: z.string().refine(isPackagePath, 'not allowed in a package'),
  size: z.number().int().nonnegative(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  mode: z.number().int().min(0).max(0o777),
  /** The client has an old version at this path: its bytes are part of the dictionary. */
  old: z.boolean(),
});

const headerSchema = z.object({
  schema: z.literal(1),
  software: z.string().min(1),
  from: z.number().int().positive(),
  to: z.number().int().positive(),
  windowLog: z.number().int().min(MIN_WINDOW_LOG).max(MAX_WINDOW_LOG),
  /** Changed or added files, in content order. */
  files: z.array(deltaFileSchema),
  /** Paths the client removes; their old bytes follow the changed files' in the dictionary. */
  deleted: z.array(z.string().refine(isPackagePath, 'not allowed in a package')),
});

export type DeltaHeader = z.infer<typeof headerSchema>;
export type DeltaFile = z.infer<typeof deltaFileSchema>;

export interface BuiltDelta {
  size: number;
  sha256: string;
  header: DeltaHeader;
}

/** A release on disk: its directory and file list. */
export interface ReleaseTree {
  dir: string;
  files: ReleaseFile[];
}

/** Node before 22.19 ignores a zstd dictionary without a word: refuse to run there. */
function assertZstdDictionaries(): void {
  const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
  if (major < 22 || (major === 22 && minor < 19)) {
    throw new Error(`binary deltas need Node 22.19 or later (this is ${process.versions.node})`);
  }
}

const fileIn = (dir: string, path: string) => join(dir, ...path.split('/'));

/** The dictionary: old bytes of the changed files that existed before, then of the deleted ones. */
export function dictionaryPaths(header: Pick<DeltaHeader, 'files' | 'deleted'>): string[] {
  return [...header.files.filter((f) => f.old).map((f) => f.path), ...header.deleted];
}

async function readDictionary(dir: string, paths: string[]): Promise<Buffer> {
  return Buffer.concat(await Promise.all(paths.map((p) => readFile(fileIn(dir, p)))));
}

function windowLogFor(bytes: number): number {
  const log = Math.max(MIN_WINDOW_LOG, Math.ceil(Math.log2(Math.max(bytes, 1))));
  if (log > MAX_WINDOW_LOG) {
    throw new BadRequest(
      `a delta of ${bytes} bytes (dictionary and content) is larger than zstd's window`,
      'package',
    );
  }
  return log;
}

function zstdOptions(windowLog: number, dictionary: Buffer) {
  return {
    params: {
      [constants.ZSTD_c_compressionLevel]: DELTA_LEVEL,
      [constants.ZSTD_c_enableLongDistanceMatching]: 1,
      [constants.ZSTD_c_windowLog]: windowLog,
      // No frame checksum: every file has its SHA-256, which also names the file that differs.
      [constants.ZSTD_c_checksumFlag]: 0,
    },
    ...(dictionary.length > 0 ? { dictionary } : {}),
  };
}

/** Builds the delta that turns `previous` into `next` and writes it to `out`. */
export async function buildDelta(
  previous: ReleaseTree,
  next: ReleaseTree,
  meta: { software: string; from: number; to: number },
  out: string,
): Promise<BuiltDelta> {
  assertZstdDictionaries();
  const { changed, deleted } = diffFiles(previous.files, next.files);
  const before = new Set(previous.files.map((f) => f.path));
  const byPath = new Map(next.files.map((f) => [f.path, f]));
  const files: DeltaFile[] = changed.map((path) => {
    const f = byPath.get(path)!;
    return { path, size: f.size, sha256: f.sha256, mode: f.mode, old: before.has(path) };
  });
  const dictionary = await readDictionary(previous.dir, dictionaryPaths({ files, deleted }));
  const contentBytes = files.reduce((sum, f) => sum + f.size, 0);
  const header: DeltaHeader = {
    schema: 1,
    ...meta,
    windowLog: windowLogFor(dictionary.length + contentBytes),
    files,
    deleted,
  };
  const packedHeader = zstdCompressSync(Buffer.from(JSON.stringify(header)), {
    params: { [constants.ZSTD_c_compressionLevel]: DELTA_LEVEL },
  });
  const preamble = Buffer.alloc(PREAMBLE);
  MAGIC.copy(preamble);
  preamble.writeUInt8(FORMAT, MAGIC.length);
  preamble.writeUInt32BE(packedHeader.length, MAGIC.length + 1);

  const hash = createHash('sha256');
  let size = 0;
  const tap = new PassThrough();
  tap.on('data', (chunk: Buffer) => {
    hash.update(chunk);
    size += chunk.length;
  });
  const sink = createWriteStream(out);
  const written = pipeline(tap, sink);
  tap.write(preamble);
  tap.write(packedHeader);
  const content = Readable.from(
    (async function* () {
      for (const f of files) yield* createReadStream(fileIn(next.dir, f.path));
    })(),
  );
  await pipeline(content, createZstdCompress(zstdOptions(header.windowLog, dictionary)), tap);
  await written;
  return { size, sha256: hash.digest('hex'), header };
}

/** A delta that cannot be applied: damaged, foreign, or not for the installed files. */
export class DeltaRefused extends BadRequest {
  constructor(message: string) {
    super(message, 'archive');
  }
}

/** Reads and checks a delta's header; `contentOffset` is where the compressed content starts. */
export async function readDeltaHeader(
  archive: string,
): Promise<{ header: DeltaHeader; contentOffset: number }> {
  const handle = await open(archive, 'r');
  try {
    const preamble = Buffer.alloc(PREAMBLE);
    const { bytesRead } = await handle.read(preamble, 0, PREAMBLE, 0);
    if (bytesRead < PREAMBLE || !preamble.subarray(0, MAGIC.length).equals(MAGIC)) {
      throw new DeltaRefused(`${archive} is not an upman delta`);
    }
    if (preamble.readUInt8(MAGIC.length) !== FORMAT) {
      throw new DeltaRefused(
        `${archive} is a delta of format ${preamble.readUInt8(MAGIC.length)}, not ${FORMAT}`,
      );
    }
    const length = preamble.readUInt32BE(MAGIC.length + 1);
    const packed = Buffer.alloc(length);
    const read = await handle.read(packed, 0, length, PREAMBLE);
    if (read.bytesRead !== length) throw new DeltaRefused(`${archive}: the delta's header is truncated`);
    let parsed: unknown;
    try {
      parsed = JSON.parse(zstdDecompressSync(packed, { maxOutputLength: MAX_HEADER_BYTES }).toString('utf8'));
    } catch (error) {
      throw new DeltaRefused(`${archive}: the delta's header is damaged (${(error as Error).message})`);
    }
    const checked = headerSchema.safeParse(parsed);
    if (!checked.success) {
      const issue = checked.error.issues[0];
      throw new DeltaRefused(
        `${archive}: the delta's header is invalid at ${issue?.path.join('.')}: ${issue?.message}`,
      );
    }
    const seen = new Set<string>();
    for (const path of [...checked.data.files.map((f) => f.path), ...checked.data.deleted]) {
      if (seen.has(path)) throw new DeltaRefused(`${archive}: the delta names ${path} twice`);
      seen.add(path);
    }
    return { header: checked.data, contentOffset: PREAMBLE + length };
  } finally {
    await handle.close();
  }
}

/**
 * Writes the new bytes of every file the delta carries into `stage`, reading the old bytes
 * (the dictionary) from `installed`. Each file is hashed as it is written and must match the
 * header's SHA-256; anything else (a damaged stream, missing or extra bytes) is refused.
 */
export async function writeDeltaFiles(
  archive: string,
  installed: string,
  stage: string,
  opened?: { header: DeltaHeader; contentOffset: number },
): Promise<DeltaHeader> {
  assertZstdDictionaries();
  const { header, contentOffset } = opened ?? (await readDeltaHeader(archive));
  let dictionary: Buffer;
  try {
    dictionary = await readDictionary(installed, dictionaryPaths(header));
  } catch (error) {
    throw new DeltaRefused(
      `the delta needs the installed revision ${header.from}'s files, and one is missing (${(error as Error).message})`,
    );
  }
  const decompress = createZstdDecompress({
    chunkSize: CHUNK,
    params: { [constants.ZSTD_d_windowLogMax]: header.windowLog },
    ...(dictionary.length > 0 ? { dictionary } : {}),
  });
  // The decompressor (libuv's thread pool) and the file writes (asynchronous, at explicit
  // offsets, another pool thread) overlap: on a large changed binary the two cost about the same,
  // so one waiting for the other doubled the time. Hashing stays on this thread, on the bytes
  // as they come out of the decompressor. Writes in flight are bounded so memory stays bounded.
  const queue = [...header.files];
  let current: OpenFile | undefined;
  const inFlight = new Set<Promise<void>>();
  let bytesInFlight = 0;
  const track = (promise: Promise<void>, bytes: number) => {
    bytesInFlight += bytes;
    const done = promise.finally(() => {
      bytesInFlight -= bytes;
      inFlight.delete(done);
    });
    // A failed write is reported where the writes are awaited, not as an unhandled rejection.
    done.catch(() => {});
    inFlight.add(done);
  };

  const openNext = (): void => {
    while (!current && queue.length > 0) {
      const file = queue.shift()!;
      const target = fileIn(stage, file.path);
      mkdirSync(dirname(target), { recursive: true });
      const fd = openSync(target, 'wx', file.mode);
      current = { file, fd, left: file.size, position: 0, hash: createHash('sha256'), writes: [] };
      if (file.size === 0) finish();
    }
  };
  const finish = (): void => {
    const done = current!;
    current = undefined;
    const sha256 = done.hash.digest('hex');
    // The descriptor closes once its own writes are through.
    track(
      Promise.all(done.writes).finally(() => {
        fchmodSync(done.fd, done.file.mode);
        closeSync(done.fd);
      }) as Promise<unknown> as Promise<void>,
      0,
    );
    if (sha256 !== done.file.sha256) {
      throw new DeltaRefused(
        `${done.file.path} does not match its SHA-256 after patching (expected ${done.file.sha256}, got ${sha256}): ` +
          `the delta is damaged or the installed revision ${header.from} was changed`,
      );
    }
  };
  try {
    openNext();
    const stream = createReadStream(archive, { start: contentOffset, highWaterMark: CHUNK }).pipe(decompress);
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      let rest = chunk;
      while (rest.length > 0) {
        if (!current) throw new DeltaRefused(`${archive}: the delta holds more bytes than its files`);
        const part = rest.subarray(0, current.left);
        rest = rest.subarray(part.length);
        current.hash.update(part);
        const write = writeAt(current.fd, part, current.position);
        current.writes.push(write);
        track(write, part.length);
        current.position += part.length;
        current.left -= part.length;
        if (current.left === 0) {
          finish();
          openNext();
        }
      }
      while (bytesInFlight > MAX_BYTES_IN_FLIGHT) await Promise.race(inFlight);
    }
    if (current || queue.length > 0) {
      throw new DeltaRefused(
        `${archive}: the delta ends before ${(current?.file ?? queue[0])!.path} is complete`,
      );
    }
    await Promise.all(inFlight);
  } catch (error) {
    await Promise.allSettled(inFlight);
    if (current) {
      await Promise.allSettled(current.writes);
      closeSync(current.fd);
    }
    if (error instanceof DeltaRefused) throw error;
    throw new DeltaRefused(
      `${archive} cannot be applied (${(error as Error).message}): the delta is damaged or the installed revision ${header.from} was changed`,
    );
  }
  return header;
}
