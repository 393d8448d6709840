// SigV4 verification for the local S3. s3rver accepts any well-formed V4 signature, so the proxy
// recomputes every signature with @smithy/signature-v4 (the same signer the SDK uses) over the
// request as received and compares in constant time. Decision logic only: no I/O, clock passed in.
import { timingSafeEqual } from 'node:crypto';
import { Sha256 } from '@aws-crypto/sha256-js';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import { parseQuery, type QueryParam, splitTarget, toSignerQuery } from './query.js';
import { accessDenied, S3Error } from './s3-error.js';

export type HeaderValue = string | string[] | undefined;

export interface ReceivedRequest {
  method: string;
  /** The request target exactly as received: raw path plus "?" and raw query. */
  url: string;
  /** Header names in lower case (as node delivers them). */
  headers: Record<string, HeaderValue>;
}

export interface Credentials {
  accessKeyId: string;
  secretAccessKey: string;
}

/** A key the local STS or the developer holds: its secret, and for a role session its token and end. */
export interface KnownKey {
  secretAccessKey: string;
  sessionToken?: string;
  expiration?: Date;
}

export interface VerifyOptions {
  /** One long-term key pair, or a lookup of every key the local cloud knows (developer and STS sessions). */
  credentials: Credentials | ((accessKeyId: string) => KnownKey | undefined);
  region: string;
  now: Date;
}

export type AuthType = 'AuthHeader' | 'QueryString';

/** How the request body is covered by the signature. */
export type PayloadMode =
  | { kind: 'unsigned' }
  | { kind: 'sha256'; hex: string }
  /** aws-chunked body, chunks unsigned, checksum in a trailer (what the SDK sends for streams). */
  | { kind: 'streaming-unsigned-trailer' };

export type VerifyResult =
  | { ok: true; accessKeyId: string; authType: AuthType; payload: PayloadMode }
  | { ok: false; error: S3Error; authType?: AuthType };

export const MAX_PRESIGNED_EXPIRES_SECONDS = 604_800;
export const MAX_CLOCK_SKEW_MS = 15 * 60 * 1000;
export const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

const ALGORITHM = 'AWS4-HMAC-SHA256';
const SHA256_HEADER = 'x-amz-content-sha256';
const QUERY_AUTH_PARAMS = [
  'X-Amz-Algorithm',
  'X-Amz-Credential',
  'X-Amz-Signature',
  'X-Amz-Date',
  'X-Amz-SignedHeaders',
  'X-Amz-Expires',
] as const;

export async function verifyRequest(req: ReceivedRequest, options: VerifyOptions): Promise<VerifyResult> {
  let authType: AuthType | undefined;
  try {
    const { path, rawQuery } = splitTarget(req.url);
    const params = parseQuery(rawQuery);
    const authorization = headerValue(req.headers, 'authorization');
    const queryAuth = params.some((p) => p.name === 'X-Amz-Algorithm' || p.name === 'X-Amz-Signature');
    if (authorization !== undefined && queryAuth) {
      throw new S3Error(
        'InvalidArgument',
        'Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query string parameter or the Authorization header should be specified',
        400,
        { ArgumentName: 'Authorization' },
      );
    }
    if (authorization !== undefined) {
      authType = 'AuthHeader';
      return await verifyHeaderAuth(req, path, params, authorization, options);
    }
    if (queryAuth) {
      authType = 'QueryString';
      return await verifyQueryAuth(req, path, params, options);
    }
    if (params.some((p) => p.name === 'AWSAccessKeyId' || p.name === 'Signature'))
      throw unsupportedMechanism();
    throw accessDenied();
  } catch (error) {
    if (error instanceof S3Error) return { ok: false, error, authType };
    throw error;
  }
}

