// The local S3's SigV4 decisions, against requests signed the way the SDK signs them.
import { Sha256 } from '@aws-crypto/sha256-js';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import { describe, expect, it } from 'vitest';
import { type ReceivedRequest, type VerifyResult, verifyRequest } from '../../cdk/local/s3/verify.js';

const credentials = { accessKeyId: 'AKLOCAL', secretAccessKey: 'local-secret' };
const region = 'eu-west-1';
const signedAt = new Date('2026-03-01T12:00:00Z');
const HOST = '127.0.0.1:4566';
const EMPTY = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

function signer(creds = credentials, signingRegion = region) {
  return new SignatureV4({
    credentials: creds,
    region: signingRegion,
    service: 's3',
    sha256: Sha256,
    uriEscapePath: false,
  });
}

interface SignedRequest {
  method: string;
  path: string;
  query?: Record<string, string | (string | null)[] | null>;
  headers: Record<string, string>;
}

function toReceived(request: SignedRequest): ReceivedRequest {
  const query = Object.entries(request.query ?? {})
    .flatMap(([name, value]) =>
      (Array.isArray(value) ? value : [value]).map(
        (v) => `${encodeURIComponent(name)}=${encodeURIComponent(v ?? '')}`,
      ),
    )
    .join('&');
  const headers = Object.fromEntries(Object.entries(request.headers).map(([k, v]) => [k.toLowerCase(), v]));
  return { method: request.method, url: query ? `${request.path}?${query}` : request.path, headers };
}

function baseRequest(overrides: Partial<ConstructorParameters<typeof HttpRequest>[0]> = {}): HttpRequest {
  return new HttpRequest({
    method: 'GET',
    protocol: 'http:',
    hostname: '127.0.0.1',
    port: 4566,
    path: '/bucket/dir/a%20file%2Bplus.txt',
    query: { 'x-id': 'GetObject' },
    headers: { host: HOST, 'x-amz-content-sha256': EMPTY, 'x-amz-user-agent': 'sdk' },
    ...overrides,
  });
}

async function headerSigned(
  overrides: Partial<ConstructorParameters<typeof HttpRequest>[0]> = {},
  creds = credentials,
  signingRegion = region,
): Promise<ReceivedRequest> {
  return toReceived(
    await signer(creds, signingRegion).sign(baseRequest(overrides), { signingDate: signedAt }),
  );
}

