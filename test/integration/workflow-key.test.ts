// The seam between the approval workflow and the vendor site (S508): with a release published,
// the employee's approval mail carries a key that downloads. Publish two revisions, file a
// request for a client at the older one, answer the budget, approve through the mailed link,
// then read the S508 mail from the local SES store and fetch its key.
import { createHash, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient, GetCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { runPublish } from '../../cli/vendor/publish.js';
import { S3Releases } from '../../lib/adapters/s3/releases.js';
import { GRANT_SK, grantOfRequestPk } from '../../lib/vendor/keys.js';
import type { Manifest } from '../../lib/vendor/manifest.js';
import { type StoredMail, WorkflowDriver } from '../../scripts/workflow-driver.js';
import { writeTree } from '../fixtures/tree.js';

const e = inject('endpoints');
const dataDir = inject('dataDir');
const d = new WorkflowDriver(e, dataDir);
const run = randomUUID().slice(0, 6);
const software = `wkey-${run}`;
const clientId = `pc-wk-${run}`;
const emp = `wkemp-${run}`;
const boss = `wkboss-${run}`;
const work = mkdtempSync(join(tmpdir(), 'workflow-key-it-'));
const releaseBucket = e.outputs.VendorSiteStack!.ReleaseBucketName!;
const table = e.outputs.UpdateManagementStack!.RegistryTableName!;
const s3 = new S3Client({
  endpoint: e.s3,
  region: e.region,
  credentials: e.credentials,
  forcePathStyle: true,
});
const raw = new DynamoDBClient({ endpoint: e.dynamodb, region: e.region, credentials: e.credentials });
const db = DynamoDBDocumentClient.from(raw);

const tree = (name: string, files: Record<string, string>) => writeTree(join(work, name), files);
const lines = (seed: string, n = 2000) => Array.from({ length: n }, (_, i) => `${seed} ${i}\n`).join('');

let manifest: Manifest;

beforeAll(async () => {
  await d.setUp({
    software,
    clientId,
    department: 'Engineering',
    users: [emp],
    approvers: [[emp, boss]],
    price: 80,
  });
  // The vendor publishes two revisions through its publish use case (the CLI's code path),
  // which also sets the catalog's latest version to 2.0 / revision 2.
  const admin = await d.token('wk-vendor-admin', ['admins']);
  const publish = (version: string, revision: string, dir: string) =>
    runPublish(dir, {
      software,
      version,
      revision,
      catalog: true,
      token: admin,
      endpoints: join(dataDir, 'endpoints.json'),
      quiet: true,
    });
  await publish(
    '1.0',
    '1',
    tree('r1', { 'bin/tool.js': lines('tool v1'), 'lib/x.js': lines('x'), README: 'v1\n' }),
  );
  await publish(
    '2.0',
    '2',
    tree('r2', { 'bin/tool.js': lines('tool v2'), 'lib/x.js': lines('x'), README: 'v2\n' }),
  );
  manifest = (await new S3Releases(s3, releaseBucket).readManifest(software))!;
  // The client runs the older revision, as its agent reported it.
  const inv = await d.api('PUT', `/clients/${clientId}/software`, {
    user: 'wk-admin',
    groups: ['admins'],
    body: {
      items: [{ software, version: '1.0', revision: 1, installedAt: '2025-01-01T00:00:00Z', user: emp }],
    },
  });
  if (inv.status !== 200) throw new Error(`inventory: ${inv.status} ${JSON.stringify(inv.body)}`);
}, 120_000);

afterAll(() => {
  d.destroy();
  s3.destroy();
  raw.destroy();
  rmSync(work, { recursive: true, force: true });
});

/** The grant items of a request on the registry table (the pointer is not a grant). */
async function grantsOf(requestId: string): Promise<Record<string, unknown>[]> {
  const found: Record<string, unknown>[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const page = await db.send(
      new ScanCommand({
        TableName: table,
        FilterExpression: '#t = :grant AND requestId = :r',
        ExpressionAttributeNames: { '#t': 'type' },
        ExpressionAttributeValues: { ':grant': 'grant', ':r': requestId },
        ...(start ? { ExclusiveStartKey: start } : {}),
      }),
    );
    found.push(...(page.Items ?? []));
    start = page.LastEvaluatedKey;
  } while (start);
  return found;
}

const KEY_URL = /(https?:\/\/[^\s"<>]+[?&]X-Amz-Signature=[0-9a-f]+[^\s"<>]*)/;
const decodeHtml = (s: string) => s.replace(/&amp;/g, '&');

describe('S508: the approval mail carries the key', () => {
  let requestId: string;
  let mail: StoredMail;

  it('approves a request for a client at revision 1 through budget and the mailed link', async () => {
    const sent = await d.submit(emp, { clientId, software, reason: 'needs 2.0' }, `wk-${run}-key`);
    expect(sent.status).toBe(202);
    requestId = sent.body.requestId as string;
    await d.untilStep(emp, requestId, 'S502');
    expect((await d.closeNow()).status).toBe(200);
    const { batchId, line } = await d.lineOf(requestId);
    expect(line).toMatchObject({ software, version: '2.0', total: 80 });
    const answered = await d.answer(batchId, [{ lineId: line.lineId, available: true }]);
    expect(answered.body.results).toEqual([{ lineId: line.lineId, outcome: 'accepted' }]);
    await d.untilStatus(emp, requestId, 'AWAITING_APPROVAL');

    const [approval] = await d.mailsTo(boss, new RegExp(software));
    const link = WorkflowDriver.linkOf(approval!);
    const page = await d.open(link);
    expect(page.status).toBe(200);
    expect((await d.decide(link, page.html, 'approve', 'ok')).status).toBe(200);
    const final = await d.untilStatus(emp, requestId, 'APPROVED');
    expect(final.steps.find((s: { step: string }) => s.step === 'S508')).toMatchObject({ keyIssued: true });
    [mail] = (await d.mailsTo(emp, new RegExp(`^Approved: ${software} 2\\.0`))).filter((m) =>
      m.body.text?.includes(requestId),
    ) as [StoredMail];
    expect(mail).toBeDefined();
  });

  it("the mail's HTML and text carry the same key, and it downloads the delta from revision 1", async () => {
    const text = mail.body.text ?? '';
    const html = mail.body.html ?? '';
    const fromText = KEY_URL.exec(text)?.[1];
    const fromHtml = KEY_URL.exec(decodeHtml(html))?.[1];
    expect(fromText).toBeDefined();
    expect(fromHtml).toBe(fromText);
    const url = new URL(fromText!);
    expect(url.origin).toBe(new URL(e.s3).origin);
    expect(url.pathname).toBe(`/${releaseBucket}/${software}/2/delta-from-1.zdelta`);
    expect(url.searchParams.get('x-upman-grant')).toMatch(/^g-/);

    const delta = manifest.releases
      .find((r) => r.revision === 2)!
      .artifacts.find((a) => a.kind === 'delta' && a.from === 1)!;
    expect(delta).toBeDefined();
    const res = await fetch(fromText!);
    expect(res.status).toBe(200);
    const bytes = Buffer.from(await res.arrayBuffer());
    expect(bytes.length).toBe(delta.size);
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(delta.sha256);
    for (const body of [text, html]) {
      expect(body).toContain(`delta, ${delta.size} bytes, sha256 ${delta.sha256}`);
    }
  });

  it('states the expiry and how to get a fresh key, in HTML and text', async () => {
    const text = mail.body.text ?? '';
    const html = mail.body.html ?? '';
    const expires = /valid until (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z)/.exec(text)?.[1];
    expect(expires).toBeDefined();
    expect(html).toContain(`valid until ${expires}`);
    // min(the stage's key lifetime, 1 h by default; what remains of the signing role's session,
    // at least half of its hour locally), counted from the approval just now.
    const left = Date.parse(expires!) - Date.now();
    expect(left).toBeGreaterThan(25 * 60_000);
    expect(left).toBeLessThanOrEqual(3600_000);
    // The X-Amz-Expires of the URL agrees with the stated expiry (to the signing second).
    const url = new URL(KEY_URL.exec(text)![1]!);
    const signedAt = url.searchParams
      .get('X-Amz-Date')!
      .replace(/^(\d{4})(\d\d)(\d\d)T(\d\d)(\d\d)(\d\d)Z$/, '$1-$2-$3T$4:$5:$6Z');
    const urlEnds = Date.parse(signedAt) + Number(url.searchParams.get('X-Amz-Expires')) * 1000;
    expect(Math.abs(urlEnds - Date.parse(expires!))).toBeLessThanOrEqual(2000);
    expect(text).toContain(`upman download ${requestId}`);
    expect(html).toContain(`upman download ${requestId}`);
  });

  it('records the grant once, the one the mail and a fresh key name', async () => {
    const grantId = new URL(KEY_URL.exec(mail.body.text ?? '')![1]!).searchParams.get('x-upman-grant')!;
    const r = await d.request(emp, requestId);
    expect(r.steps.filter((s: { step: string }) => s.step === 'S508')).toEqual([
      expect.objectContaining({ grantId, keyIssued: true }),
    ]);
    expect(mail.body.text).toContain(grantId);
    const pointer = await db.send(
      new GetCommand({ TableName: table, Key: { pk: grantOfRequestPk(requestId), sk: GRANT_SK } }),
    );
    expect(pointer.Item?.grantId).toBe(grantId);
    const grants = await grantsOf(requestId);
    expect(grants).toHaveLength(1);
    expect(grants[0]).toMatchObject({ grantId, clientId, user: emp, software, targetRevision: 2 });

    // S508 again, as the state machine's Retry of the Conclude task would run it: the same grant.
    const { keyIssuerFromEnvironment } = await import('../../lib/adapters/dynamodb/grants-env.js');
    Object.assign(process.env, {
      TABLE_NAME: table,
      RELEASE_BUCKET_NAME: releaseBucket,
      AWS_REGION: e.region,
      AWS_ACCESS_KEY_ID: e.credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: e.credentials.secretAccessKey,
      AWS_ENDPOINT_URL_S3: e.s3,
      AWS_ENDPOINT_URL_DYNAMODB: e.dynamodb,
    });
    const again = await keyIssuerFromEnvironment().grant({
      requestId,
      clientId,
      user: emp,
      software,
      targetVersion: '2.0',
    });
    expect(again.grantId).toBe(grantId);
    expect(await grantsOf(requestId)).toHaveLength(1);

    // A fresh key, as `upman download <requestId>` asks for one, names the same grant.
    const fresh = await d.api('POST', `/update-requests/${requestId}/key`, {
      user: emp,
      body: { clientId, currentRevision: 1 },
    });
    expect(fresh.status).toBe(200);
    expect(fresh.body).toMatchObject({ grantId, kind: 'delta', fromRevision: 1, toRevision: 2 });
  });
});