async function verifyHeaderAuth(
  req: ReceivedRequest,
  path: string,
  params: QueryParam[],
  authorization: string,
  { credentials, region, now }: VerifyOptions,
): Promise<VerifyResult> {
  const malformed = (message: string, detail?: Record<string, string>) =>
    new S3Error('AuthorizationHeaderMalformed', message, 400, detail);
  const trimmed = authorization.trim();
  const space = trimmed.indexOf(' ');
  const scheme = space === -1 ? trimmed : trimmed.slice(0, space);
  if (scheme === 'AWS') throw unsupportedMechanism();
  if (scheme !== ALGORITHM) {
    throw new S3Error('InvalidArgument', 'Unsupported Authorization Type', 400, {
      ArgumentName: 'Authorization',
    });
  }
  const components = new Map<string, string>();
  for (const part of trimmed.slice(space + 1).split(',')) {
    const eq = part.indexOf('=');
    if (eq !== -1) components.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  const credential = components.get('Credential');
  const signedHeaders = components.get('SignedHeaders');
  const signature = components.get('Signature');
  if (!credential || !signedHeaders || !signature) {
    throw malformed(
      'The authorization header is malformed; the authorization header requires three components: Credential, SignedHeaders, and Signature.',
    );
  }
  const scope = parseCredential(credential);
  if (!scope)
    throw malformed(
      `The authorization header is malformed; the Credential is mal-formed; expecting "<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request".`,
    );
  const key = checkAccessKey(scope.accessKeyId, credentials);

  const contentSha = headerValue(req.headers, SHA256_HEADER);
  if (contentSha === undefined) {
    throw new S3Error('InvalidRequest', `Missing required header for this request: ${SHA256_HEADER}`, 400);
  }
  const payload = parsePayloadMode(contentSha);

  const amzDate = headerValue(req.headers, 'x-amz-date');
  const signingDate = amzDate === undefined ? undefined : parseAmzDate(amzDate);
  if (!amzDate || !signingDate) {
    throw accessDenied('AWS authentication requires a valid Date or x-amz-date header');
  }
  if (Math.abs(now.getTime() - signingDate.getTime()) > MAX_CLOCK_SKEW_MS) {
    throw new S3Error(
      'RequestTimeTooSkewed',
      'The difference between the request time and the current time is too large.',
      403,
      {
        RequestTime: amzDate,
        ServerTime: now.toISOString(),
        MaxAllowedSkewMilliseconds: String(MAX_CLOCK_SKEW_MS),
      },
    );
  }
  if (scope.date !== amzDate.slice(0, 8)) {
    throw malformed(
      `Invalid credential date "${scope.date}". This date is not the same as X-Amz-Date: "${amzDate.slice(0, 8)}".`,
    );
  }
  if (scope.region !== region) {
    throw malformed(
      `The authorization header is malformed; the region '${scope.region}' is wrong; expecting '${region}'`,
      {
        Region: region,
      },
    );
  }
  if (scope.service !== 's3') {
    throw malformed(
      `The authorization header is malformed; incorrect service "${scope.service}". This endpoint belongs to "s3".`,
    );
  }
  checkSessionToken(headerValue(req.headers, 'x-amz-security-token'), key, now);

  const signed = parseSignedHeaders(signedHeaders, req.headers);
  const headers = { ...signed.values };
  const unsignable = new Set<string>();
  if (!(SHA256_HEADER in headers)) {
    // S3 needs the payload hash even when a client leaves the header unsigned.
    headers[SHA256_HEADER] = contentSha;
    unsignable.add(SHA256_HEADER);
  }
  const signer = signerFor({ accessKeyId: scope.accessKeyId, secretAccessKey: key.secretAccessKey });
  const request = new HttpRequest({
    method: req.method,
    protocol: 'http:',
    hostname: 'localhost',
    path,
    query: toSignerQuery(params),
    headers,
  });
  const result = await signer.sign(request, {
    signingDate,
    signingRegion: region,
    signingService: 's3',
    signableHeaders: signed.names,
    unsignableHeaders: unsignable,
  });
  const expected = /Signature=([0-9a-f]+)/.exec(String(result.headers.authorization ?? ''))?.[1] ?? '';
  if (!constantTimeEqual(expected, signature)) throw signatureMismatch(scope.accessKeyId);
  return { ok: true, accessKeyId: scope.accessKeyId, authType: 'AuthHeader', payload };
}

async function verifyQueryAuth(
  req: ReceivedRequest,
  path: string,
  params: QueryParam[],
  { credentials, region, now }: VerifyOptions,
): Promise<VerifyResult> {
  const paramError = (message: string, detail?: Record<string, string>) =>
    new S3Error('AuthorizationQueryParametersError', message, 400, detail);
  const auth: Partial<Record<(typeof QUERY_AUTH_PARAMS)[number], string>> = {};
  for (const name of QUERY_AUTH_PARAMS) {
    const matches = params.filter((p) => p.name === name);
    if (matches.length !== 1) {
      throw paramError(
        'Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters.',
      );
    }
    auth[name] = matches[0]!.value;
  }
  if (auth['X-Amz-Algorithm'] !== ALGORITHM)
    throw paramError('X-Amz-Algorithm only supports "AWS4-HMAC-SHA256"');

  const scope = parseCredential(auth['X-Amz-Credential']!);
  if (!scope) {
    throw paramError(
      `Error parsing the X-Amz-Credential parameter; the Credential is mal-formed; expecting "<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request".`,
    );
  }
  const expiresText = auth['X-Amz-Expires']!;
  if (!/^\d{1,9}$/.test(expiresText)) throw paramError('X-Amz-Expires should be a number');
  const expires = Number(expiresText);
  if (expires > MAX_PRESIGNED_EXPIRES_SECONDS) {
    throw paramError(
      `X-Amz-Expires must be less than a week (in seconds) that is; ${MAX_PRESIGNED_EXPIRES_SECONDS}`,
    );
  }
  const amzDate = auth['X-Amz-Date']!;
  const signingDate = parseAmzDate(amzDate);
  if (!signingDate) throw paramError(`X-Amz-Date must be in the ISO8601 Long Format "yyyyMMdd'T'HHmmss'Z'"`);
  const key = checkAccessKey(scope.accessKeyId, credentials);
  if (scope.date !== amzDate.slice(0, 8)) {
    throw paramError(
      `Invalid credential date "${scope.date}". This date is not the same as X-Amz-Date: "${amzDate.slice(0, 8)}".`,
    );
  }
  if (scope.region !== region) {
    throw paramError(
      `Error parsing the X-Amz-Credential parameter; the region '${scope.region}' is wrong; expecting '${region}'`,
      { Region: region },
    );
  }
  if (scope.service !== 's3') {
    throw paramError(
      `Error parsing the X-Amz-Credential parameter; incorrect service "${scope.service}". This endpoint belongs to "s3".`,
    );
  }
  if (signingDate.getTime() - now.getTime() > MAX_CLOCK_SKEW_MS)
    throw accessDenied('Request is not valid yet');
  const expiresAt = new Date(signingDate.getTime() + expires * 1000);
  if (now.getTime() > expiresAt.getTime()) {
    throw new S3Error('AccessDenied', 'Request has expired', 403, {
      'X-Amz-Expires': expiresText,
      Expires: expiresAt.toISOString(),
      ServerTime: now.toISOString(),
    });
  }
  checkSessionToken(params.find((p) => p.name === 'X-Amz-Security-Token')?.value, key, now);

  const signed = parseSignedHeaders(auth['X-Amz-SignedHeaders']!, req.headers);
  const headers = { ...signed.values };
  const unsignable = new Set<string>();
  if (!(SHA256_HEADER in headers)) {
    // Presigned URLs always sign the payload as UNSIGNED-PAYLOAD; the signer reads it from this header.
    headers[SHA256_HEADER] = 'UNSIGNED-PAYLOAD';
    unsignable.add(SHA256_HEADER);
  }
  const signer = signerFor({ accessKeyId: scope.accessKeyId, secretAccessKey: key.secretAccessKey });
  const request = new HttpRequest({
    method: req.method,
    protocol: 'http:',
    hostname: 'localhost',
    path,
    query: toSignerQuery(params.filter((p) => p.name !== 'X-Amz-Signature')),
    headers,
  });
  const result = await signer.presign(request, {
    signingDate,
    expiresIn: expires,
    signingRegion: region,
    signingService: 's3',
    signableHeaders: signed.names,
    unsignableHeaders: unsignable,
    // Headers the client signed stay headers: hoisting them would change the canonical query.
    unhoistableHeaders: new Set([...signed.names, SHA256_HEADER]),
  });
  const expected = result.query?.['X-Amz-Signature'];
  if (typeof expected !== 'string' || !constantTimeEqual(expected, auth['X-Amz-Signature']!)) {
    throw signatureMismatch(scope.accessKeyId);
  }
  const signedSha = signed.values[SHA256_HEADER];
  const payload: PayloadMode = signedSha === undefined ? { kind: 'unsigned' } : parsePayloadMode(signedSha);
  return { ok: true, accessKeyId: scope.accessKeyId, authType: 'QueryString', payload };
}

export function parsePayloadMode(value: string): PayloadMode {
  if (value === 'UNSIGNED-PAYLOAD') return { kind: 'unsigned' };
  if (value === 'STREAMING-UNSIGNED-PAYLOAD-TRAILER') return { kind: 'streaming-unsigned-trailer' };
  if (/^[0-9a-fA-F]{64}$/.test(value)) return { kind: 'sha256', hex: value.toLowerCase() };
  if (value.startsWith('STREAMING-')) {
    throw new S3Error(
      'NotImplemented',
      `The local S3 does not support ${SHA256_HEADER}: ${value}; use UNSIGNED-PAYLOAD, STREAMING-UNSIGNED-PAYLOAD-TRAILER or the payload's SHA-256`,
      501,
    );
  }
  throw new S3Error(
    'InvalidArgument',
    `${SHA256_HEADER} must be UNSIGNED-PAYLOAD, STREAMING-UNSIGNED-PAYLOAD-TRAILER, or a valid sha256 value.`,
    400,
    { ArgumentName: SHA256_HEADER, ArgumentValue: value },
  );
}

/** Parses "20261124T002532Z" (the only form SigV4 signs) into a Date. */
export function parseAmzDate(value: string): Date | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(value);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s] = m.map(Number) as [number, number, number, number, number, number, number];
  const date = new Date(Date.UTC(y, mo - 1, d, h, mi, s));
  // Reject roll-overs such as month 13 that Date.UTC silently normalises.
  return date.getUTCMonth() === mo - 1 && date.getUTCDate() === d && h < 24 && mi < 60 && s < 60
    ? date
    : undefined;
}

