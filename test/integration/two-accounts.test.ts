// The vendor site in an account of its own (claim 9), tried locally: a cloud synthesized with
// the two-account stage config runs the vendor stack's buckets and roles in 222222222222 and the
// organisation's in the local account, so the release bucket's policy is evaluated cross-account
// by the real evaluator. The same cloud gives functions short sessions, to watch one end.

import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalCloud, startLocalCloud } from '../../cdk/local/cloud.js';
import { SERVICES, type ServiceName } from '../../cdk/local/ports.js';
import { LOCAL_ACCOUNT } from '../../cdk/local/template.js';
import { TWO_ACCOUNT_STAGE_CONFIG, VENDOR_LOCAL_ACCOUNT } from '../../cdk/local/two-accounts.js';
import { WorkflowDriver } from '../../scripts/workflow-driver.js';

const run = promisify(execFile);
/** Functions' sessions end after this long (a role's sessions elsewhere last an hour). */
const SESSION_SECONDS = 10;
const dataDir = mkdtempSync(join(tmpdir(), 'two-accounts-it-'));
let cloud: LocalCloud | undefined;

beforeAll(async () => {
  cloud = await startLocalCloud({
    root: process.cwd(),
    dataDir,
    assemblyDir: join(dataDir, 'cdk.out'),
    stageConfig: JSON.stringify(TWO_ACCOUNT_STAGE_CONFIG),
    ports: Object.fromEntries(SERVICES.map((s) => [s, 0])) as Record<ServiceName, number>,
    inMemory: true,
    sessionSeconds: SESSION_SECONDS,
  });
}, 600_000);

