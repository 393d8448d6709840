// SigV4 (Authorization header) verification for the JSON and query protocols of DynamoDB, SQS,
// SES, Step Functions and STS: the signature is recomputed with @smithy/signature-v4 (the SDK's
// own signer) over the request as received, body included, with the secret of the key the
// request names. The caller is then the developer or an STS role session; an expired or
// unknown session is refused the way AWS refuses it.
import { timingSafeEqual } from 'node:crypto';
import { Sha256 } from '@aws-crypto/sha256-js';
import { HttpRequest } from '@smithy/protocol-http';
import { parseQueryString } from '@smithy/querystring-parser';
import { SignatureV4 } from '@smithy/signature-v4';
import type { Caller, LocalCredentialStore } from './credentials.js';

export interface SignedRequest {
  method: string;
  /** Raw path plus optional "?query". */
  url: string;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

export type SignatureFault =
  | 'MissingAuthenticationToken'
  | 'IncompleteSignature'
  | 'UnrecognizedClient'
  | 'InvalidSignature'
  | 'ExpiredToken';

export class SignatureError extends Error {
  constructor(
    readonly fault: SignatureFault,
    message: string,
  ) {
    super(message);
  }
}

const MAX_SKEW_MS = 15 * 60 * 1000;

export async function verifySignature(
  req: SignedRequest,
  store: LocalCredentialStore,
  expectedService: string,
  now = new Date(),
): Promise<Caller> {
  const header = one(req.headers.authorization);
  if (!header)
    throw new SignatureError('MissingAuthenticationToken', 'Request is missing Authentication Token');
  const match = /^AWS4-HMAC-SHA256 (.+)$/.exec(header.trim());
  if (!match) throw new SignatureError('IncompleteSignature', 'Unsupported Authorization type');
  const parts = new Map<string, string>();
  for (const part of match[1]!.split(',')) {
    const eq = part.indexOf('=');
    if (eq > 0) parts.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  const credential = parts.get('Credential')?.split('/');
  const signedHeaders = parts.get('SignedHeaders')?.split(';');
  const signature = parts.get('Signature');
  if (!credential || credential.length !== 5 || !signedHeaders || !signature) {
    throw new SignatureError(
      'IncompleteSignature',
      "Authorization header requires 'Credential', 'Signature' and 'SignedHeaders' parameters.",
    );
  }
  const [accessKeyId, date, region, service] = credential as [string, string, string, string];
  if (service !== expectedService) {
    throw new SignatureError(
      'InvalidSignature',
      `Credential should be scoped to correct service: '${expectedService}'.`,
    );
  }
  const caller = store.lookup(accessKeyId);
  if (!caller)
    throw new SignatureError('UnrecognizedClient', 'The security token included in the request is invalid.');
  if (caller.kind === 'role') {
    const token = one(req.headers['x-amz-security-token']);
    if (token !== caller.session.sessionToken) {
      throw new SignatureError(
        'UnrecognizedClient',
        'The security token included in the request is invalid.',
      );
    }
    if (store.isExpired(caller.session, now)) {
      throw new SignatureError('ExpiredToken', 'The security token included in the request is expired');
    }
  }
  const amzDate = one(req.headers['x-amz-date']) ?? '';
  const signingDate = parseAmzDate(amzDate);
  if (!signingDate || amzDate.slice(0, 8) !== date) {
    throw new SignatureError(
      'IncompleteSignature',
      'Date must be in ISO-8601 basic format and match the credential scope.',
    );
  }
  if (Math.abs(now.getTime() - signingDate.getTime()) > MAX_SKEW_MS) {
    throw new SignatureError(
      'InvalidSignature',
      'Signature expired: the request time is too far from the server time.',
    );
  }
  const headers: Record<string, string> = {};
  for (const name of signedHeaders) {
    const value = one(req.headers[name]);
    if (value === undefined)
      throw new SignatureError('IncompleteSignature', `Signed header ${name} is missing.`);
    headers[name] = value;
  }
  const q = req.url.indexOf('?');
  const path = q === -1 ? req.url : req.url.slice(0, q);
  const query = q === -1 ? {} : parseQueryString(req.url.slice(q + 1));
  const secret = caller.kind === 'developer' ? caller.secretAccessKey : caller.session.secretAccessKey;
  const signer = new SignatureV4({
    credentials: { accessKeyId, secretAccessKey: secret },
    region,
    service,
    sha256: Sha256,
    applyChecksum: false,
  });
  const signed = await signer.sign(
    new HttpRequest({
      method: req.method,
      protocol: 'http:',
      hostname: 'localhost',
      path,
      query,
      headers,
      body: req.body,
    }),
    { signingDate, signingRegion: region, signingService: service, signableHeaders: new Set(signedHeaders) },
  );
  const expected = /Signature=([0-9a-f]+)/.exec(String(signed.headers.authorization ?? ''))?.[1] ?? '';
  const a = Buffer.from(expected);
  const b = Buffer.from(signature);
  if (a.length !== b.length || !timingSafeEqual(a, b)) {
    throw new SignatureError(
      'InvalidSignature',
      'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method.',
    );
  }
  return caller;
}

function one(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(',') : value;
}

function parseAmzDate(value: string): Date | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(value);
  if (!m) return undefined;
  return new Date(Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!));
}