interface CredentialScope {
  accessKeyId: string;
  date: string;
  region: string;
  service: string;
}

function parseCredential(credential: string): CredentialScope | undefined {
  const parts = credential.split('/');
  if (parts.length !== 5 || parts[4] !== 'aws4_request') return undefined;
  const [accessKeyId, date, region, service] = parts as [string, string, string, string];
  if (!accessKeyId || !/^\d{8}$/.test(date) || !region || !service) return undefined;
  return { accessKeyId, date, region, service };
}

function checkAccessKey(accessKeyId: string, credentials: VerifyOptions['credentials']): KnownKey {
  const key =
    typeof credentials === 'function'
      ? credentials(accessKeyId)
      : accessKeyId === credentials.accessKeyId
        ? { secretAccessKey: credentials.secretAccessKey }
        : undefined;
  if (!key) {
    throw new S3Error(
      'InvalidAccessKeyId',
      'The AWS Access Key Id you provided does not exist in our records.',
      403,
      { AWSAccessKeyId: accessKeyId },
    );
  }
  return key;
}

/** A session's key must come with its token, a long-term key with none; an ended session is refused. */
function checkSessionToken(token: string | undefined, key: KnownKey, now: Date): void {
  if (token !== key.sessionToken)
    throw new S3Error('InvalidToken', 'The provided token is malformed or otherwise invalid.', 400);
  if (key.expiration && key.expiration.getTime() <= now.getTime()) {
    throw new S3Error('ExpiredToken', 'The provided token has expired.', 400, { 'Token-0': token ?? '' });
  }
}

