// A local AWS KMS with the operations the release signer uses: CreateKey, GetPublicKey and Sign
// for asymmetric ECC_NIST_P256 signing keys (AWS's JSON 1.1 protocol, X-Amz-Target
// TrentService.*). Every request must carry a valid SigV4 signature for service "kms" (recomputed
// with @smithy/signature-v4, compared in constant time); what AWS refuses (another key spec or
// usage, an unknown key, a RAW message over 4096 bytes, a digest of the wrong length, another
// algorithm) is refused with AWS's error type. Keys persist under the data directory, each with
// its key policy (the one CreateKey was given, else KMS's default: the account may use IAM).
// In the local cloud it sits behind the IAM gateway, which verifies the signature and
// authorises each call against the caller's policies and the key policy; it then checks none.

import { execFileSync } from 'node:child_process';
import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  randomUUID,
  sign,
  timingSafeEqual,
} from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Sha256 } from '@aws-crypto/sha256-js';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';

interface StoredKey {
  keyId: string;
  arn: string;
  keySpec: 'ECC_NIST_P256';
  keyUsage: 'SIGN_VERIFY';
  description: string;
  createdAt: string;
  privateKeyPem: string;
  /** The key policy (JSON); absent in keys stored before policies were kept: the default one. */
  policy?: string;
}

export interface KeyPolicy {
  Version?: string;
  Statement: unknown[];
}

/** KMS's default key policy: the account's principals may use the key as their IAM policies allow. */
export function defaultKeyPolicy(partition: string, account: string): KeyPolicy {
  return {
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'Enable IAM User Permissions',
        Effect: 'Allow',
        Principal: { AWS: `arn:${partition}:iam::${account}:root` },
        Action: 'kms:*',
        Resource: '*',
      },
    ],
  };
}

export interface LocalKmsOptions {
  port: number;
  region: string;
  accountId?: string;
  /** The one key pair it accepts; absent behind the IAM gateway, which has verified the caller. */
  credentials?: { accessKeyId: string; secretAccessKey: string };
  /** Where keys are kept (keys.json); in memory when absent. */
  dataDir?: string;
  now?: () => Date;
}

