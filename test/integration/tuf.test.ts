// Signed release metadata in the local cloud: the vendor initialises TUF with keys in the local
// KMS (the same code that signs with AWS KMS; snapshot and timestamp are VendorSiteStack's own
// keys), publishes with the upman CLI, the key issuer hands out presigned URLs for the metadata
// beside the artifact's, and the agent's check walks them through the local S3's SigV4
// verifier. A tampered timestamp in the bucket is refused; two publishes of different software
// at once both land in targets.json; the hourly schedule's function renews a timestamp about to
// expire, signing with the stack's KMS key under its own role.
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { KMSClient } from '@aws-sdk/client-kms';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { checkKeyAgainstMetadata, pinVendorRoot } from '../../agent/tuf.js';
import { mintToken } from '../../cdk/local/issuer/index.js';
import { S3Releases } from '../../lib/adapters/s3/releases.js';
import type { IssuedKey } from '../../lib/ports/key-issuer.js';
import { refreshTimestamp } from '../../lib/vendor/tuf.js';
import { kmsSigner } from '../../lib/vendor/tuf-signers.js';
import { writeTree } from '../fixtures/tree.js';

const exec = promisify(execFile);
const endpoints = inject('endpoints');
const dataDir = inject('dataDir');
const control = inject('control');
const run = randomUUID().slice(0, 6);
const software = `tuf-${run}`;
const work = mkdtempSync(join(tmpdir(), 'tuf-it-'));
const keys = join(work, 'keys');
const vendorOut = endpoints.outputs.VendorSiteStack!;
const orgOut = endpoints.outputs.UpdateManagementStack!;
const releaseBucket = vendorOut.ReleaseBucketName!;
const endpointsFile = join(dataDir, 'endpoints.json');

const s3 = new S3Client({
  endpoint: endpoints.s3,
  region: endpoints.region,
  credentials: endpoints.credentials,
  forcePathStyle: true,
});

const upman = (...args: string[]) =>
  exec('node', ['bin/upman.mjs', 'vendor', ...args, '--endpoints', endpointsFile]);

/** Revision 1 of `name`, its artifacts signed into the site's targets. */
const publishSigned = (name: string, dir: string) =>
  upman(
    'publish',
    '--software',
    name,
    '--version',
    '1.0',
    '--revision',
    '1',
    '--no-catalog',
    '--tuf-keys',
    keys,
    dir,
  );

async function grantKey(trustedRootVersion?: number): Promise<IssuedKey> {
  Object.assign(process.env, {
    TABLE_NAME: orgOut.RegistryTableName!,
    RELEASE_BUCKET_NAME: releaseBucket,
    KEY_TTL_SECONDS: '900',
    AWS_REGION: endpoints.region,
    AWS_ACCESS_KEY_ID: endpoints.credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: endpoints.credentials.secretAccessKey,
    AWS_ENDPOINT_URL_S3: endpoints.s3,
    AWS_ENDPOINT_URL_DYNAMODB: endpoints.dynamodb,
  });
  const { grantPorts, keyIssuerFromEnvironment } = await import('../../lib/adapters/dynamodb/grants-env.js');
  const { freshKey } = await import('../../lib/vendor/grants.js');
  await keyIssuerFromEnvironment().grant({
    requestId: `req-${run}`,
    clientId: `pc-${run}`,
    user: 'alice',
    software,
  });
  // The key as POST /update-requests/{id}/key hands it to alice (S508 issues none).
  return freshKey(grantPorts(), { user: 'alice', groups: ['employees'] }, `req-${run}`, {
    clientId: `pc-${run}`,
    currentRevision: null,
    ...(trustedRootVersion ? { trustedRootVersion } : {}),
  });
}

// biome-ignore lint/suspicious/noExplicitAny: the signed part of a stored metadata file, as JSON
const signedOf = async (name: string): Promise<any> =>
  JSON.parse(
    await (
      await s3.send(new GetObjectCommand({ Bucket: releaseBucket, Key: `tuf/${name}` }))
    ).Body!.transformToString(),
  ).signed;