/**
 * The signed header names and their received values. Every x-amz-* header present must be
 * signed (as S3 requires), and every signed header must be present.
 */
function parseSignedHeaders(
  list: string,
  received: Record<string, HeaderValue>,
): { names: Set<string>; values: Record<string, string> } {
  const names = list.split(';').map((n) => n.trim().toLowerCase());
  if (!names.includes('host')) {
    throw accessDenied('SignedHeaders must include the host header');
  }
  const values: Record<string, string> = Object.create(null);
  for (const name of names) {
    const value = headerValue(received, name);
    if (value === undefined) throw accessDenied(`The signed header ${name} is missing from the request`);
    values[name] = value;
  }
  const unsigned = Object.keys(received).filter(
    (name) =>
      name.toLowerCase().startsWith('x-amz-') &&
      !names.includes(name.toLowerCase()) &&
      name !== SHA256_HEADER,
  );
  if (unsigned.length > 0) {
    throw accessDenied('There were headers present in the request which were not signed', {
      HeadersNotSigned: unsigned.join(', '),
    });
  }
  return { names: new Set(names), values };
}

export function headerValue(headers: Record<string, HeaderValue>, name: string): string | undefined {
  const value = headers[name];
  if (value === undefined) return undefined;
  // Repeated headers are canonicalised as one comma-separated value.
  return Array.isArray(value) ? value.join(',') : value;
}

function signerFor(credentials: Credentials): SignatureV4 {
  return new SignatureV4({
    credentials,
    region: 'unused',
    service: 's3',
    sha256: Sha256,
    // S3 signs the path exactly as sent, without normalising or double-encoding it.
    uriEscapePath: false,
    applyChecksum: false,
  });
}

function constantTimeEqual(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

const signatureMismatch = (accessKeyId: string) =>
  new S3Error(
    'SignatureDoesNotMatch',
    'The request signature we calculated does not match the signature you provided. Check your key and signing method.',
    403,
    { AWSAccessKeyId: accessKeyId },
  );

const unsupportedMechanism = () =>
  new S3Error(
    'InvalidRequest',
    'The authorization mechanism you have provided is not supported. Please use AWS4-HMAC-SHA256.',
    400,
  );
