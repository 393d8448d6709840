// startLocalS3 as a whole, on loopback: restart persistence, log delivery on stop, presigned PUT.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseAccessLog } from '../../cdk/local/s3/access-log.js';
import { type LocalS3, startLocalS3 } from '../../cdk/local/s3/index.js';

const credentials = { accessKeyId: 'AKUNIT', secretAccessKey: 'unit-secret' };
const region = 'eu-central-1';

describe('startLocalS3', () => {
  let dataDir: string;
  const running: LocalS3[] = [];
  const start = async (accessLogFlushMs = 60_000) => {
    const s3 = await startLocalS3({ port: 0, dataDir, region, credentials, accessLogFlushMs });
    running.push(s3);
    return s3;
  };
  const client = (s3: LocalS3) =>
    new S3Client({ endpoint: s3.url, region, credentials, forcePathStyle: true, maxAttempts: 1 });

  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'upman-s3-unit-'));
  });
  afterEach(async () => {
    await Promise.all(running.splice(0).map((s) => s.stop()));
    await rm(dataDir, { recursive: true, force: true });
  });

  it('honours conditional writes as S3 does: If-None-Match * once, If-Match on the current ETag, one winner of a race', async () => {
    const s3 = await start();
    await s3.createBucket('cond-bucket');
    const c = client(s3);
    const put = (Key: string, Body: string, condition: { IfNoneMatch?: string; IfMatch?: string }) =>
      c.send(new PutObjectCommand({ Bucket: 'cond-bucket', Key, Body, ...condition }));
    const first = await put('lock', 'a', { IfNoneMatch: '*' });
    await expect(put('lock', 'b', { IfNoneMatch: '*' })).rejects.toMatchObject({
      name: 'PreconditionFailed',
    });
    await expect(put('lock', 'c', { IfMatch: '"0123456789abcdef0123456789abcdef"' })).rejects.toMatchObject({
      name: 'PreconditionFailed',
    });
    await expect(put('missing', 'x', { IfMatch: first.ETag! })).rejects.toMatchObject({ name: 'NoSuchKey' });
    await put('lock', 'd', { IfMatch: first.ETag! });
    const stored = await c.send(new GetObjectCommand({ Bucket: 'cond-bucket', Key: 'lock' }));
    expect(await stored.Body!.transformToString()).toBe('d');
    const race = await Promise.allSettled(
      Array.from({ length: 6 }, (_, i) => put('raced', `writer ${i}`, { IfNoneMatch: '*' })),
    );
    expect(race.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    expect(
      race.filter((r) => r.status === 'rejected').map((r) => (r as PromiseRejectedResult).reason.name),
    ).toEqual(Array(5).fill('PreconditionFailed'));
    c.destroy();
  });

  it('listens on 127.0.0.1 and validates its options', async () => {
    const s3 = await start();
    expect(s3.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    await expect(startLocalS3({ port: -1, dataDir, region, credentials })).rejects.toThrow(/port/);
    await expect(
      startLocalS3({ port: 0, dataDir, region, credentials: { accessKeyId: 'a', secretAccessKey: '' } }),
    ).rejects.toThrow(/credentials/);
  });

  it('creates buckets idempotently and names a bad bucket name field', async () => {
    const s3 = await start();
    await s3.createBucket('twice-bucket');
    await s3.createBucket('twice-bucket');
    await expect(s3.createBucket('Bad_Name')).rejects.toThrow(/^name "Bad_Name"/);
    await expect(
      s3.createBucket('ok-bucket', { accessLog: { targetBucket: 'x', prefix: '' } }),
    ).rejects.toThrow(/accessLog.targetBucket/);
  });

  it('keeps objects and access-log settings across a restart, and delivers pending logs on stop', async () => {
    const first = await start();
    await first.createBucket('data-bucket', { accessLog: { targetBucket: 'log-bucket', prefix: 'p/' } });
    const c1 = client(first);
    await c1.send(new PutObjectCommand({ Bucket: 'data-bucket', Key: 'kept.txt', Body: 'still here' }));
    c1.destroy();
    await first.stop();

    const second = await start();
    const c2 = client(second);
    const got = await c2.send(new GetObjectCommand({ Bucket: 'data-bucket', Key: 'kept.txt' }));
    expect(await got.Body!.transformToString()).toBe('still here');
    const logs = await c2.send(new ListObjectsV2Command({ Bucket: 'log-bucket', Prefix: 'p/' }));
    expect(logs.Contents).toHaveLength(1);
    const text = await (
      await c2.send(new GetObjectCommand({ Bucket: 'log-bucket', Key: logs.Contents![0]!.Key! }))
    ).Body!.transformToString();
    expect(parseAccessLog(text).map((r) => [r.operation, r.key, r.httpStatus])).toEqual([
      ['REST.PUT.OBJECT', 'kept.txt', 200],
    ]);
    c2.destroy();
    await second.stop();

    // The GET after the restart was logged too, because the bucket's log setting survived.
    const third = await start();
    const c3 = client(third);
    const all = await c3.send(new ListObjectsV2Command({ Bucket: 'log-bucket', Prefix: 'p/' }));
    expect(all.Contents).toHaveLength(2);
    const records = [];
    for (const object of all.Contents!) {
      const body = await c3.send(new GetObjectCommand({ Bucket: 'log-bucket', Key: object.Key! }));
      records.push(...parseAccessLog(await body.Body!.transformToString()));
    }
    expect(records.map((r) => r.operation).sort()).toEqual(['REST.GET.OBJECT', 'REST.PUT.OBJECT']);
    c3.destroy();
  });

  it('accepts an upload through a presigned PUT URL', async () => {
    const s3 = await start();
    await s3.createBucket('upload-bucket');
    const c = client(s3);
    const url = await getSignedUrl(c, new PutObjectCommand({ Bucket: 'upload-bucket', Key: 'up.bin' }), {
      expiresIn: 60,
    });
    const response = await fetch(url, { method: 'PUT', body: 'uploaded via URL' });
    expect(response.status).toBe(200);
    const got = await c.send(new GetObjectCommand({ Bucket: 'upload-bucket', Key: 'up.bin' }));
    expect(await got.Body!.transformToString()).toBe('uploaded via URL');
    c.destroy();
  });
});
