// Fetching an artifact from its presigned URL (S601–S603, S606): resumable with HTTP Range,
// checked against the size and SHA-256 the key announced. The partial file is named after the
// expected SHA-256, so a resume only ever continues the same artifact, even with a fresh key.
// Keys live at most 15 minutes, so that a revoked grant stops downloading within that: with a
// `renew` callback the download goes in ranges, each started with a key valid at that moment,
// asking for a fresh one shortly before the key expires or once after S3 refused it (the key's
// signing session may end before its stated expiry). After a revocation, renewals are refused.
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { sha256OfFile } from '../lib/vendor/package.js';
import { AgentError, KeyExpired } from './errors.js';

export interface DownloadInput {
  url: string;
  size: number;
  sha256: string;
  /** Where partial and finished downloads are kept. */
  dir: string;
  /** For the S606 message: the request whose key this is. */
  requestId?: string;
  onProgress?: (received: number, total: number) => void;
  /** Called once before the transfer with the byte offset it resumes from (0 = fresh). */
  onStart?: (offset: number, total: number) => void;
  fetchFn?: typeof fetch;
  /** When the key stops working, as its answer stated (ISO date-time). */
  expiresAt?: string;
  /** A fresh key for the same artifact (the grant's fresh-key route); it throws once revoked. */
  renew?: () => Promise<{ url: string; expiresAt?: string }>;
  /** Bytes per ranged GET when renewing (default 16 MiB): each range starts with a live key. */
  rangeBytes?: number;
  /** Renew when the key has less than this left (default 30 s: clock skew, the request's start). */
  renewMarginMs?: number;
  now?: () => number;
}

export interface Downloaded {
  file: string;
  /** Bytes that were already on disk from an earlier, interrupted attempt. */
  resumedFrom: number;
}

const SHA256 = /^[0-9a-f]{64}$/;
const RANGE_BYTES = 16 * 1024 * 1024;
const RENEW_MARGIN_MS = 30_000;

export async function downloadArtifact(input: DownloadInput): Promise<Downloaded> {
  if (!SHA256.test(input.sha256))
    throw new AgentError('download-failed', `The key's sha256 is malformed: ${input.sha256}`);
  const fetchFn = input.fetchFn ?? fetch;
  await mkdir(input.dir, { recursive: true });
  const part = join(input.dir, `${input.sha256}.part`);
  const done = join(input.dir, `${input.sha256}.tar.gz`);

  // Already fetched and verified by an earlier run (e.g. the install failed afterwards).
  if ((await sizeOf(done)) === input.size && (await sha256OfFile(done)).sha256 === input.sha256) {
    return { file: done, resumedFrom: input.size };
  }
  let offset = (await sizeOf(part)) ?? 0;
  if (offset > input.size) {
    await rm(part, { force: true });
    offset = 0;
  }
  const resumedFrom = offset;
  if (offset < input.size) {
    await transfer(input, fetchFn, part, offset);
  }
  const got = (await sizeOf(part)) ?? 0;
  if (got !== input.size) {
    if (got > input.size) await rm(part, { force: true });
    throw new AgentError(
      'download-failed',
      `The download ended at ${got} of ${input.size} bytes; run the command again to ${got < input.size ? 'resume' : 'restart'} it`,
    );
  }
  const actual = (await sha256OfFile(part)).sha256;
  if (actual !== input.sha256) {
    // A corrupt file must not be resumed from: start clean next time.
    await rm(part, { force: true });
    throw new AgentError(
      'checksum-mismatch',
      `Checksum mismatch: the download's SHA-256 is ${actual}, the key promised ${input.sha256}. ` +
        'Nothing was installed and the damaged file was removed; run the command again to download it afresh.',
      { expected: input.sha256, actual },
    );
  }
  await rename(part, done);
  return { file: done, resumedFrom };
}

interface Key {
  url: string;
  expiresAt?: string | undefined;
}

/** GET of the artifact from `offset` (to `end` inclusive, when ranged). */
async function get(fetchFn: typeof fetch, key: Key, offset: number, end: number | undefined) {
  const range = end !== undefined ? `bytes=${offset}-${end}` : offset > 0 ? `bytes=${offset}-` : undefined;
  try {
    return await fetchFn(key.url, range ? { headers: { range } } : {});
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).message;
    throw new AgentError(
      'download-failed',
      `Cannot reach the download site (${cause}); run the command again to retry`,
    );
  }
}

