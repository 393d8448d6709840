// The download path end to end in the local cloud (issue 5): publish two revisions with the
// real CLI, grant (S508, through the same KeyIssuer the workflow's Conclude function calls),
// fresh keys over the API, presigned downloads checked by the local S3's SigV4 verifier, delta
// and full installs compared file by file, refusals, and S604/S605 exactly once from the agent's
// confirmation; the S3 access logs read by the scheduled processor are audit evidence only.
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { DeleteMessageCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { downloadArtifact } from '../../agent/download.js';
import { KeyExpired } from '../../agent/errors.js';
import { mintToken } from '../../cdk/local/issuer/index.js';
import { runPublish } from '../../cli/vendor/publish.js';
import { S3Releases } from '../../lib/adapters/s3/releases.js';
import type { IssuedKey } from '../../lib/ports/key-issuer.js';
import { applyDelta, unpackFull, verifyTree } from '../../lib/vendor/apply.js';
import type { Manifest } from '../../lib/vendor/manifest.js';
import { writeTree } from '../fixtures/tree.js';

const exec = promisify(execFile);
const endpoints = inject('endpoints');
const dataDir = inject('dataDir');
const run = randomUUID().slice(0, 6);
const software = `vt-${run}`;
const work = mkdtempSync(join(tmpdir(), 'vendor-it-'));
const vendorOut = endpoints.outputs.VendorSiteStack!;
const orgOut = endpoints.outputs.UpdateManagementStack!;
const releaseBucket = vendorOut.ReleaseBucketName!;

const token = (user: string, groups: string[]) =>
  mintToken({ dataDir, issuer: endpoints.jwtIssuer, audience: endpoints.audience, user, groups });
let admin: string;
let alice: string;
let bob: string;

async function api(method: string, path: string, bearer: string, body?: unknown) {
  const res = await fetch(`${endpoints.api}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${bearer}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : {}) as Record<string, any> };
}

const tree = (name: string, files: Record<string, string>) => writeTree(join(work, name), files);
const lines = (seed: string, n = 3000) => Array.from({ length: n }, (_, i) => `${seed} ${i}\n`).join('');
const R1 = { 'bin/app.js': lines('app v1'), 'lib/a.js': lines('a'), 'lib/gone.js': 'old\n', README: 'v1\n' };
const R2 = { 'bin/app.js': lines('app v2'), 'lib/a.js': lines('a'), 'lib/new/b.js': 'b\n', README: 'v2\n' };

/** Byte-for-byte comparison of two trees (the target release against what was installed). */
function expectSameFiles(actualDir: string, expected: Record<string, string>) {
  for (const [path, content] of Object.entries(expected)) {
    expect(readFileSync(join(actualDir, path)).equals(Buffer.from(content)), path).toBe(true);
  }
}

const env = {
  TABLE_NAME: orgOut.RegistryTableName!,
  RELEASE_BUCKET_NAME: releaseBucket,
  ACCESS_LOG_BUCKET_NAME: vendorOut.AccessLogBucketName!,
  ACCESS_LOG_PREFIX: 'releases/',
  DOWNLOAD_NOTICE_QUEUE_URL: orgOut.DownloadNoticeQueueUrl!,
  KEY_TTL_SECONDS: '900',
  AWS_REGION: endpoints.region,
  AWS_ACCESS_KEY_ID: endpoints.credentials.accessKeyId,
  AWS_SECRET_ACCESS_KEY: endpoints.credentials.secretAccessKey,
  AWS_ENDPOINT_URL_S3: endpoints.s3,
  AWS_ENDPOINT_URL_DYNAMODB: endpoints.dynamodb,
  AWS_ENDPOINT_URL_SQS: endpoints.sqs,
};

/** The functions' environment in this process, so their modules run here unchanged. */
async function inFunctionEnv<T>(fn: () => Promise<T>): Promise<T> {
  Object.assign(process.env, env);
  return fn();
}

async function grant(requestId: string, clientId: string) {
  // S508 exactly as the workflow's Conclude function does it (functions/workflow/key-issuer.ts).
  const { keyIssuerFromEnvironment } = await import('../../lib/adapters/dynamodb/grants-env.js');
  return inFunctionEnv(() =>
    keyIssuerFromEnvironment().grant({ requestId, clientId, user: 'alice', software }),
  );
}

async function runProcessor() {
  const { handler } = await import('../../functions/schedule/download-logs.js');
  return inFunctionEnv(() => handler());
}

const s3 = new S3Client({
  endpoint: endpoints.s3,
  region: endpoints.region,
  credentials: endpoints.credentials,
  forcePathStyle: true,
});
const raw = new DynamoDBClient({
  endpoint: endpoints.dynamodb,
  region: endpoints.region,
  credentials: endpoints.credentials,
});
const db = DynamoDBDocumentClient.from(raw);
const sqs = new SQSClient({
  endpoint: endpoints.sqs,
  region: endpoints.region,
  credentials: endpoints.credentials,
});

async function notices(grantId: string): Promise<number> {
  let count = 0;
  for (let i = 0; i < 3; i++) {
    const out = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: env.DOWNLOAD_NOTICE_QUEUE_URL,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 1,
      }),
    );
    for (const m of out.Messages ?? []) {
      if ((JSON.parse(m.Body ?? '{}') as { grantId?: string }).grantId === grantId) {
        count++;
        await sqs.send(
          new DeleteMessageCommand({
            QueueUrl: env.DOWNLOAD_NOTICE_QUEUE_URL,
            ReceiptHandle: m.ReceiptHandle!,
          }),
        );
      }
    }
  }
  return count;
}

async function downloadHistory(clientId: string) {
  const res = await api('GET', `/clients/${clientId}/history`, admin);
  expect(res.status).toBe(200);
  return (res.body.items as Array<Record<string, unknown>>).filter(
    (h) => h.software === software && h.source === 'download',
  );
}

let manifest: Manifest;
let grantA: string;

beforeAll(async () => {
  [admin, alice, bob] = await Promise.all([
    token('vendor-admin', ['admins']),
    token('alice', ['employees']),
    token('bob', ['employees']),
  ]);
  const catalog = await api('PUT', `/software/${software}`, admin, {
    vendor: 'Example Vendor',
    latestVersion: '0.1',
    latestRevision: 0,
    licencePrice: 10,
    licenceModel: 'per-user',
  });
  expect(catalog.status, JSON.stringify(catalog.body)).toBeLessThan(300);
  const person = await api('PUT', '/people/alice', admin, {});
  expect(person.status, JSON.stringify(person.body)).toBeLessThan(300);
  for (const clientId of [`pc-a-${run}`, `pc-b-${run}`]) {
    const c = await api('PUT', `/clients/${clientId}`, admin, {
      name: clientId,
      ipAddress: '192.0.2.10',
      osRegistrationId: `os-${clientId}`,
      department: 'Sales',
      users: ['alice'],
    });
    expect(c.status, JSON.stringify(c.body)).toBeLessThan(300);
  }
}, 120_000);

afterAll(() => {
  rmSync(work, { recursive: true, force: true });
  s3.destroy();
  sqs.destroy();
  raw.destroy();
});

describe('publishing', () => {
  it('publishes two revisions with the upman CLI and updates the catalog', async () => {
    const args = (v: string, r: string, dir: string) => [
      'bin/upman.mjs',
      'vendor',
      'publish',
      '--software',
      software,
      '--version',
      v,
      '--revision',
      r,
      '--endpoints',
      join(dataDir, 'endpoints.json'),
      '--token',
      admin,
      dir,
    ];
    const first = await exec('node', args('1.0', '1', tree('r1', R1)));
    expect(first.stdout).toContain(`${software}/1/full.tar.gz`);
    const second = await exec('node', args('2.0', '2', tree('r2', R2)));
    expect(second.stdout).toContain(`${software}/2/delta-from-1.zdelta`);

    manifest = (await new S3Releases(s3, releaseBucket).readManifest(software))!;
    expect(manifest.releases.map((r) => [r.version, r.revision])).toEqual([
      ['1.0', 1],
      ['2.0', 2],
    ]);
    expect(manifest.releases[1]!.artifacts.map((a) => a.kind)).toEqual(['full', 'delta']);
    const entry = await api('GET', `/software/${software}`, alice);
    expect(entry.body).toMatchObject({ latestVersion: '2.0', latestRevision: 2 });
  }, 120_000);

  it('refuses a second publish of the same version and leaves the manifest as it was', async () => {
    const err = await exec('node', [
      'bin/upman.mjs',
      'vendor',
      'publish',
      '--software',
      software,
      '--version',
      '2.0',
      '--revision',
      '3',
      '--endpoints',
      join(dataDir, 'endpoints.json'),
      '--no-catalog',
      join(work, 'r2'),
    ]).catch((e: { code: number; stderr: string }) => e);
    expect((err as { code: number }).code).toBe(5); // conflict: that version exists
    expect((err as { stderr: string }).stderr).toMatch(/2\.0 is already published/);
    const corrupt = join(work, 'corrupt.tar.gz');
    writeFileSync(corrupt, 'not gzip at all');
    await expect(
      runPublish(corrupt, {
        software,
        version: '3.0',
        revision: '3',
        catalog: false,
        endpoints: join(dataDir, 'endpoints.json'),
        quiet: true,
      }),
    ).rejects.toThrow(/not a readable \.tar\.gz/);
    const after = (await new S3Releases(s3, releaseBucket).readManifest(software))!;
    expect(after.releases).toHaveLength(2);
  }, 60_000);
});

describe('keys and downloads', () => {
  const clientA = `pc-a-${run}`;
  const requestA = `req-a-${run}`;

  it('grants on approval for the latest release, and hands out no key there', async () => {
    const inv = await api('PUT', `/clients/${clientA}/software`, admin, {
      items: [{ software, version: '1.0', revision: 1, installedAt: '2025-01-01T00:00:00Z', user: 'alice' }],
    });
    expect(inv.status, JSON.stringify(inv.body)).toBe(200);
    const result = await grant(requestA, clientA);
    grantA = result.grantId;
    expect(result).toEqual({ grantId: grantA, release: { version: '2.0', revision: 2 } });
  });

  it('applies the delta key onto revision 1 and yields revision 2 file by file', async () => {
    const res = await api('POST', `/update-requests/${requestA}/key`, alice, {
      clientId: clientA,
      currentRevision: 1,
    });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const key = res.body as IssuedKey;
    expect(key).toMatchObject({ grantId: grantA, kind: 'delta', fromRevision: 1, toRevision: 2 });
    expect(key.url).toContain('x-upman-grant=');
    const { file } = await downloadArtifact({
      url: key.url,
      size: key.size,
      sha256: key.sha256,
      dir: join(work, 'dl-delta'),
    });
    const installed = join(work, 'installed-a');
    cpSync(join(work, 'r1'), installed, { recursive: true });
    await applyDelta(file, installed);
    expect(await verifyTree(installed, manifest.releases[1]!.files)).toEqual([]);
    expectSameFiles(installed, R2);
  });

  it('answers the full package when no delta fits, and it unpacks to revision 2', async () => {
    const res = await api('POST', `/update-requests/${requestA}/key`, alice, {
      clientId: clientA,
      currentRevision: null,
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ kind: 'full', fromRevision: null, toRevision: 2 });
    const { file } = await downloadArtifact({
      url: res.body.url,
      size: res.body.size,
      sha256: res.body.sha256,
      dir: join(work, 'dl-full'),
    });
    const fresh = join(work, 'installed-full');
    mkdirSync(fresh);
    await unpackFull(file, fresh);
    expect(await verifyTree(fresh, manifest.releases[1]!.files)).toEqual([]);
    expectSameFiles(fresh, R2);
  });

  it("refuses another user's request and another client's grant (403)", async () => {
    const other = await api('POST', `/update-requests/${requestA}/key`, bob, {
      clientId: clientA,
      currentRevision: 1,
    });
    expect(other.status).toBe(403);
    const wrongClient = await api('POST', `/update-requests/${requestA}/key`, alice, {
      clientId: `pc-b-${run}`,
      currentRevision: 1,
    });
    expect(wrongClient.status).toBe(403);
    expect(wrongClient.body.message).toMatch(/another client/);
    const badInput = await api('POST', `/update-requests/${requestA}/key`, alice, {
      clientId: clientA,
      currentRevision: 'one',
    });
    expect(badInput).toMatchObject({ status: 400, body: { field: 'currentRevision' } });
  });

  it('refuses an expired and a tampered key at S3, with an S606 message that says how to get a new one', async () => {
    const res = await api('POST', `/update-requests/${requestA}/key`, alice, {
      clientId: clientA,
      currentRevision: 1,
    });
    const key = res.body as IssuedKey;
    const tampered = key.url.replace(`x-upman-grant=${grantA}`, 'x-upman-grant=g-someone-else');
    expect(tampered).not.toBe(key.url);
    const refusedTampered = await downloadArtifact({
      url: tampered,
      size: key.size,
      sha256: key.sha256,
      dir: join(work, 'dl-t'),
      requestId: requestA,
    }).catch((e) => e);
    expect(refusedTampered).toBeInstanceOf(KeyExpired);
    expect(String(refusedTampered.message)).toMatch(/SignatureDoesNotMatch[\s\S]*upman download req-a/);

    // A key with a 1-second life (the same signer the routes use), used after it ran out.
    const short = await new S3Releases(s3, releaseBucket).presignGet(
      manifest.releases[1]!.artifacts[0]!.key,
      {
        grantId: grantA,
        expiresInSeconds: 1,
      },
    );
    await new Promise((r) => setTimeout(r, 2100));
    const refusedExpired = await downloadArtifact({
      url: short,
      size: key.size,
      sha256: key.sha256,
      dir: join(work, 'dl-e'),
      requestId: requestA,
    }).catch((e) => e);
    expect(refusedExpired).toBeInstanceOf(KeyExpired);
    expect(String(refusedExpired.message)).toMatch(/expired[\s\S]*fresh key/);
  });

  it('answers 410 once the grant is revoked', async () => {
    const requestR = `req-r-${run}`;
    await grant(requestR, clientA);
    const before = await api('POST', `/update-requests/${requestR}/key`, alice, { clientId: clientA });
    expect(before.status).toBe(200);
    expect((await api('DELETE', `/grants/${before.body.grantId}`, alice)).status).toBe(403);
    expect((await api('DELETE', `/grants/${before.body.grantId}`, admin)).status).toBe(200);
    const after = await api('POST', `/update-requests/${requestR}/key`, alice, { clientId: clientA });
    expect(after.status).toBe(410);
    expect(after.body.message).toMatch(/revoked/);
  });
});

describe('S604/S605 exactly once', () => {
  it('records the confirmed download once, even when confirmed twice and downloaded again', async () => {
    const full = manifest.releases[1]!.artifacts.find((a) => a.kind === 'full')!;
    const wrong = await api('POST', `/grants/${grantA}/confirmation`, alice, { sha256: 'f'.repeat(64) });
    expect(wrong).toMatchObject({ status: 400, body: { field: 'sha256' } });
    const first = await api('POST', `/grants/${grantA}/confirmation`, alice, { sha256: full.sha256 });
    expect(first.status, JSON.stringify(first.body)).toBe(200);
    expect(first.body.status).toBe('recorded');
    const second = await api('POST', `/grants/${grantA}/confirmation`, alice, { sha256: full.sha256 });
    expect(second.body.status).toBe('already-recorded');
    expect((await api('POST', `/grants/${grantA}/confirmation`, bob, { sha256: full.sha256 })).status).toBe(
      403,
    );

    // The access logs of all those downloads reach the processor too: nothing more is written.
    await new Promise((r) => setTimeout(r, 1500));
    await runProcessor();
    const history = await downloadHistory(`pc-a-${run}`);
    expect(history).toHaveLength(1);
    expect(history[0]).toMatchObject({ version: '2.0', revision: 2, previousRevision: 1, user: 'alice' });
    const inventory = await api('GET', `/clients/pc-a-${run}/software`, admin);
    expect(
      (inventory.body.items as Array<Record<string, unknown>>).find((i) => i.software === software),
    ).toMatchObject({
      version: '2.0',
      revision: 2,
    });
    expect(await notices(grantA)).toBe(1);
  }, 60_000);

  it('keeps the S3 access logs of a whole download as audit evidence; only the confirmation completes', async () => {
    const clientB = `pc-b-${run}`;
    const requestB = `req-b-${run}`;
    const { grantId } = await grant(requestB, clientB);
    const res = await api('POST', `/update-requests/${requestB}/key`, alice, { clientId: clientB });
    expect(res.body.kind).toBe('full');
    // The whole artifact fetched with the key, as a mail scanner or an aborted client would.
    const got = await fetch(res.body.url);
    expect(got.status).toBe(200);
    expect(Buffer.from(await got.arrayBuffer()).length).toBe(res.body.size);
    // S3 delivers logs late; the processor runs on a schedule and picks up what has arrived.
    const evidence = async () =>
      (
        await db.send(
          new QueryCommand({
            TableName: env.TABLE_NAME,
            KeyConditionExpression: 'pk = :pk AND begins_with(sk, :log)',
            ExpressionAttributeValues: { ':pk': `GRANT#${grantId}`, ':log': 'LOG#' },
          }),
        )
      ).Items ?? [];
    for (let i = 0; i < 90 && (await evidence()).length === 0; i++) {
      await new Promise((r) => setTimeout(r, 1000));
      await runProcessor();
    }
    expect(await evidence()).toEqual([
      expect.objectContaining({
        grantId,
        artifactKey: res.body.artifactKey,
        bytes: res.body.size,
        whole: true,
      }),
    ]);
    expect(await downloadHistory(clientB)).toEqual([]);
    expect(await notices(grantId)).toBe(0);
    const inventory = await api('GET', `/clients/${clientB}/software`, admin);
    expect((inventory.body.items as Array<{ software: string }>).some((i) => i.software === software)).toBe(
      false,
    );

    const confirm = await api('POST', `/grants/${grantId}/confirmation`, alice, { sha256: res.body.sha256 });
    expect(confirm.body).toMatchObject({ status: 'recorded', evidence: 'confirmation' });
    const history = await downloadHistory(clientB);
    expect(history).toHaveLength(1);
    expect(history[0]).toMatchObject({ change: 'installed', version: '2.0', revision: 2 });
    expect(await notices(grantId)).toBe(1);
  }, 120_000);
});