let key: IssuedKey;
const installRoot = join(work, 'pc');

beforeAll(async () => {
  const admin = await mintToken({
    dataDir,
    issuer: endpoints.jwtIssuer,
    audience: endpoints.audience,
    user: 'tuf-admin',
    groups: ['admins'],
  });
  const res = await fetch(`${endpoints.api}/software/${software}`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      vendor: 'V',
      latestVersion: '0.1',
      latestRevision: 0,
      licencePrice: 1,
      licenceModel: 'per-user',
    }),
  });
  expect(res.status).toBeLessThan(300);
  mkdirSync(installRoot);
}, 120_000);

afterAll(() => {
  rmSync(work, { recursive: true, force: true });
  s3.destroy();
});

describe('signed release metadata in the local cloud', () => {
  it("initialises TUF with KMS keys, the site's own for snapshot and timestamp, and signs a publish", async () => {
    const init = await upman('tuf', 'init', '--kms', '--site-keys', '--keys', keys);
    expect(init.stdout).toMatch(/initialised tuf\//);
    const kmsKeys = JSON.parse(readFileSync(join(keys, 'kms-keys.json'), 'utf8')) as Record<string, string>;
    expect(Object.keys(kmsKeys).sort()).toEqual(['root', 'snapshot', 'targets', 'timestamp']);
    expect(kmsKeys.snapshot).toBe(vendorOut.TufSnapshotKeyArn);
    expect(kmsKeys.timestamp).toBe(vendorOut.TufTimestampKeyArn);
    const published = await publishSigned(
      software,
      writeTree(join(work, 'r1'), { 'bin/app.js': 'app 1\n', README: 'r1\n' }),
    );
    // Progress goes to stderr; stdout carries the result (the artifacts).
    expect(published.stderr).toMatch(/signed targets, snapshot and timestamp for 1 artifacts/);
  }, 180_000);

  it('issues presigned metadata URLs with the key, and the agent verifies the artifact against them', async () => {
    key = await grantKey();
    expect(key.artifactKey).toBe(`${software}/1/full.tar.gz`);
    // Root version 1 is the only one: no newer root to offer.
    expect(Object.keys(key.metadata ?? {}).sort()).toEqual([
      'snapshot.json',
      'targets.json',
      'timestamp.json',
    ]);
    expect(key.metadata!['timestamp.json']).toContain('X-Amz-Signature=');
    await pinVendorRoot(installRoot, join(keys, 'root.json'));
    await expect(checkKeyAgainstMetadata(installRoot, key)).resolves.toBe('verified');
  }, 60_000);

  it('refuses a timestamp changed in the bucket, naming the failed signature', async () => {
    const Key = 'tuf/timestamp.json';
    const original = await (
      await s3.send(new GetObjectCommand({ Bucket: releaseBucket, Key }))
    ).Body!.transformToString();
    const forged = JSON.parse(original);
    forged.signed.version += 100;
    await s3.send(new PutObjectCommand({ Bucket: releaseBucket, Key, Body: JSON.stringify(forged) }));
    try {
      await expect(checkKeyAgainstMetadata(installRoot, key)).rejects.toMatchObject({
        code: 'metadata-refused',
        message: expect.stringMatching(/S606.*bad or missing signature.*timestamp/),
      });
    } finally {
      await s3.send(new PutObjectCommand({ Bucket: releaseBucket, Key, Body: original }));
    }
  }, 60_000);

  it('signs two publishes of different software at once into one targets.json, versions going up', async () => {
    const before = await signedOf('targets.json');
    const snapshotBefore = await signedOf('snapshot.json');
    const publish = (name: string) =>
      publishSigned(name, writeTree(join(work, name), { 'app.js': `${name}\n` }));
    // Two processes, as two vendor engineers would run them.
    await Promise.all([publish(`${software}-a`), publish(`${software}-b`)]);
    const after = await signedOf('targets.json');
    expect(Object.keys(after.targets)).toEqual(
      expect.arrayContaining([
        `${software}/1/full.tar.gz`,
        `${software}-a/1/full.tar.gz`,
        `${software}-b/1/full.tar.gz`,
      ]),
    );
    expect(after.version).toBe(before.version + 2);
    const snapshot = await signedOf('snapshot.json');
    expect(snapshot.version).toBeGreaterThan(snapshotBefore.version);
    expect(snapshot.meta['targets.json'].version).toBe(after.version);
    expect((await signedOf('timestamp.json')).meta['snapshot.json'].version).toBe(snapshot.version);
  }, 180_000);

  it('renews a timestamp about to expire when the hourly schedule fires, and the agent then verifies', async () => {
    const schedules = (await (await fetch(`${control}/schedules`)).json()) as Array<{
      id: string;
      expression: string;
    }>;
    const schedule = schedules.find((sc) => sc.id.startsWith('ReleaseMetadataSchedule'));
    expect(schedule?.expression).toBe('rate(1 hour)');
    // The last refresh was 22 hours ago: two hours of the timestamp's day are left.
    const kms = new KMSClient({
      endpoint: endpoints.kms,
      region: endpoints.region,
      credentials: endpoints.credentials,
    });
    await refreshTimestamp(
      new S3Releases(s3, releaseBucket),
      {
        snapshot: await kmsSigner(kms, vendorOut.TufSnapshotKeyArn!),
        timestamp: await kmsSigner(kms, vendorOut.TufTimestampKeyArn!),
      },
      new Date(Date.now() - 22 * 3600 * 1000),
    );
    kms.destroy();
    const old = await signedOf('timestamp.json');
    expect(Date.parse(old.expires) - Date.now()).toBeLessThan(3 * 3600 * 1000);
    const fired = await fetch(`${control}/schedules/${schedule!.id}/fire`, { method: 'POST' });
    const result = (await fired.json()) as { status: string; renewed: string[]; timestamp: number };
    expect(fired.status, JSON.stringify(result)).toBe(200);
    // Only the timestamp was due: the snapshot (7 days) still had more than half its life.
    expect(result).toMatchObject({ status: 'checked', renewed: ['timestamp'], timestamp: old.version + 1 });
    const renewed = await signedOf('timestamp.json');
    expect(renewed.version).toBe(old.version + 1);
    expect(Date.parse(renewed.expires) - Date.now()).toBeGreaterThan(23 * 3600 * 1000);
    await expect(checkKeyAgainstMetadata(installRoot, await grantKey())).resolves.toBe('verified');
    // Fired again at once, nothing is due: nothing is signed.
    const again = (await (
      await fetch(`${control}/schedules/${schedule!.id}/fire`, { method: 'POST' })
    ).json()) as {
      renewed: string[];
    };
    expect(again.renewed).toEqual([]);
  }, 120_000);

  it('follows a root rotation done with the CLI', async () => {
    const rotated = await upman(
      'tuf',
      'rotate-root',
      '--keys',
      keys,
      '--new-keys',
      join(work, 'keys-2'),
      '--site-keys',
    );
    expect(rotated.stdout).toMatch(/root version 2/);
    // rotateRoot re-signs targets, snapshot and timestamp with the new keys: the client walks
    // root 1 → 2 (signed by both), offered with a fresh key for a client that trusts root 1.
    key = await grantKey(1);
    expect(Object.keys(key.metadata!)).toContain('2.root.json');
    await expect(checkKeyAgainstMetadata(installRoot, key)).resolves.toBe('verified');
    const trusted = JSON.parse(
      readFileSync(join(installRoot, '.upman', 'trust', 'tuf', 'root.json'), 'utf8'),
    );
    expect(trusted.signed.version).toBe(2);
  }, 120_000);
});