class KmsError extends Error {
  constructor(
    readonly type: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

const SIGNING_ALGORITHMS = ['ECDSA_SHA_256'];

export interface LocalKms {
  url: string;
  /** The key policy of a key (by ARN), as the IAM gateway evaluates it; undefined for no such key. */
  keyPolicy(keyArn: string): KeyPolicy | undefined;
  /** A key's ARN from its id or ARN; undefined for no such key. */
  keyArn(keyIdOrArn: string): string | undefined;
  /**
   * A key the templates declare (AWS::KMS::Key), under the id their Ref resolves to: created once
   * with a new key pair and kept across restarts; its policy follows the template.
   */
  provisionKey(spec: TemplateKey): void;
  stop(): Promise<void>;
}

export interface TemplateKey {
  keyId: string;
  /** The account of the stack that declares it (the local account when unset). */
  account?: string;
  keySpec: string;
  keyUsage: string;
  description: string;
  policy?: KeyPolicy;
}

export async function startLocalKms(options: LocalKmsOptions): Promise<LocalKms> {
  const account = options.accountId ?? '000000000000';
  const now = options.now ?? (() => new Date());
  const file = options.dataDir ? join(options.dataDir, 'keys.json') : undefined;
  const keys = new Map<string, StoredKey>(
    file && existsSync(file)
      ? (JSON.parse(readFileSync(file, 'utf8')) as StoredKey[]).map((k) => [k.keyId, k])
      : [],
  );
  const save = () => {
    if (!file) return;
    mkdirSync(options.dataDir!, { recursive: true });
    writeFileSync(file, JSON.stringify([...keys.values()], null, 2), { mode: 0o600 });
  };
  const find = (id: unknown): StoredKey => {
    if (typeof id !== 'string' || id === '') throw new KmsError('ValidationException', 'KeyId is required');
    const keyId = id.startsWith('arn:') ? id.split('/').pop()! : id;
    const key = keys.get(keyId);
    if (!key) throw new KmsError('NotFoundException', `Key '${id}' does not exist`);
    return key;
  };

  const operations: Record<string, (body: Record<string, unknown>) => object> = {
    CreateKey: (body) => {
      const spec = body.KeySpec ?? body.CustomerMasterKeySpec ?? 'SYMMETRIC_DEFAULT';
      if (spec !== 'ECC_NIST_P256') {
        throw new KmsError(
          'UnsupportedOperationException',
          `the local KMS creates ECC_NIST_P256 keys only, not ${String(spec)}`,
        );
      }
      if (body.KeyUsage !== 'SIGN_VERIFY') {
        throw new KmsError('ValidationException', 'KeyUsage must be SIGN_VERIFY for an ECC_NIST_P256 key');
      }
      let policy: string | undefined;
      if (body.Policy !== undefined) {
        try {
          policy = JSON.stringify(JSON.parse(String(body.Policy)));
        } catch {
          throw new KmsError('MalformedPolicyDocumentException', 'The key policy is not JSON');
        }
      }
      const keyId = randomUUID();
      const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
      const key: StoredKey = {
        keyId,
        arn: `arn:aws:kms:${options.region}:${account}:key/${keyId}`,
        keySpec: 'ECC_NIST_P256',
        keyUsage: 'SIGN_VERIFY',
        description: typeof body.Description === 'string' ? body.Description : '',
        createdAt: now().toISOString(),
        privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
        ...(policy ? { policy } : {}),
      };
      keys.set(keyId, key);
      save();
      return {
        KeyMetadata: {
          KeyId: keyId,
          Arn: key.arn,
          AWSAccountId: account,
          CreationDate: Date.parse(key.createdAt) / 1000,
          Enabled: true,
          KeyState: 'Enabled',
          KeyUsage: key.keyUsage,
          KeySpec: key.keySpec,
          CustomerMasterKeySpec: key.keySpec,
          SigningAlgorithms: SIGNING_ALGORITHMS,
          Description: key.description,
          KeyManager: 'CUSTOMER',
          Origin: 'AWS_KMS',
        },
      };
    },
    GetPublicKey: (body) => {
      const key = find(body.KeyId);
      const der = createPublicKey(createPrivateKey(key.privateKeyPem)).export({
        type: 'spki',
        format: 'der',
      });
      return {
        KeyId: key.arn,
        PublicKey: der.toString('base64'),
        KeySpec: key.keySpec,
        CustomerMasterKeySpec: key.keySpec,
        KeyUsage: key.keyUsage,
        SigningAlgorithms: SIGNING_ALGORITHMS,
      };
    },
    Sign: (body) => {
      const key = find(body.KeyId);
      if (body.SigningAlgorithm !== 'ECDSA_SHA_256') {
        throw new KmsError(
          'InvalidKeyUsageException',
          `${String(body.SigningAlgorithm)} is not a signing algorithm of ${key.arn}`,
        );
      }
      if (typeof body.Message !== 'string') throw new KmsError('ValidationException', 'Message is required');
      const message = Buffer.from(body.Message, 'base64');
      const type = body.MessageType ?? 'RAW';
      if (message.length === 0 || (type === 'RAW' && message.length > 4096)) {
        throw new KmsError('ValidationException', 'a RAW Message must be 1 to 4096 bytes');
      }
      if (type === 'DIGEST' && message.length !== 32) {
        throw new KmsError('ValidationException', 'a DIGEST for ECDSA_SHA_256 must be 32 bytes');
      }
      if (type !== 'RAW' && type !== 'DIGEST')
        throw new KmsError('ValidationException', `MessageType ${String(type)}`);
      const signature =
        type === 'RAW'
          ? sign('sha256', message, createPrivateKey(key.privateKeyPem))
          : signDigest(message, key.privateKeyPem);
      return { KeyId: key.arn, Signature: signature.toString('base64'), SigningAlgorithm: 'ECDSA_SHA_256' };
    },
  };

  const signer = options.credentials
    ? new SignatureV4({
        service: 'kms',
        region: options.region,
        credentials: options.credentials,
        sha256: Sha256,
      })
    : undefined;

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks);
    const reply = (status: number, body: object) => {
      res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1' });
      res.end(JSON.stringify(body));
    };
    try {
      if (signer) await authorise(req, raw, signer, options.credentials!, options.region, now());
      const target = String(req.headers['x-amz-target'] ?? '');
      const operation = operations[target.replace(/^TrentService\./, '')];
      if (!target.startsWith('TrentService.') || !operation) {
        throw new KmsError(
          'UnknownOperationException',
          `the local KMS does not implement ${target || 'this request'}`,
        );
      }
      let body: Record<string, unknown>;
      try {
        body = JSON.parse(raw.toString('utf8') || '{}') as Record<string, unknown>;
      } catch {
        throw new KmsError('SerializationException', 'the body is not JSON');
      }
      reply(200, operation(body));
    } catch (error) {
      const e = error instanceof KmsError ? error : new KmsError('KMSInternalException', String(error), 500);
      reply(e.status, { __type: e.type, message: e.message });
    }
  };