afterAll(async () => {
  await cloud?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

type Keys = { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
const e = () => cloud!.endpoints;

function roleOf(fragment: string): string {
  const entry = Object.entries(e().roles).find(([name]) => name.includes(fragment));
  if (!entry) throw new Error(`no execution role for a function named like ${fragment}`);
  return entry[1];
}

/** The aws CLI with a key pair (the developer's, or a role session's). */
async function aws(args: string[], keys: Keys): Promise<Record<string, unknown>> {
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    AWS_ACCESS_KEY_ID: keys.accessKeyId,
    AWS_SECRET_ACCESS_KEY: keys.secretAccessKey,
    AWS_DEFAULT_REGION: e().region,
    AWS_CONFIG_FILE: '/dev/null',
    AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
    ...(keys.sessionToken ? { AWS_SESSION_TOKEN: keys.sessionToken } : {}),
  };
  const { stdout } = await run('aws', [...args, '--endpoint-url', e().sts, '--output', 'json'], {
    timeout: 60_000,
    env,
  });
  return JSON.parse(stdout) as Record<string, unknown>;
}

/** assume-role with the developer's key pair: a role's view. */
async function assume(roleArn: string): Promise<Keys> {
  const out = await aws(
    ['sts', 'assume-role', '--role-arn', roleArn, '--role-session-name', 'it'],
    e().credentials,
  );
  const c = out.Credentials as Record<string, string>;
  return { accessKeyId: c.AccessKeyId!, secretAccessKey: c.SecretAccessKey!, sessionToken: c.SessionToken! };
}

const s3As = (credentials: Keys) =>
  new S3Client({ region: e().region, endpoint: e().s3, forcePathStyle: true, credentials });

describe('the vendor site in its own account', () => {
  const software = `xacct-${Date.now().toString(36)}`;
  const manifest = `${software}/manifest.json`;
  const artifact = `${software}/1/full.tar.gz`;
  const bucket = () => e().outputs.VendorSiteStack!.ReleaseBucketName!;

  beforeAll(async () => {
    const vendor = s3As(e().credentials);
    await vendor.send(new PutObjectCommand({ Bucket: bucket(), Key: manifest, Body: '{}' }));
    await vendor.send(new PutObjectCommand({ Bucket: bucket(), Key: artifact, Body: 'bytes' }));
    vendor.destroy();
  });

  it("runs the vendor stack in the vendor's account, named by the config's bucket names", () => {
    expect(e().accounts).toEqual({
      VendorSiteStack: VENDOR_LOCAL_ACCOUNT,
      UpdateManagementStack: LOCAL_ACCOUNT,
    });
    expect(bucket()).toBe(`upman-dev-releases-${VENDOR_LOCAL_ACCOUNT}-us-east-1`);
    expect(roleOf('Conclude').split(':')[4]).toBe(LOCAL_ACCOUNT);
  });

  it("the organisation's roles may do across accounts exactly what the bucket policy grants them", async () => {
    const issuer = s3As(await assume(roleOf('Conclude')));
    const reader = s3As(await assume(roleOf('RegistryApiAnnouncements')));
    const unnamed = s3As(await assume(roleOf('WhoAmI')));
    // Granted by both the role's policy and the vendor's bucket policy: allowed.
    await expect(
      issuer.send(new GetObjectCommand({ Bucket: bucket(), Key: artifact })),
    ).resolves.toBeDefined();
    await expect(
      issuer.send(new ListObjectsV2Command({ Bucket: bucket(), Prefix: manifest, MaxKeys: 1 })),
    ).resolves.toMatchObject({ KeyCount: 1 });
    await expect(
      reader.send(new GetObjectCommand({ Bucket: bucket(), Key: manifest })),
    ).resolves.toBeDefined();
    // Not granted: refused as S3 refuses, whoever asks.
    const denied = { name: 'AccessDenied', $metadata: { httpStatusCode: 403 } };
    await expect(
      reader.send(new GetObjectCommand({ Bucket: bucket(), Key: artifact })),
    ).rejects.toMatchObject(denied);
    await expect(
      unnamed.send(new GetObjectCommand({ Bucket: bucket(), Key: manifest })),
    ).rejects.toMatchObject(denied);
    await expect(
      issuer.send(new ListObjectsV2Command({ Bucket: bucket(), Prefix: software })),
    ).rejects.toMatchObject(denied);
    for (const s3 of [issuer, reader]) {
      await expect(
        s3.send(new PutObjectCommand({ Bucket: bucket(), Key: `${software}/9/full.tar.gz`, Body: 'x' })),
      ).rejects.toMatchObject(denied);
    }
    for (const s3 of [issuer, reader, unnamed]) s3.destroy();
  });

  it("the vendor's own role is in the vendor's account and acts on its own bucket", async () => {
    const vendorRole = roleOf('CustomS3AutoDeleteObjects');
    expect(vendorRole.split(':')[4]).toBe(VENDOR_LOCAL_ACCOUNT);
    const keys = await assume(vendorRole);
    expect(await aws(['sts', 'get-caller-identity'], keys)).toMatchObject({ Account: VENDOR_LOCAL_ACCOUNT });
    const s3 = s3As(keys);
    // Its bucket policy lets it list and empty the bucket (stack deletion), not read releases.
    await expect(
      s3.send(new ListObjectsV2Command({ Bucket: bucket(), Prefix: software })),
    ).resolves.toMatchObject({
      KeyCount: 2,
    });
    await expect(s3.send(new GetObjectCommand({ Bucket: bucket(), Key: artifact }))).rejects.toMatchObject({
      name: 'AccessDenied',
    });
    s3.destroy();
  });
});

describe("a function's session, as it ends", () => {
  interface StoredSession {
    accessKeyId: string;
    secretAccessKey: string;
    sessionToken: string;
    expiration: string;
    sessionName: string;
  }
  /** The newest session the local STS issued to a function (sessions are named after it). */
  function sessionOf(functionName: string): StoredSession {
    const sessions = JSON.parse(readFileSync(join(dataDir, 'sts-sessions.json'), 'utf8')) as StoredSession[];
    const mine = sessions
      .filter((s) => s.sessionName === functionName)
      .sort((a, b) => Date.parse(b.expiration) - Date.parse(a.expiration));
    if (!mine[0]) throw new Error(`no session of ${functionName}`);
    return mine[0];
  }
  const keysOf = (s: StoredSession): Keys => ({
    accessKeyId: s.accessKeyId,
    secretAccessKey: s.secretAccessKey,
    sessionToken: s.sessionToken,
  });

  it('refuses its expired keys with ExpiredToken, and its next invocation runs with fresh ones', async () => {
    const d = new WorkflowDriver(e(), dataDir);
    const fn = Object.keys(e().roles).find((name) => name.includes('WhoAmI'))!;
    const getItem = (credentials: Keys) => {
      const ddb = new DynamoDBClient({ region: e().region, endpoint: e().dynamodb, credentials });
      return ddb
        .send(new GetItemCommand({ TableName: e().tables.registry, Key: { pk: { S: 'x' }, sk: { S: 'y' } } }))
        .finally(() => ddb.destroy());
    };
    try {
      expect((await d.api('GET', '/me', { user: 'session-watcher' })).status).toBe(200);
      const first = sessionOf(fn);
      await expect(getItem(keysOf(first))).resolves.toBeDefined();

      const left = Date.parse(first.expiration) - Date.now();
      expect(left).toBeLessThanOrEqual(SESSION_SECONDS * 1000);
      await sleep(Math.max(0, left) + 200);
      await expect(getItem(keysOf(first))).rejects.toMatchObject({
        name: 'ExpiredTokenException',
        $metadata: { httpStatusCode: 400 },
      });
      const s3 = s3As(keysOf(first));
      await expect(
        s3.send(new ListObjectsV2Command({ Bucket: e().outputs.VendorSiteStack!.ReleaseBucketName! })),
      ).rejects.toMatchObject({ name: 'ExpiredToken', $metadata: { httpStatusCode: 400 } });
      s3.destroy();

      expect((await d.api('GET', '/me', { user: 'session-watcher' })).status).toBe(200);
      const second = sessionOf(fn);
      expect(second.accessKeyId).not.toBe(first.accessKeyId);
      expect(Date.parse(second.expiration)).toBeGreaterThan(Date.now());
      await expect(getItem(keysOf(second))).resolves.toBeDefined();
    } finally {
      d.destroy();
    }
  });
});
