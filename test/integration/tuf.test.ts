// Signed release metadata in the local cloud: the vendor initialises TUF with keys in the local
// KMS (the same code that signs with AWS KMS), publishes with the upman CLI, the key issuer hands
// out presigned URLs for the metadata beside the artifact's, and the agent's check walks them
// through the local S3's SigV4 verifier. A tampered timestamp in the bucket is refused.
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { checkKeyAgainstMetadata, pinVendorRoot } from '../../agent/tuf.js';
import { mintToken } from '../../cdk/local/issuer/index.js';
import type { IssuedKey } from '../../lib/ports/key-issuer.js';
import { writeTree } from '../fixtures/tree.js';

const exec = promisify(execFile);
const endpoints = inject('endpoints');
const dataDir = inject('dataDir');
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

async function grantKey(): Promise<IssuedKey> {
  Object.assign(process.env, {
    TABLE_NAME: orgOut.RegistryTableName!,
    RELEASE_BUCKET_NAME: releaseBucket,
    KEY_TTL_SECONDS: '3600',
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
  });
}

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
  it('initialises TUF with KMS keys and signs a publish', async () => {
    const init = await upman('tuf', 'init', '--kms', '--keys', keys);
    expect(init.stdout).toMatch(/initialised tuf\//);
    const kmsKeys = JSON.parse(readFileSync(join(keys, 'kms-keys.json'), 'utf8')) as Record<string, string>;
    expect(Object.keys(kmsKeys).sort()).toEqual(['root', 'snapshot', 'targets', 'timestamp']);
    const dir = writeTree(join(work, 'r1'), { 'bin/app.js': 'app 1\n', README: 'r1\n' });
    const published = await upman(
      'publish',
      '--software',
      software,
      '--version',
      '1.0',
      '--revision',
      '1',
      '--no-catalog',
      '--tuf-keys',
      keys,
      dir,
    );
    // Progress goes to stderr; stdout carries the result (the artifacts).
    expect(published.stderr).toMatch(/signed targets, snapshot and timestamp for 1 artifacts/);
  }, 180_000);

  it('issues presigned metadata URLs with the key, and the agent verifies the artifact against them', async () => {
    key = await grantKey();
    expect(key.artifactKey).toBe(`${software}/1/full.tar.gz`);
    expect(Object.keys(key.metadata ?? {})).toEqual(
      expect.arrayContaining(['timestamp.json', 'snapshot.json', 'targets.json', '2.root.json']),
    );
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

  it('follows a root rotation done with the CLI', async () => {
    const rotated = await upman('tuf', 'rotate-root', '--keys', keys, '--new-keys', join(work, 'keys-2'));
    expect(rotated.stdout).toMatch(/root version 2/);
    // rotateRoot re-signs targets, snapshot and timestamp with the new keys: the client walks
    // root 1 → 2 (signed by both) and accepts the artifact again.
    await expect(checkKeyAgainstMetadata(installRoot, key)).resolves.toBe('verified');
    const trusted = JSON.parse(
      readFileSync(join(installRoot, '.upman', 'trust', 'tuf', 'root.json'), 'utf8'),
    );
    expect(trusted.signed.version).toBe(2);
  }, 120_000);
});
