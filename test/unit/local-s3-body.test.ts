// Upload bodies on their way to s3rver: aws-chunked decoding, payload hash and checksum checks.
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { crc32 } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AwsChunkedDecoder } from '../../cdk/local/s3/aws-chunked.js';
import { spoolBody } from '../../cdk/local/s3/body.js';
import type { S3Error } from '../../cdk/local/s3/s3-error.js';

const crc32Base64 = (data: Buffer) => {
  const out = Buffer.alloc(4);
  out.writeUInt32BE(crc32(data) >>> 0);
  return out.toString('base64');
};
const sha256Hex = (data: Buffer | string) => createHash('sha256').update(data).digest('hex');

/** Splits bytes into pieces at awkward places, as a network would. */
const pieces = (data: Buffer, size: number) =>
  Readable.from(
    Array.from({ length: Math.ceil(data.length / size) }, (_, i) => data.subarray(i * size, (i + 1) * size)),
  );

function chunked(parts: Buffer[], trailer: string): Buffer {
  const framed = parts.map((p) =>
    Buffer.concat([Buffer.from(`${p.length.toString(16)}\r\n`), p, Buffer.from('\r\n')]),
  );
  return Buffer.concat([...framed, Buffer.from(`0\r\n${trailer ? `${trailer}\r\n` : ''}\r\n`)]);
}

async function decode(input: Readable): Promise<{ data: Buffer; decoder: AwsChunkedDecoder }> {
  const decoder = new AwsChunkedDecoder();
  const out: Buffer[] = [];
  input.pipe(decoder);
  for await (const chunk of decoder) out.push(chunk as Buffer);
  return { data: Buffer.concat(out), decoder };
}

describe('AwsChunkedDecoder', () => {
  const parts = [Buffer.from('hello '), Buffer.alloc(5000, 'x'), Buffer.from('\r\nend')];
  const payload = Buffer.concat(parts);
  const body = chunked(parts, `x-amz-checksum-crc32:${crc32Base64(payload)}`);

  it.each([1, 3, 7, 4096, body.length])(
    'decodes the payload and trailer when split every %i bytes',
    async (size) => {
      const { data, decoder } = await decode(pieces(body, size));
      expect(data.equals(payload)).toBe(true);
      expect(decoder.decodedLength).toBe(payload.length);
      expect(decoder.trailers.get('x-amz-checksum-crc32')).toBe(crc32Base64(payload));
    },
  );

  it('accepts chunk extensions', async () => {
    const withExt = Buffer.from('3;chunk-signature=abc\r\nabc\r\n0\r\n\r\n');
    expect((await decode(Readable.from([withExt]))).data.toString()).toBe('abc');
  });

  it('rejects a body that ends before the final chunk', async () => {
    await expect(decode(Readable.from([body.subarray(0, 40)]))).rejects.toMatchObject({
      code: 'IncompleteBody',
    });
  });

  it('rejects a bad chunk size and a chunk longer than declared', async () => {
    await expect(decode(Readable.from([Buffer.from('zz\r\nabc\r\n0\r\n\r\n')]))).rejects.toMatchObject({
      code: 'InvalidRequest',
    });
    await expect(decode(Readable.from([Buffer.from('2\r\nabc\r\n0\r\n\r\n')]))).rejects.toMatchObject({
      code: 'InvalidRequest',
    });
  });
});

describe('spoolBody', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'upman-s3-body-'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  const expectRejected = async (promise: Promise<unknown>, code: string) => {
    const error = (await promise.then(
      () => undefined,
      (e: unknown) => e,
    )) as S3Error | undefined;
    expect(error?.code).toBe(code);
    expect(await readdir(dir)).toEqual([]);
  };

  it('spools a body whose SHA-256 matches the signed one', async () => {
    const data = Buffer.from('signed payload');
    const spooled = await spoolBody(
      Readable.from([data]),
      { 'content-length': String(data.length) },
      { kind: 'sha256', hex: sha256Hex(data) },
      dir,
    );
    expect(spooled.size).toBe(data.length);
    expect((await readFile(spooled.file!)).equals(data)).toBe(true);
    await spooled.discard();
    expect(await readdir(dir)).toEqual([]);
  });

  it('rejects a body that does not match the signed SHA-256 and keeps nothing', async () => {
    await expectRejected(
      spoolBody(
        Readable.from([Buffer.from('sent')]),
        { 'content-length': '4' },
        { kind: 'sha256', hex: sha256Hex('signed') },
        dir,
      ),
      'XAmzContentSHA256Mismatch',
    );
  });

  it('checks an empty body against the empty hash without a file', async () => {
    const ok = await spoolBody(Readable.from([]), {}, { kind: 'sha256', hex: sha256Hex('') }, dir);
    expect(ok.size).toBe(0);
    expect(ok.file).toBeUndefined();
    await expectRejected(
      spoolBody(Readable.from([]), {}, { kind: 'sha256', hex: sha256Hex('x') }, dir),
      'XAmzContentSHA256Mismatch',
    );
  });

  it('decodes aws-chunked and verifies the CRC32 trailer', async () => {
    const data = Buffer.from('streamed upload');
    const headers = {
      'transfer-encoding': 'chunked',
      'x-amz-trailer': 'x-amz-checksum-crc32',
      'x-amz-decoded-content-length': String(data.length),
    };
    const good = chunked(
      [data.subarray(0, 5), data.subarray(5)],
      `x-amz-checksum-crc32:${crc32Base64(data)}`,
    );
    const spooled = await spoolBody(pieces(good, 4), headers, { kind: 'streaming-unsigned-trailer' }, dir);
    expect((await readFile(spooled.file!)).equals(data)).toBe(true);
    await spooled.discard();

    const bad = chunked([data], `x-amz-checksum-crc32:${crc32Base64(Buffer.from('other'))}`);
    await expectRejected(
      spoolBody(pieces(bad, 4), headers, { kind: 'streaming-unsigned-trailer' }, dir),
      'BadDigest',
    );
  });

  it('rejects a decoded length that differs from x-amz-decoded-content-length', async () => {
    const body = chunked([Buffer.from('abc')], '');
    await expectRejected(
      spoolBody(
        Readable.from([body]),
        { 'transfer-encoding': 'chunked', 'x-amz-decoded-content-length': '4' },
        { kind: 'streaming-unsigned-trailer' },
        dir,
      ),
      'IncompleteBody',
    );
  });

  it('verifies a CRC32 sent as a header with an unsigned payload', async () => {
    const data = Buffer.from('checked by header');
    const headers = { 'content-length': String(data.length), 'x-amz-checksum-crc32': crc32Base64(data) };
    const ok = await spoolBody(Readable.from([data]), headers, { kind: 'unsigned' }, dir);
    await ok.discard();
    await expectRejected(
      spoolBody(Readable.from([Buffer.from('checked by hEader')]), headers, { kind: 'unsigned' }, dir),
      'BadDigest',
    );
  });

  it('turns a broken upload stream into IncompleteBody', async () => {
    const broken = new Readable({
      read() {
        this.destroy(new Error('socket hang up'));
      },
    });
    await expectRejected(
      spoolBody(broken, { 'content-length': '10' }, { kind: 'unsigned' }, dir),
      'IncompleteBody',
    );
  });
});
