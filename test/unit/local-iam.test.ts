// The local IAM core: role sessions (issue, lookup, expiry), SigV4 with session tokens (S3 and
// the JSON protocols), the request → action mapping of S3, and the authoriser over real policies.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Sha256 } from '@aws-crypto/sha256-js';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import { describe, expect, it } from 'vitest';
import { PolicyAuthorizer } from '../../cdk/local/iam/authorizer.js';
import { type Caller, LocalCredentialStore, type RoleSession } from '../../cdk/local/iam/credentials.js';
import type { TemplatePolicies } from '../../cdk/local/iam/policies.js';
import { dynamoDbMapping } from '../../cdk/local/iam/services.js';
import { SignatureError, verifySignature } from '../../cdk/local/iam/sigv4.js';
import { s3Accesses } from '../../cdk/local/s3/action.js';
import { verifyRequest } from '../../cdk/local/s3/verify.js';

const developer = {
  accessKeyId: 'DEVKEY',
  secretAccessKey: 'dev-secret',
  arn: 'arn:aws:iam::000000000000:user/local-developer-all-powerful',
  account: '000000000000',
};
const ROLE = 'arn:aws:iam::000000000000:role/Reader';
const t0 = new Date('2026-03-01T12:00:00Z');

function storeAt(clock: { now: Date }, dataDir?: string) {
  return new LocalCredentialStore(developer, { now: () => clock.now, ...(dataDir ? { dataDir } : {}) });
}

describe('role sessions', () => {
  it('issues temporary credentials that end after the session length, and survive a restart', () => {
    const clock = { now: t0 };
    const dataDir = mkdtempSync(join(tmpdir(), 'upman-sts-'));
    const store = storeAt(clock, dataDir);
    const s = store.issue(ROLE, 'fn', 900);
    expect(s.accessKeyId).toMatch(/^ASIA[0-9A-F]{16}$/);
    expect(s.expiration.toISOString()).toBe('2026-03-01T12:15:00.000Z');
    expect(store.lookup(s.accessKeyId)).toMatchObject({ kind: 'role', session: { roleArn: ROLE } });
    expect(store.lookup('NOPE')).toBeUndefined();
    expect(store.lookup('DEVKEY')).toMatchObject({ kind: 'developer' });
    const reopened = storeAt(clock, dataDir);
    expect(reopened.lookup(s.accessKeyId)).toMatchObject({ kind: 'role' });
    clock.now = new Date(t0.getTime() + 900_000);
    expect(store.isExpired(s)).toBe(true);
    expect(storeAt(clock, dataDir).lookup(s.accessKeyId)).toBeUndefined();
  });
});

