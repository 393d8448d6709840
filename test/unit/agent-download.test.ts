import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { downloadArtifact, s3Error } from '../../agent/download.js';

const body = randomBytes(256 * 1024);
const sha256 = createHash('sha256').update(body).digest('hex');

type Handler = (req: IncomingMessage, res: ServerResponse) => void;
let server: Server;
let url: string;
let handler: Handler;
const seen: Array<{ range: string | undefined; key?: string | null }> = [];
let dir: string;

/** Serves `data` honouring a "bytes=N-" Range, optionally cutting the connection after `cutAt` bytes. */
function serve(data: Buffer, options: { cutAt?: number; ignoreRange?: boolean } = {}): Handler {
  return (req, res) => {
    const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    const start = m && !options.ignoreRange ? Number(m[1]) : 0;
    const slice = data.subarray(start);
    res.writeHead(m && !options.ignoreRange ? 206 : 200, {
      'content-length': slice.length,
      ...(m && !options.ignoreRange
        ? { 'content-range': `bytes ${start}-${data.length - 1}/${data.length}` }
        : {}),
    });
    if (options.cutAt !== undefined) {
      res.write(slice.subarray(0, options.cutAt), () => setTimeout(() => res.destroy(), 20));
    } else {
      res.end(slice);
    }
  };
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'upman-agent-dl-'));
  seen.length = 0;
  server = createServer((req, res) => {
    const key = new URL(req.url ?? '/', 'http://x').searchParams.get('key');
    seen.push({ range: req.headers.range, ...(key ? { key } : {}) });
    handler(req, res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/demo/2/full.tar.gz?X-Amz-Signature=abc`;
});
afterEach(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
  await rm(dir, { recursive: true, force: true });
});

const input = () => ({ url, size: body.length, sha256, dir, requestId: 'req-1' });

describe('downloadArtifact', () => {
  it('downloads and verifies an artifact, reporting progress up to its size', async () => {
    handler = serve(body);
    const progress: number[] = [];
    const got = await downloadArtifact({ ...input(), onProgress: (n) => progress.push(n) });
    expect(await readFile(got.file)).toEqual(body);
    expect(got.resumedFrom).toBe(0);
    expect(progress.at(-1)).toBe(body.length);
    expect(seen).toEqual([{ range: undefined }]);
  });

  it('resumes a download cut midway with an HTTP Range request', async () => {
    handler = serve(body, { cutAt: 100_000 });
    await expect(downloadArtifact(input())).rejects.toMatchObject({
      code: 'download-failed',
      message: expect.stringContaining('run the command again to resume'),
    });
    const partial = (await stat(join(dir, `${sha256}.part`))).size;
    expect(partial).toBeGreaterThan(0);
    expect(partial).toBeLessThan(body.length);

    handler = serve(body);
    const starts: number[] = [];
    const got = await downloadArtifact({ ...input(), onStart: (offset) => starts.push(offset) });
    expect(seen.at(-1)).toEqual({ range: `bytes=${partial}-` });
    expect(got.resumedFrom).toBe(partial);
    expect(starts).toEqual([partial]);
    expect(await readFile(got.file)).toEqual(body);
  });

  it('starts over when the server ignores the Range header', async () => {
    handler = serve(body, { cutAt: 50_000 });
    await expect(downloadArtifact(input())).rejects.toMatchObject({ code: 'download-failed' });
    handler = serve(body, { ignoreRange: true });
    const got = await downloadArtifact(input());
    expect(seen.at(-1)?.range).toMatch(/^bytes=\d+-$/);
    expect(await readFile(got.file)).toEqual(body);
  });

  it('rejects a corrupted download (checksum mismatch), removes it, and a second try succeeds', async () => {
    const corrupt = Buffer.from(body);
    corrupt[1000] = (corrupt[1000]! + 1) % 256;
    handler = serve(corrupt);
    await expect(downloadArtifact(input())).rejects.toMatchObject({
      code: 'checksum-mismatch',
      message: expect.stringContaining(`the key promised ${sha256}`),
    });
    expect(existsSync(join(dir, `${sha256}.part`))).toBe(false);
    handler = serve(body);
    const got = await downloadArtifact(input());
    expect(seen.at(-1)).toEqual({ range: undefined });
    expect(await readFile(got.file)).toEqual(body);
  });

  it("turns S3's 403 for an expired URL into S606 with how to get a new key", async () => {
    handler = (_req, res) => {
      res.writeHead(403, { 'content-type': 'application/xml' });
      res.end(
        '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>',
      );
    };
    await expect(downloadArtifact(input())).rejects.toMatchObject({
      code: 'key-expired',
      message: expect.stringMatching(
        /^S606: .*AccessDenied: Request has expired.*run "upman download req-1" again/,
      ),
    });
  });

  it('refuses a body longer than the key announced', async () => {
    handler = serve(Buffer.concat([body, Buffer.from('extra')]));
    await expect(downloadArtifact(input())).rejects.toMatchObject({
      code: 'download-failed',
      message: expect.stringContaining(`more than the announced ${body.length} bytes`),
    });
  });

  it('reuses a finished, verified download without fetching again', async () => {
    handler = serve(body);
    await downloadArtifact(input());
    const got = await downloadArtifact(input());
    expect(seen).toHaveLength(1);
    expect(await readFile(got.file)).toEqual(body);
  });
});

/** Serves "bytes=a-b" ranges for the keys in `live` only; any other key is S3's 403. */
function serveRanges(data: Buffer, live: Set<string>): Handler {
  return (req, res) => {
    const key = new URL(req.url ?? '/', 'http://x').searchParams.get('key') ?? '';
    if (!live.has(key)) {
      res.writeHead(403, { 'content-type': 'application/xml' });
      res.end('<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>');
      return;
    }
    const m = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
    const start = m ? Number(m[1]) : 0;
    const end = m?.[2] ? Math.min(Number(m[2]), data.length - 1) : data.length - 1;
    const slice = data.subarray(start, end + 1);
    res.writeHead(m ? 206 : 200, {
      'content-length': slice.length,
      ...(m ? { 'content-range': `bytes ${start}-${end}/${data.length}` } : {}),
    });
    res.end(slice);
  };
}

describe('downloadArtifact with key renewal (keys live at most 15 minutes)', () => {
  const third = Math.ceil(body.length / 3);
  const keyUrl = (name: string) => `${url.split('?')[0]}?key=${name}`;

  it('renews the key before a range when it is about to expire, and downloads in ranges', async () => {
    handler = serveRanges(body, new Set(['k1', 'k2']));
    const t0 = Date.parse('2026-01-01T00:00:00Z');
    let clock = t0;
    const renewals: string[] = [];
    const got = await downloadArtifact({
      ...input(),
      url: keyUrl('k1'),
      expiresAt: new Date(t0 + 60_000).toISOString(),
      rangeBytes: third,
      now: () => clock,
      // Time passes while the first range arrives: 45 s later the key has 15 s left.
      onProgress: (n) => {
        if (n >= third) clock = t0 + 45_000;
      },
      renew: async () => {
        renewals.push('k2');
        return { url: keyUrl('k2'), expiresAt: new Date(clock + 900_000).toISOString() };
      },
    });
    expect(await readFile(got.file)).toEqual(body);
    expect(renewals).toEqual(['k2']);
    expect(seen).toEqual([
      { range: `bytes=0-${third - 1}`, key: 'k1' },
      { range: `bytes=${third}-${2 * third - 1}`, key: 'k2' },
      { range: `bytes=${2 * third}-${body.length - 1}`, key: 'k2' },
    ]);
  });

  it('asks for a fresh key once when S3 refuses one before its stated expiry, and goes on', async () => {
    const live = new Set(['k1', 'k2']);
    handler = serveRanges(body, live);
    const got = await downloadArtifact({
      ...input(),
      url: keyUrl('k1'),
      expiresAt: new Date(Date.now() + 900_000).toISOString(),
      rangeBytes: third,
      // The signing session ends after the first range: S3 refuses k1 from then on.
      onProgress: (n) => {
        if (n >= third) live.delete('k1');
      },
      renew: async () => ({ url: keyUrl('k2'), expiresAt: new Date(Date.now() + 900_000).toISOString() }),
    });
    expect(await readFile(got.file)).toEqual(body);
    expect(seen.map((r) => r.key)).toEqual(['k1', 'k1', 'k2', 'k2']);
  });

  it('stops, keeping what it has, when the renewal is refused (the grant was revoked)', async () => {
    const live = new Set(['k1']);
    handler = serveRanges(body, live);
    const refused = Object.assign(new Error('The download grant for demo was revoked'), { status: 410 });
    await expect(
      downloadArtifact({
        ...input(),
        url: keyUrl('k1'),
        expiresAt: new Date(Date.now() + 900_000).toISOString(),
        rangeBytes: third,
        onProgress: (n) => {
          if (n >= third) live.delete('k1');
        },
        renew: async () => {
          throw refused;
        },
      }),
    ).rejects.toBe(refused);
    expect(seen.map((r) => r.key)).toEqual(['k1', 'k1']);
    expect((await stat(join(dir, `${sha256}.part`))).size).toBe(third);
  });
});

describe('s3Error', () => {
  it('reads Code and Message from an S3 error body', () => {
    expect(s3Error('<Error><Code>SignatureDoesNotMatch</Code><Message>bad sig</Message></Error>')).toEqual({
      code: 'SignatureDoesNotMatch',
      message: 'bad sig',
    });
    expect(s3Error('not xml')).toEqual({});
  });
});