async function presigned(
  options: { expiresIn?: number; creds?: typeof credentials; query?: Record<string, string> } = {},
): Promise<ReceivedRequest> {
  const request = baseRequest({
    query: { 'x-id': 'GetObject', ...options.query },
    headers: { host: HOST, 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' },
  });
  const signed = await signer(options.creds).presign(request, {
    signingDate: signedAt,
    expiresIn: options.expiresIn ?? 300,
  });
  return toReceived(signed);
}

const verify = (req: ReceivedRequest, now = new Date(signedAt.getTime() + 1000)) =>
  verifyRequest(req, { credentials, region, now });

function expectError(result: VerifyResult, code: string, status: number, message?: string | RegExp): void {
  expect(result.ok).toBe(false);
  if (result.ok) return;
  expect(result.error.code).toBe(code);
  expect(result.error.statusCode).toBe(status);
  if (message) expect(result.error.message).toMatch(message);
}

const withTarget = (req: ReceivedRequest, url: string): ReceivedRequest => ({ ...req, url });

describe('verifyRequest with header auth', () => {
  it('accepts a request signed by the SDK signer and reports its payload hash', async () => {
    const result = await verify(await headerSigned());
    expect(result).toEqual({
      ok: true,
      accessKeyId: 'AKLOCAL',
      authType: 'AuthHeader',
      payload: { kind: 'sha256', hex: EMPTY },
    });
  });

  it('accepts STREAMING-UNSIGNED-PAYLOAD-TRAILER uploads', async () => {
    const req = await headerSigned({
      method: 'PUT',
      headers: {
        host: HOST,
        'x-amz-content-sha256': 'STREAMING-UNSIGNED-PAYLOAD-TRAILER',
        'content-encoding': 'aws-chunked',
        'x-amz-trailer': 'x-amz-checksum-crc32',
        'x-amz-decoded-content-length': '6',
      },
    });
    const result = await verify(req);
    expect(result).toMatchObject({ ok: true, payload: { kind: 'streaming-unsigned-trailer' } });
  });

  it('rejects a changed path, query or signed header value', async () => {
    const req = await headerSigned();
    expectError(
      await verify(withTarget(req, req.url.replace('a%20file', 'b%20file'))),
      'SignatureDoesNotMatch',
      403,
    );
    expectError(await verify(withTarget(req, `${req.url}&versionId=1`)), 'SignatureDoesNotMatch', 403);
    expectError(
      await verify({ ...req, headers: { ...req.headers, 'x-amz-user-agent': 'other' } }),
      'SignatureDoesNotMatch',
      403,
    );
  });

  it('does not double-encode the path (S3 signs it as sent)', async () => {
    const req = await headerSigned();
    // The same key encoded differently is a different canonical path.
    expectError(await verify(withTarget(req, req.url.replace('%20', '%2520'))), 'SignatureDoesNotMatch', 403);
  });

  it('rejects a signature made with another secret', async () => {
    const req = await headerSigned({}, { ...credentials, secretAccessKey: 'wrong' });
    expectError(await verify(req), 'SignatureDoesNotMatch', 403);
  });

  it('rejects an unknown access key id', async () => {
    const req = await headerSigned(
      {},
      { accessKeyId: 'AKOTHER', secretAccessKey: credentials.secretAccessKey },
    );
    expectError(await verify(req), 'InvalidAccessKeyId', 403);
  });

  it('rejects a request more than 15 minutes from the server clock', async () => {
    const req = await headerSigned();
    expect((await verify(req, new Date(signedAt.getTime() + 14 * 60_000))).ok).toBe(true);
    expectError(await verify(req, new Date(signedAt.getTime() + 16 * 60_000)), 'RequestTimeTooSkewed', 403);
    expectError(await verify(req, new Date(signedAt.getTime() - 16 * 60_000)), 'RequestTimeTooSkewed', 403);
  });

  it('rejects a credential scoped to another region, naming the expected one', async () => {
    const req = await headerSigned({}, credentials, 'us-west-2');
    expectError(
      await verify(req),
      'AuthorizationHeaderMalformed',
      400,
      /'us-west-2' is wrong; expecting 'eu-west-1'/,
    );
  });

  it('requires x-amz-content-sha256', async () => {
    const request = baseRequest({ headers: { host: HOST } });
    const unhashed = new SignatureV4({
      credentials,
      region,
      service: 's3',
      sha256: Sha256,
      applyChecksum: false,
    });
    const req = toReceived(await unhashed.sign(request, { signingDate: signedAt }));
    expect(req.headers['x-amz-content-sha256']).toBeUndefined();
    expectError(await verify(req), 'InvalidRequest', 400, /x-amz-content-sha256/);
  });

  it('rejects x-amz-* headers that were not signed', async () => {
    const req = await headerSigned();
    expectError(
      await verify({ ...req, headers: { ...req.headers, 'x-amz-acl': 'public-read' } }),
      'AccessDenied',
      403,
      /not signed/,
    );
  });

  it('rejects signed chunk streaming, which the local S3 does not implement', async () => {
    const req = await headerSigned({
      method: 'PUT',
      headers: { host: HOST, 'x-amz-content-sha256': 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD' },
    });
    expectError(await verify(req), 'NotImplemented', 501);
  });

  it('rejects session tokens (the local cloud issues none)', async () => {
    const req = await headerSigned({
      headers: { host: HOST, 'x-amz-content-sha256': EMPTY, 'x-amz-security-token': 't' },
    });
    expectError(await verify(req), 'InvalidToken', 400);
  });

  it('rejects a malformed Authorization header and SigV2', async () => {
    const req = await headerSigned();
    const malformed = {
      ...req,
      headers: { ...req.headers, authorization: 'AWS4-HMAC-SHA256 Credential=AKLOCAL/x' },
    };
    expectError(await verify(malformed), 'AuthorizationHeaderMalformed', 400);
    const v2 = { ...req, headers: { ...req.headers, authorization: 'AWS AKLOCAL:c2lnbmF0dXJl' } };
    expectError(await verify(v2), 'InvalidRequest', 400, /AWS4-HMAC-SHA256/);
  });
});

describe('verifyRequest with presigned URLs', () => {
  it('accepts a presigned GET, payload unsigned', async () => {
    const result = await verify(await presigned());
    expect(result).toEqual({
      ok: true,
      accessKeyId: 'AKLOCAL',
      authType: 'QueryString',
      payload: { kind: 'unsigned' },
    });
  });

  it('accepts custom signed parameters and rejects them changed, added to or smuggled past "="', async () => {
    const req = await presigned({ query: { 'x-upman-grant': 'abc' } });
    expect((await verify(req)).ok).toBe(true);
    expectError(
      await verify(withTarget(req, req.url.replace('x-upman-grant=abc', 'x-upman-grant=abd'))),
      'SignatureDoesNotMatch',
      403,
    );
    expectError(
      await verify(withTarget(req, req.url.replace('x-upman-grant=abc', 'x-upman-grant=abc=d'))),
      'SignatureDoesNotMatch',
      403,
    );
    expectError(await verify(withTarget(req, `${req.url}&extra=1`)), 'SignatureDoesNotMatch', 403);
  });

  it('rejects a flipped signature character', async () => {
    const req = await presigned();
    const url = req.url.replace(
      /X-Amz-Signature=(.)/,
      (_m, c: string) => `X-Amz-Signature=${c === '0' ? '1' : '0'}`,
    );
    expect(url).not.toBe(req.url);
    expectError(await verify(withTarget(req, url)), 'SignatureDoesNotMatch', 403);
  });

  it('expires after X-Amz-Expires seconds', async () => {
    const req = await presigned({ expiresIn: 60 });
    expect((await verify(req, new Date(signedAt.getTime() + 60_000))).ok).toBe(true);
    expectError(
      await verify(req, new Date(signedAt.getTime() + 61_000)),
      'AccessDenied',
      403,
      'Request has expired',
    );
  });

  it('is not valid long before its X-Amz-Date', async () => {
    const req = await presigned();
    expectError(
      await verify(req, new Date(signedAt.getTime() - 20 * 60_000)),
      'AccessDenied',
      403,
      /not valid yet/,
    );
  });

  it('rejects X-Amz-Expires above one week before checking the signature', async () => {
    const req = await presigned();
    const url = req.url.replace('X-Amz-Expires=300', 'X-Amz-Expires=604801');
    expectError(await verify(withTarget(req, url)), 'AuthorizationQueryParametersError', 400, /604800/);
  });

  it('rejects an unknown key id and a wrong secret', async () => {
    expectError(
      await verify(await presigned({ creds: { ...credentials, accessKeyId: 'AKOTHER' } })),
      'InvalidAccessKeyId',
      403,
    );
    expectError(
      await verify(await presigned({ creds: { ...credentials, secretAccessKey: 'x' } })),
      'SignatureDoesNotMatch',
      403,
    );
  });

  it('requires every SigV4 query parameter', async () => {
    const req = await presigned();
    const url = req.url.replace(/&?X-Amz-Date=[^&]*/, '');
    expectError(await verify(withTarget(req, url)), 'AuthorizationQueryParametersError', 400);
  });

  it('rejects a request that uses both auth mechanisms', async () => {
    const header = await headerSigned();
    const query = await presigned();
    expectError(
      await verify({
        ...query,
        headers: { ...query.headers, authorization: String(header.headers.authorization) },
      }),
      'InvalidArgument',
      400,
    );
  });
});

describe('verifyRequest without credentials', () => {
  it('rejects an anonymous request with AccessDenied', async () => {
    expectError(
      await verify({ method: 'GET', url: '/bucket/key', headers: { host: HOST } }),
      'AccessDenied',
      403,
    );
  });

  it('rejects a query string that is not valid percent-encoding', async () => {
    expectError(
      await verify({ method: 'GET', url: '/bucket/key?a=%zz', headers: { host: HOST } }),
      'InvalidArgument',
      400,
    );
  });
});
