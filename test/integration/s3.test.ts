// The local S3 through the real SDK: s3rver behind the SigV4-verifying proxy, including presigned
// URLs, the rejections real S3 gives, and server access logs.
import { randomBytes, randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { Sha256 } from '@aws-crypto/sha256-js';
import {
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type AccessLogRecord, parseAccessLogLine, parseRequestUri } from '../../cdk/local/s3/access-log.js';

const endpoints = inject('endpoints');
const BUCKET = 'upman-test-bucket';
const LOG_BUCKET = 'upman-test-logs';
const LOG_PREFIX = 'test/';

const clientWith = (
  credentials = endpoints.credentials,
  extra: { systemClockOffset?: number } = {},
): S3Client =>
  new S3Client({
    endpoint: endpoints.s3,
    region: endpoints.region,
    forcePathStyle: true,
    credentials,
    maxAttempts: 1,
    ...extra,
  });

const s3 = clientWith();
const runId = randomUUID().slice(0, 8);
const key = (name: string) => `s3-test/${runId}/${name}`;

/** A presigned GET whose URL carries an extra signed query parameter (as download grants do). */
async function presignGet(
  objectKey: string,
  options: {
    client?: S3Client;
    expiresIn?: number;
    signingDate?: Date;
    query?: Record<string, string>;
  } = {},
): Promise<string> {
  const command = new GetObjectCommand({ Bucket: BUCKET, Key: objectKey });
  const extra = options.query ?? {};
  command.middlewareStack.add(
    (next) => async (args) => {
      Object.assign((args.request as HttpRequest).query, extra);
      return next(args);
    },
    { step: 'build', name: 'addGrantQuery' },
  );
  return getSignedUrl(options.client ?? s3, command, {
    expiresIn: options.expiresIn ?? 60,
    ...(options.signingDate ? { signingDate: options.signingDate } : {}),
  });
}

async function expectS3Error(response: Response, status: number, code: string): Promise<string> {
  const body = await response.text();
  expect(response.status).toBe(status);
  expect(body).toContain(`<Code>${code}</Code>`);
  return body;
}

/** Polls the log bucket until a record matching `predicate` has been delivered. */
async function waitForLogRecord(predicate: (r: AccessLogRecord) => boolean): Promise<AccessLogRecord> {
  const seen = new Set<string>();
  const deadline = Date.now() + 90_000; // generous: a busy machine delivers late
  while (Date.now() < deadline) {
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: LOG_BUCKET, Prefix: LOG_PREFIX }));
    for (const object of listed.Contents ?? []) {
      if (!object.Key || seen.has(object.Key)) continue;
      seen.add(object.Key);
      const text = await (
        await s3.send(new GetObjectCommand({ Bucket: LOG_BUCKET, Key: object.Key }))
      ).Body!.transformToString();
      for (const line of text.split('\n')) {
        const record = parseAccessLogLine(line);
        if (record && predicate(record)) return record;
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error('no matching access log record was delivered within 90 s');
}

const grantOf = (record: AccessLogRecord) =>
  record.requestUri ? parseRequestUri(record.requestUri)?.query['x-upman-grant'] : undefined;

describe('local S3', () => {
  const text = 'hello from the local S3 — ünïcode too';
  const textKey = key('greeting with spaces+plus.txt');

  beforeAll(async () => {
    await s3.send(
      new PutObjectCommand({ Bucket: BUCKET, Key: textKey, Body: text, ContentType: 'text/plain' }),
    );
  });

  afterAll(() => s3.destroy());

  describe('through the SDK', () => {
    it('gets what was put, with its content type', async () => {
      const got = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: textKey }));
      expect(got.ContentType).toBe('text/plain');
      expect(await got.Body!.transformToString()).toBe(text);
    });

    it('serves a Range request as 206 with Content-Range', async () => {
      const got = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: textKey, Range: 'bytes=6-9' }));
      expect(got.$metadata.httpStatusCode).toBe(206);
      expect(got.ContentRange).toBe(`bytes 6-9/${Buffer.byteLength(text)}`);
      expect(await got.Body!.transformToString()).toBe('from');
    });

    it('stores a streamed upload sent as aws-chunked with a checksum trailer', async () => {
      const parts = [randomBytes(70_000), randomBytes(3), randomBytes(100_000)];
      const body = Buffer.concat(parts);
      const streamKey = key('streamed.bin');
      await s3.send(
        new PutObjectCommand({
          Bucket: BUCKET,
          Key: streamKey,
          Body: Readable.from(parts),
          ContentLength: body.length,
        }),
      );
      const head = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: streamKey }));
      expect(head.ContentLength).toBe(body.length);
      const got = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: streamKey }));
      expect(Buffer.from(await got.Body!.transformToByteArray()).equals(body)).toBe(true);
    });

    it('lists objects with ListObjectsV2', async () => {
      const listed = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: `s3-test/${runId}/` }));
      expect(listed.Contents?.map((o) => o.Key)).toContain(textKey);
    });

    it('assembles a multipart upload', async () => {
      const multiKey = key('multipart.bin');
      const part1 = randomBytes(5 * 1024 * 1024);
      const part2 = randomBytes(1234);
      const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: multiKey }));
      const etags = [];
      for (const [i, part] of [part1, part2].entries()) {
        const uploaded = await s3.send(
          new UploadPartCommand({ Bucket: BUCKET, Key: multiKey, UploadId, PartNumber: i + 1, Body: part }),
        );
        etags.push({ PartNumber: i + 1, ETag: uploaded.ETag });
      }
      await s3.send(
        new CompleteMultipartUploadCommand({
          Bucket: BUCKET,
          Key: multiKey,
          UploadId,
          MultipartUpload: { Parts: etags },
        }),
      );
      const got = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: multiKey }));
      expect(Buffer.from(await got.Body!.transformToByteArray()).equals(Buffer.concat([part1, part2]))).toBe(
        true,
      );
    });
  });

  describe('presigned URLs', () => {
    it('serves a presigned GET', async () => {
      const response = await fetch(await presignGet(textKey));
      expect(response.status).toBe(200);
      expect(await response.text()).toBe(text);
    });

    it('rejects an expired URL with AccessDenied "Request has expired"', async () => {
      const url = await presignGet(textKey, { expiresIn: 1, signingDate: new Date(Date.now() - 60_000) });
      const body = await expectS3Error(await fetch(url), 403, 'AccessDenied');
      expect(body).toContain('Request has expired');
    });

    it('rejects a URL whose object key was changed', async () => {
      const url = await presignGet(textKey);
      const tampered = url.replace(encodeURIComponent('greeting'), encodeURIComponent('greetings'));
      expect(tampered).not.toBe(url);
      await expectS3Error(await fetch(tampered), 403, 'SignatureDoesNotMatch');
    });

    it('rejects a URL whose signature was altered', async () => {
      const url = new URL(await presignGet(textKey));
      const signature = url.searchParams.get('X-Amz-Signature')!;
      url.searchParams.set('X-Amz-Signature', (signature[0] === 'a' ? 'b' : 'a') + signature.slice(1));
      await expectS3Error(await fetch(url), 403, 'SignatureDoesNotMatch');
    });

    it('rejects a URL whose signed custom parameter was changed', async () => {
      const url = await presignGet(textKey, { query: { 'x-upman-grant': 'grant-1' } });
      expect((await fetch(url)).status).toBe(200);
      await expectS3Error(await fetch(url.replace('grant-1', 'grant-2')), 403, 'SignatureDoesNotMatch');
      // A second "=" must not let extra text ride along on a signed value.
      await expectS3Error(await fetch(url.replace('grant-1', 'grant-1=x')), 403, 'SignatureDoesNotMatch');
    });

    it('rejects a URL signed with the wrong secret for the right key id', async () => {
      const wrong = clientWith({
        accessKeyId: endpoints.credentials.accessKeyId,
        secretAccessKey: 'not-the-secret',
      });
      await expectS3Error(
        await fetch(await presignGet(textKey, { client: wrong })),
        403,
        'SignatureDoesNotMatch',
      );
      wrong.destroy();
    });

    it('rejects a URL signed with an unknown key id', async () => {
      const unknown = clientWith({
        accessKeyId: 'AKIAUNKNOWNKEY',
        secretAccessKey: endpoints.credentials.secretAccessKey,
      });
      await expectS3Error(
        await fetch(await presignGet(textKey, { client: unknown })),
        403,
        'InvalidAccessKeyId',
      );
      unknown.destroy();
    });

    it('rejects X-Amz-Expires above one week', async () => {
      const url = new URL(await presignGet(textKey));
      url.searchParams.set('X-Amz-Expires', '604801');
      await expectS3Error(await fetch(url), 400, 'AuthorizationQueryParametersError');
    });
  });

  describe('requests without a valid signature', () => {
    it('rejects an anonymous GET with AccessDenied', async () => {
      const path = textKey.split('/').map(encodeURIComponent).join('/');
      await expectS3Error(await fetch(`${endpoints.s3}/${BUCKET}/${path}`), 403, 'AccessDenied');
    });

    it('rejects a header-signed request whose clock is 20 minutes off', async () => {
      const skewed = clientWith(endpoints.credentials, { systemClockOffset: -20 * 60 * 1000 });
      await expect(skewed.send(new GetObjectCommand({ Bucket: BUCKET, Key: textKey }))).rejects.toMatchObject(
        {
          name: 'RequestTimeTooSkewed',
          $metadata: { httpStatusCode: 403 },
        },
      );
      skewed.destroy();
    });

    it('rejects an upload whose body does not match its signed SHA-256', async () => {
      const url = new URL(`${endpoints.s3}/${BUCKET}/${key('mismatch.txt')}`);
      const signer = new SignatureV4({
        credentials: endpoints.credentials,
        region: endpoints.region,
        service: 's3',
        sha256: Sha256,
        uriEscapePath: false,
      });
      const claimed = 'what was signed';
      const hash = new Sha256();
      hash.update(claimed);
      const signed = await signer.sign(
        new HttpRequest({
          method: 'PUT',
          protocol: 'http:',
          hostname: url.hostname,
          port: Number(url.port),
          path: url.pathname,
          headers: {
            host: url.host,
            'x-amz-content-sha256': Buffer.from(await hash.digest()).toString('hex'),
            'content-length': '13',
          },
        }),
      );
      const response = await fetch(url, { method: 'PUT', headers: signed.headers, body: 'what was sent' });
      await expectS3Error(response, 400, 'XAmzContentSHA256Mismatch');
      await expect(
        s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key('mismatch.txt') })),
      ).rejects.toMatchObject({
        $metadata: { httpStatusCode: 404 },
      });
    });
  });

  describe('server access logs', () => {
    it('logs a presigned download with its custom parameter and without secrets', async () => {
      const grant = `grant-${randomUUID()}`;
      const url = await presignGet(textKey, { query: { 'x-upman-grant': grant } });
      const response = await fetch(url, { headers: { 'user-agent': 'upman agent/1.0 (test run)' } });
      expect(await response.text()).toBe(text);

      const record = await waitForLogRecord((r) => grantOf(r) === grant);
      expect(record).toMatchObject({
        bucket: BUCKET,
        operation: 'REST.GET.OBJECT',
        key: textKey,
        httpStatus: 200,
        bytesSent: Buffer.byteLength(text),
        objectSize: Buffer.byteLength(text),
        signatureVersion: 'SigV4',
        authenticationType: 'QueryString',
        userAgent: 'upman agent/1.0 (test run)',
      });
      expect(record.requester).toMatch(/^arn:aws:iam::\d{12}:/);
      const query = parseRequestUri(record.requestUri!)!.query;
      expect(query['X-Amz-Signature']).toBe('REDACTED');
      expect(query['X-Amz-Credential']).toBe('REDACTED');
      expect(record.requestUri).not.toContain(new URL(url).searchParams.get('X-Amz-Signature')!);
      expect(record.requestUri).not.toContain(endpoints.credentials.accessKeyId);
    });

    it('logs a rejected download with its error code', async () => {
      const grant = `grant-${randomUUID()}`;
      const url = await presignGet(textKey, {
        query: { 'x-upman-grant': grant },
        expiresIn: 1,
        signingDate: new Date(Date.now() - 60_000),
      });
      expect((await fetch(url)).status).toBe(403);
      const record = await waitForLogRecord((r) => grantOf(r) === grant);
      expect(record).toMatchObject({ httpStatus: 403, errorCode: 'AccessDenied', requester: undefined });
    });

    it('logs fewer bytes than the object size for a download aborted midway', async () => {
      const bigKey = key('big.bin');
      const size = 32 * 1024 * 1024;
      await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: bigKey, Body: Buffer.alloc(size, 7) }));
      const grant = `grant-${randomUUID()}`;
      const controller = new AbortController();
      const response = await fetch(await presignGet(bigKey, { query: { 'x-upman-grant': grant } }), {
        signal: controller.signal,
      });
      const reader = response.body!.getReader();
      const first = await reader.read();
      expect(first.value?.length).toBeGreaterThan(0);
      controller.abort();

      const record = await waitForLogRecord((r) => grantOf(r) === grant);
      expect(record.objectSize).toBe(size);
      expect(record.bytesSent).toBeGreaterThan(0);
      expect(record.bytesSent).toBeLessThan(size);
    });
  });
});