  const server: Server = createServer((req, res) => void handle(req, res));
  await new Promise<void>((resolve) => server.listen(options.port, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  return {
    url: `http://127.0.0.1:${port}`,
    keyArn: (idOrArn) => {
      const key = keys.get(idOrArn.split('/').pop() ?? '');
      return key && (idOrArn === key.keyId || idOrArn === key.arn) ? key.arn : undefined;
    },
    keyPolicy: (keyArn) => {
      const key = keys.get(keyArn.split('/').pop() ?? '');
      if (!key || key.arn !== keyArn) return undefined;
      return key.policy
        ? (JSON.parse(key.policy) as KeyPolicy)
        : defaultKeyPolicy(keyArn.split(':')[1] ?? 'aws', account);
    },
    provisionKey: (spec) => {
      if (spec.keySpec !== 'ECC_NIST_P256' || spec.keyUsage !== 'SIGN_VERIFY') {
        throw new Error(
          `${spec.keyId}: the local KMS provides ECC_NIST_P256 SIGN_VERIFY keys only, not ${spec.keySpec} ${spec.keyUsage}`,
        );
      }
      const existing = keys.get(spec.keyId);
      const policy = spec.policy ? JSON.stringify(spec.policy) : undefined;
      keys.set(spec.keyId, {
        keyId: spec.keyId,
        arn: `arn:aws:kms:${options.region}:${spec.account ?? account}:key/${spec.keyId}`,
        keySpec: 'ECC_NIST_P256',
        keyUsage: 'SIGN_VERIFY',
        description: spec.description,
        createdAt: existing?.createdAt ?? now().toISOString(),
        privateKeyPem:
          existing?.privateKeyPem ??
          generateKeyPairSync('ec', { namedCurve: 'prime256v1' })
            .privateKey.export({ type: 'pkcs8', format: 'pem' })
            .toString(),
        ...(policy ? { policy } : {}),
      });
      save();
    },
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/**
 * ECDSA over a precomputed SHA-256 digest (KMS's MessageType DIGEST). Node's crypto always
 * hashes what it signs, so the digest goes to `openssl pkeyutl -sign`, which signs it as is.
 */
function signDigest(digest: Buffer, privateKeyPem: string): Buffer {
  const dir = mkdtempSync(join(tmpdir(), 'upman-kms-'));
  try {
    const keyFile = join(dir, 'key.pem');
    writeFileSync(keyFile, privateKeyPem, { mode: 0o600 });
    return execFileSync('openssl', ['pkeyutl', '-sign', '-inkey', keyFile], { input: digest });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** SigV4 for service "kms": the signature is recomputed over the request as received. */
async function authorise(
  req: IncomingMessage,
  body: Buffer,
  signer: SignatureV4,
  credentials: { accessKeyId: string },
  expectedRegion: string,
  now: Date,
): Promise<void> {
  const auth = String(req.headers.authorization ?? '');
  const m =
    /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/kms\/aws4_request, ?SignedHeaders=([^,]+), ?Signature=([0-9a-f]{64})$/.exec(
      auth,
    );
  if (!m)
    throw new KmsError('MissingAuthenticationToken', 'the request is not signed with SigV4 for kms', 400);
  const [, accessKeyId, , region, signedHeaders, signature] = m as unknown as [
    string,
    string,
    string,
    string,
    string,
    string,
  ];
  if (accessKeyId !== credentials.accessKeyId) {
    throw new KmsError(
      'UnrecognizedClientException',
      'The security token included in the request is invalid.',
    );
  }
  if (region !== expectedRegion)
    throw new KmsError('InvalidSignatureException', `credential scope region ${region}`);
  const amzDate = String(req.headers['x-amz-date'] ?? '');
  const date = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(amzDate);
  if (!date) throw new KmsError('InvalidSignatureException', 'X-Amz-Date is missing or malformed');
  const signingDate = new Date(`${date[1]}-${date[2]}-${date[3]}T${date[4]}:${date[5]}:${date[6]}Z`);
  if (Math.abs(now.getTime() - signingDate.getTime()) > 15 * 60 * 1000) {
    throw new KmsError(
      'InvalidSignatureException',
      'Signature expired: the request time is too far from now',
    );
  }
  const headers: Record<string, string> = {};
  for (const name of signedHeaders.split(';')) {
    const value = req.headers[name];
    if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(',') : value;
  }
  const request = new HttpRequest({
    method: req.method ?? 'POST',
    protocol: 'http:',
    hostname: String(req.headers.host ?? '').replace(/:\d+$/, ''),
    path: (req.url ?? '/').split('?')[0]!,
    headers,
    body,
  });
  const signed = await signer.sign(request, {
    signingDate,
    unsignableHeaders: new Set(),
    signableHeaders: new Set(Object.keys(headers)),
  });
  const expected = /Signature=([0-9a-f]{64})/.exec(String(signed.headers.authorization))?.[1] ?? '';
  if (
    expected.length !== signature.length ||
    !timingSafeEqual(Buffer.from(expected), Buffer.from(signature))
  ) {
    throw new KmsError(
      'InvalidSignatureException',
      'The request signature we calculated does not match the signature you provided.',
    );
  }
}