async function transfer(
  input: DownloadInput,
  fetchFn: typeof fetch,
  part: string,
  startAt: number,
): Promise<void> {
  const now = input.now ?? Date.now;
  const margin = input.renewMarginMs ?? RENEW_MARGIN_MS;
  const ranged = input.renew ? (input.rangeBytes ?? RANGE_BYTES) : undefined;
  let key: Key = { url: input.url, expiresAt: input.expiresAt };
  const expiring = () => key.expiresAt !== undefined && Date.parse(key.expiresAt) - now() < margin;
  let offset = startAt;
  let restarted = false;
  let started = false;
  while (offset < input.size) {
    if (input.renew && expiring()) key = await input.renew();
    const end = ranged ? Math.min(input.size, offset + ranged) - 1 : undefined;
    let res = await get(fetchFn, key, offset, end);
    if ((res.status === 403 || res.status === 400) && input.renew) {
      // The key died before its stated expiry (its signing session ended): one fresh key.
      await res.body?.cancel();
      key = await input.renew();
      res = await get(fetchFn, key, offset, end);
    }
    if (res.status === 403 || res.status === 400) {
      const { code, message } = s3Error(await res.text());
      throw new KeyExpired(`${code ?? res.status}${message ? `: ${message}` : ''}`, input.requestId);
    }
    if (res.status === 416 && offset > 0 && !restarted) {
      // The server says there is nothing past our offset: the part is bad. Start over once.
      await res.body?.cancel();
      await rm(part, { force: true });
      offset = 0;
      restarted = true;
      continue;
    }
    let append = false;
    if (res.status === 206) {
      const range = /^bytes (\d+)-\d+\/(\d+|\*)$/.exec(res.headers.get('content-range') ?? '');
      if (!range || Number(range[1]) !== offset) {
        await res.body?.cancel();
        throw new AgentError(
          'download-failed',
          `The download site answered a range we did not ask for (${res.headers.get('content-range')})`,
        );
      }
      append = offset > 0;
    } else if (res.status !== 200) {
      const { code, message } = s3Error(await res.text());
      throw new AgentError(
        'download-failed',
        `The download site answered ${res.status}${code ? ` ${code}` : ''}${message ? `: ${message}` : ''}`,
      );
    }
    if (!res.body) throw new AgentError('download-failed', 'The download site sent no body');
    if (!started) input.onStart?.(append ? offset : 0, input.size);
    started = true;
    // A 200 is the whole artifact from its first byte, whatever was asked.
    let received = append || res.status === 206 ? offset : 0;
    const count = new Transform({
      transform(chunk: Buffer, _enc, next) {
        received += chunk.length;
        // Never write past the announced size: a longer body is not the artifact.
        if (received > input.size) return next(new Error(`more than the announced ${input.size} bytes`));
        input.onProgress?.(received, input.size);
        next(null, chunk);
      },
    });
    try {
      await pipeline(
        Readable.fromWeb(res.body as import('node:stream/web').ReadableStream),
        count,
        createWriteStream(part, { flags: append ? 'a' : 'w' }),
      );
    } catch (error) {
      throw new AgentError(
        'download-failed',
        `The download was interrupted at ${received} of ${input.size} bytes (${(error as Error).message}); ` +
          'run the command again to resume it',
        { received },
      );
    }
    if (received <= offset && res.status === 206) {
      throw new AgentError(
        'download-failed',
        `The download site sent no bytes at ${offset}; run the command again`,
      );
    }
    offset = received;
    // Without ranges one response carries the rest: whatever it held, the caller checks the size.
    if (!ranged) break;
  }
}

/** Code and Message of an S3 XML error body (e.g. AccessDenied / Request has expired). */
export function s3Error(body: string): { code?: string; message?: string } {
  const pick = (tag: string) => new RegExp(`<${tag}>([^<]*)</${tag}>`).exec(body)?.[1];
  const code = pick('Code');
  const message = pick('Message');
  return { ...(code ? { code } : {}), ...(message ? { message } : {}) };
}

async function sizeOf(file: string): Promise<number | undefined> {
  try {
    return (await stat(file)).size;
  } catch {
    return undefined;
  }
}
