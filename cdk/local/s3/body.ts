// Request bodies are spooled to a temporary file before they reach s3rver: the proxy can then
// check the payload hash, the aws-chunked framing and the flexible checksum first, and s3rver
// never sees a half-received upload (it would store a truncated object if the client aborted).
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { type Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { crc32 } from 'node:zlib';
import { AwsChunkedDecoder } from './aws-chunked.js';
import { S3Error } from './s3-error.js';
import { EMPTY_SHA256, type HeaderValue, headerValue, type PayloadMode } from './verify.js';

/** S3's limit for a single PUT. */
export const MAX_SINGLE_PUT_BYTES = 5 * 1024 ** 3;

export interface SpooledBody {
  /** Undefined when the request had no body. */
  file?: string;
  size: number;
  discard(): Promise<void>;
}

export function hasBody(headers: Record<string, HeaderValue>): boolean {
  const length = headerValue(headers, 'content-length');
  return headerValue(headers, 'transfer-encoding') !== undefined || (length !== undefined && length !== '0');
}

/** Reads, decodes and checks the body; throws S3Error (and leaves no file) if it is not acceptable. */
export async function spoolBody(
  body: Readable,
  headers: Record<string, HeaderValue>,
  payload: PayloadMode,
  tmpDir: string,
): Promise<SpooledBody> {
  if (!hasBody(headers)) {
    if (payload.kind === 'streaming-unsigned-trailer') {
      throw new S3Error('IncompleteBody', 'An aws-chunked request must have a body.', 400);
    }
    if (payload.kind === 'sha256' && payload.hex !== EMPTY_SHA256)
      throw shaMismatch(payload.hex, EMPTY_SHA256);
    return { size: 0, discard: async () => {} };
  }
  const file = join(tmpDir, randomBytes(12).toString('hex'));
  const discard = () => rm(file, { force: true });
  const sha256 = createHash('sha256');
  const checksum = checksumFor(headers);
  let size = 0;
  const tap = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      size += chunk.length;
      if (size > MAX_SINGLE_PUT_BYTES) {
        callback(new S3Error('EntityTooLarge', 'Your proposed upload exceeds the maximum allowed size', 400));
        return;
      }
      sha256.update(chunk);
      checksum?.update(chunk);
      callback(null, chunk);
    },
  });
  const decoder = payload.kind === 'streaming-unsigned-trailer' ? new AwsChunkedDecoder() : undefined;
  try {
    if (decoder) await pipeline(body, decoder, tap, createWriteStream(file));
    else await pipeline(body, tap, createWriteStream(file));

    if (payload.kind === 'sha256') {
      const actual = sha256.digest('hex');
      if (actual !== payload.hex) throw shaMismatch(payload.hex, actual);
    }
    if (decoder) {
      const declared = headerValue(headers, 'x-amz-decoded-content-length');
      if (declared !== undefined && Number(declared) !== decoder.decodedLength) {
        throw new S3Error(
          'IncompleteBody',
          'You did not provide the number of bytes specified by the x-amz-decoded-content-length header.',
          400,
        );
      }
    }
    if (checksum) {
      const expected = checksum.fromTrailer
        ? decoder?.trailers.get(checksum.header)
        : headerValue(headers, checksum.header);
      if (expected === undefined) {
        throw new S3Error(
          'InvalidRequest',
          `The checksum ${checksum.header} was announced but not sent.`,
          400,
        );
      }
      if (expected !== checksum.digest()) {
        throw new S3Error(
          'BadDigest',
          `The ${checksum.algorithm.toUpperCase()} you specified did not match the calculated checksum.`,
          400,
        );
      }
    }
    return { file, size, discard };
  } catch (error) {
    await discard();
    if (error instanceof S3Error) throw error;
    // The client went away or the connection broke mid-upload.
    throw new S3Error('IncompleteBody', 'The request body terminated unexpectedly.', 400);
  }
}

const shaMismatch = (client: string, computed: string) =>
  new S3Error(
    'XAmzContentSHA256Mismatch',
    "The provided 'x-amz-content-sha256' header does not match what was computed.",
    400,
    {
      ClientComputedContentSHA256: client,
      S3ComputedContentSHA256: computed,
    },
  );

interface Checksum {
  algorithm: string;
  header: string;
  fromTrailer: boolean;
  update(chunk: Buffer): void;
  digest(): string;
}

/**
 * The flexible checksum the client sent (as a header or announced in x-amz-trailer), if the
 * proxy can compute it. CRC32C and CRC64NVME have no implementation in node and pass unchecked.
 */
function checksumFor(headers: Record<string, HeaderValue>): Checksum | undefined {
  const trailer = headerValue(headers, 'x-amz-trailer')?.trim().toLowerCase();
  const header =
    trailer ??
    Object.keys(headers).find(
      (name) => name.toLowerCase().startsWith('x-amz-checksum-') && name !== 'x-amz-checksum-type',
    );
  if (!header?.startsWith('x-amz-checksum-')) return undefined;
  const algorithm = header.slice('x-amz-checksum-'.length);
  const fromTrailer = trailer !== undefined;
  if (algorithm === 'crc32') {
    let value = 0;
    return {
      algorithm,
      header,
      fromTrailer,
      update: (chunk) => {
        value = crc32(chunk, value);
      },
      digest: () => {
        const out = Buffer.alloc(4);
        out.writeUInt32BE(value >>> 0);
        return out.toString('base64');
      },
    };
  }
  if (algorithm === 'sha1' || algorithm === 'sha256') {
    const hash = createHash(algorithm);
    return {
      algorithm,
      header,
      fromTrailer,
      update: (chunk) => hash.update(chunk),
      digest: () => hash.digest('base64'),
    };
  }
  return undefined;
}