async function presignedWith(session: RoleSession, expiresIn = 300) {
  const signer = new SignatureV4({
    credentials: session,
    region: 'us-east-1',
    service: 's3',
    sha256: Sha256,
    uriEscapePath: false,
  });
  const signed = await signer.presign(
    new HttpRequest({
      method: 'GET',
      protocol: 'http:',
      hostname: '127.0.0.1',
      path: '/releases/editor/1/full.tar.gz',
      headers: { host: '127.0.0.1:4569', 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' },
    }),
    { signingDate: t0, expiresIn },
  );
  const query = Object.entries(signed.query ?? {})
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`)
    .join('&');
  return { method: 'GET', url: `${signed.path}?${query}`, headers: { host: '127.0.0.1:4569' } };
}

describe('S3 SigV4 with session credentials', () => {
  const clock = { now: t0 };
  const store = storeAt(clock);
  const lookup = (id: string) => {
    const c = store.lookup(id);
    if (!c) return undefined;
    return c.kind === 'developer' ? { secretAccessKey: c.secretAccessKey } : c.session;
  };

  it('accepts a presigned URL carrying the session token (the production URL shape)', async () => {
    const s = store.issue(ROLE, 'issuer', 3600);
    const req = await presignedWith(s);
    expect(req.url).toContain('X-Amz-Security-Token=');
    const result = await verifyRequest(req, {
      credentials: lookup,
      region: 'us-east-1',
      now: new Date(t0.getTime() + 1000),
    });
    expect(result).toMatchObject({ ok: true, accessKeyId: s.accessKeyId, authType: 'QueryString' });
  });

  it('refuses a wrong session token, and a URL whose signing session has ended before the URL', async () => {
    const s = store.issue(ROLE, 'issuer', 900);
    const forged = await presignedWith({ ...s, sessionToken: 'forged' });
    const bad = await verifyRequest(forged, { credentials: lookup, region: 'us-east-1', now: t0 });
    expect(bad).toMatchObject({ ok: false, error: { code: 'InvalidToken', statusCode: 400 } });
    // The URL says one hour; the session that signed it ends after 15 minutes.
    const long = await presignedWith(s, 3600);
    const after = new Date(t0.getTime() + 901_000);
    const expired = await verifyRequest(long, { credentials: lookup, region: 'us-east-1', now: after });
    expect(expired).toMatchObject({ ok: false, error: { code: 'ExpiredToken', statusCode: 400 } });
  });
});

describe('SigV4 of the JSON protocols', () => {
  async function signedDynamo(creds: {
    accessKeyId: string;
    secretAccessKey: string;
    sessionToken?: string;
  }) {
    const body = JSON.stringify({ TableName: 'T', Key: { pk: { S: 'a' } } });
    const signer = new SignatureV4({
      credentials: creds,
      region: 'us-east-1',
      service: 'dynamodb',
      sha256: Sha256,
    });
    const signed = await signer.sign(
      new HttpRequest({
        method: 'POST',
        protocol: 'http:',
        hostname: '127.0.0.1',
        path: '/',
        headers: {
          host: '127.0.0.1:8000',
          'content-type': 'application/x-amz-json-1.0',
          'x-amz-target': 'DynamoDB_20120810.GetItem',
        },
        body,
      }),
      { signingDate: t0 },
    );
    return { method: 'POST', url: '/', headers: signed.headers, body: Buffer.from(body) };
  }

  it('names the caller of a session-signed request, and refuses a wrong secret and an ended session', async () => {
    const clock = { now: t0 };
    const store = storeAt(clock);
    const s = store.issue(ROLE, 'fn', 900);
    const caller = await verifySignature(await signedDynamo(s), store, 'dynamodb', t0);
    expect(caller).toMatchObject({ kind: 'role', session: { roleArn: ROLE } });
    await expect(
      verifySignature(await signedDynamo({ ...s, secretAccessKey: 'guess' }), store, 'dynamodb', t0),
    ).rejects.toMatchObject({ fault: 'InvalidSignature' });
    clock.now = new Date(t0.getTime() + 900_000);
    const late = verifySignature(await signedDynamo(s), store, 'dynamodb', clock.now);
    await expect(late).rejects.toBeInstanceOf(SignatureError);
    await expect(late).rejects.toMatchObject({ fault: 'ExpiredToken' });
  });
});

describe('S3 request → IAM action', () => {
  it('maps reads, listings with their prefix, copies and uploads as S3 authorises them', () => {
    expect(s3Accesses('HEAD', 'b', 'k/x', [], undefined)).toEqual([
      { action: 's3:GetObject', resource: 'arn:aws:s3:::b/k/x', context: {} },
    ]);
    expect(
      s3Accesses(
        'GET',
        'b',
        undefined,
        [
          { name: 'list-type', value: '2', raw: 'list-type=2' },
          { name: 'prefix', value: 'editor/manifest.json', raw: 'prefix=editor%2Fmanifest.json' },
        ],
        undefined,
      ),
    ).toEqual([
      {
        action: 's3:ListBucket',
        resource: 'arn:aws:s3:::b',
        context: { 's3:prefix': 'editor/manifest.json' },
      },
    ]);
    expect(s3Accesses('PUT', 'b', 'k', [], '/src/a%20b')).toEqual([
      { action: 's3:GetObject', resource: 'arn:aws:s3:::src/a b', context: {} },
      { action: 's3:PutObject', resource: 'arn:aws:s3:::b/k', context: {} },
    ]);
    expect(
      s3Accesses('POST', 'b', undefined, [{ name: 'delete', value: '', raw: 'delete' }], undefined),
    ).toBeUndefined();
  });

  it('maps a DynamoDB transaction to one check per item', () => {
    const mapping = dynamoDbMapping({ region: 'us-east-1', account: '000000000000' });
    const body = Buffer.from(
      JSON.stringify({
        TransactItems: [{ Put: { TableName: 'T' } }, { ConditionCheck: { TableName: 'T' } }],
      }),
    );
    const checks = mapping.accessRequests(
      {
        method: 'POST',
        path: '/',
        query: new URLSearchParams(),
        headers: { 'x-amz-target': 'DynamoDB_20120810.TransactWriteItems' },
        body,
      },
      { kind: 'developer', ...developer } as Caller,
    );
    expect(checks.map((c) => c.action)).toEqual(['dynamodb:PutItem', 'dynamodb:ConditionCheckItem']);
    expect(checks[0]!.resource).toBe('arn:aws:dynamodb:us-east-1:000000000000:table/T');
  });
});

describe('the authoriser (iam-simulate over the role and resource policies)', () => {
  const bucket = 'arn:aws:s3:::releases';
  const policies: TemplatePolicies = {
    roles: new Map([
      [
        ROLE,
        {
          arn: ROLE,
          name: 'Reader',
          logicalId: 'S/Reader',
          trustPolicy: undefined,
          identityPolicies: [
            {
              name: 'p',
              policy: {
                Version: '2012-10-17',
                Statement: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: `${bucket}/*` }],
              },
            },
          ],
        },
      ],
    ]),
    resourcePolicies: new Map([
      [
        bucket,
        {
          Version: '2012-10-17',
          Statement: [
            {
              Effect: 'Deny',
              Principal: { AWS: '*' },
              Action: 's3:*',
              Resource: [bucket, `${bucket}/*`],
              Condition: { Bool: { 'aws:SecureTransport': 'false' } },
            },
            {
              Effect: 'Deny',
              Principal: { AWS: '*' },
              Action: 's3:GetObject',
              Resource: `${bucket}/secret/*`,
            },
          ],
        },
      ],
    ]),
    executionRoles: new Map(),
  };
  const caller: Caller = {
    kind: 'role',
    session: {
      accessKeyId: 'ASIA1',
      secretAccessKey: 's',
      sessionToken: 't',
      expiration: new Date(8.64e15),
      roleArn: ROLE,
      sessionName: 'x',
      account: '000000000000',
    },
  };
  const request = (resource: string, action = 's3:GetObject') => ({
    action,
    resource,
    resourceAccount: '000000000000',
  });

  it('allows what the role allows (loopback counts as TLS), denies the rest implicitly or explicitly', async () => {
    const authorizer = new PolicyAuthorizer(policies, { region: 'us-east-1' });
    expect(await authorizer.authorize(caller, request(`${bucket}/editor/manifest.json`))).toEqual({
      allowed: true,
    });
    expect(await authorizer.authorize(caller, request(bucket, 's3:ListBucket'))).toEqual({
      allowed: false,
      denial: 'implicit',
      policyType: 'identity-based',
    });
    expect(await authorizer.authorize(caller, request(`${bucket}/secret/x`))).toEqual({
      allowed: false,
      denial: 'explicit',
      policyType: 'resource-based',
    });
  });

  it("needs the bucket's policy as well when the bucket is in another account", async () => {
    const authorizer = new PolicyAuthorizer(policies, { region: 'us-east-1' });
    // The same grant as above, on a bucket of account 222222222222 whose policy names nobody.
    expect(
      await authorizer.authorize(caller, {
        ...request(`${bucket}/editor/manifest.json`),
        resourceAccount: '222222222222',
      }),
    ).toMatchObject({ allowed: false, denial: 'implicit' });
  });

  it('never evaluates the developer, and allows everything with enforcement off (the bench baseline)', async () => {
    const authorizer = new PolicyAuthorizer(policies, { region: 'us-east-1' });
    const dev: Caller = { kind: 'developer', ...developer };
    expect(await authorizer.authorize(dev, request(`${bucket}/secret/x`))).toEqual({ allowed: true });
    const off = new PolicyAuthorizer(policies, { region: 'us-east-1', enforce: false });
    expect(await off.authorize(caller, request(`${bucket}/secret/x`))).toEqual({ allowed: true });
  });
});
