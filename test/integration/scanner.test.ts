// Only a real install is recorded. A request goes its whole way (budget, approval through the
// mailed link, S507/S508) with a release published; then a mail scanner fetches every URL of every
// mail of the request's life with GET and HEAD (and every URL of the pages those return), and the
// access-log processor runs: nothing in the registry, the request's status or steps, or finance's
// queues changes, and no mail names a key. Then the employee's agent (`upman download`, the real
// CLI) fetches a key as the signed-in employee, verifies, installs and confirms: that, and only
// that, records S604 (finance's download notice) and S605 (installed version and its history).
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { runPublish } from '../../cli/vendor/publish.js';
import { type StoredMail, WorkflowDriver } from '../../scripts/workflow-driver.js';
import { jsonOf, upman } from '../fixtures/agent/cli.js';
import { writeTree } from '../fixtures/tree.js';

const e = inject('endpoints');
const dataDir = inject('dataDir');
const d = new WorkflowDriver(e, dataDir);
const run = randomUUID().slice(0, 6);
const software = `scan-${run}`;
const clientId = `pc-scan-${run}`;
const emp = `scemp-${run}`;
const boss = `scboss-${run}`;
const work = mkdtempSync(join(tmpdir(), 'scanner-it-'));
const org = e.outputs.UpdateManagementStack!;
const vendor = e.outputs.VendorSiteStack!;
const noticeQueue = org.DownloadNoticeQueueUrl!;
const orderQueue = org.PurchaseOrderQueueUrl!;
const raw = new DynamoDBClient({ endpoint: e.dynamodb, region: e.region, credentials: e.credentials });
const db = DynamoDBDocumentClient.from(raw);
const admin = { user: 'scan-admin', groups: ['admins'] };

const lines = (seed: string, n = 2000) => Array.from({ length: n }, (_, i) => `${seed} ${i}\n`).join('');
const R2 = { 'bin/tool.js': lines('tool v2'), 'lib/x.js': lines('x'), README: 'v2\n' };

/** The processor (functions/schedule/download-logs.ts) run here with its function's environment. */
async function runEvidenceProcessor() {
  Object.assign(process.env, {
    TABLE_NAME: org.RegistryTableName!,
    RELEASE_BUCKET_NAME: vendor.ReleaseBucketName!,
    ACCESS_LOG_BUCKET_NAME: vendor.AccessLogBucketName!,
    ACCESS_LOG_PREFIX: 'releases/',
    AWS_REGION: e.region,
    AWS_ACCESS_KEY_ID: e.credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: e.credentials.secretAccessKey,
    AWS_ENDPOINT_URL_S3: e.s3,
    AWS_ENDPOINT_URL_DYNAMODB: e.dynamodb,
  });
  const { handler } = await import('../../functions/schedule/download-logs.js');
  return handler();
}

/** Messages on a queue that name the request, left on the queue (they become visible again). */
async function messagesAbout(queueUrl: string, requestId: string): Promise<Array<Record<string, unknown>>> {
  const found: Array<Record<string, unknown>> = [];
  for (let i = 0; i < 3; i++) {
    const out = await d.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 1,
        VisibilityTimeout: 0,
      }),
    );
    for (const m of out.Messages ?? []) {
      const body = JSON.parse(m.Body ?? '{}') as Record<string, unknown>;
      if (body.requestId === requestId && !found.some((f) => f.messageId === m.MessageId))
        found.push({ ...body, messageId: m.MessageId });
    }
  }
  return found;
}

/** Everything the scanner could change, as the API and finance's queues show it. */
async function observable(requestId: string) {
  const request = await d.request(emp, requestId);
  const inventory = await d.api('GET', `/clients/${clientId}/software`, admin);
  const history = await d.api('GET', `/clients/${clientId}/history`, admin);
  const grant = await db.send(
    new QueryCommand({
      TableName: org.RegistryTableName!,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': `GRANTREQ#${requestId}` },
    }),
  );
  return {
    status: request.status,
    steps: request.steps,
    inventory: inventory.body.items,
    history: history.body.items,
    grantPointer: grant.Items,
    notices: (await messagesAbout(noticeQueue, requestId)).map((m) => m.type),
    orders: (await messagesAbout(orderQueue, requestId)).map((m) => m.type),
  };
}

const URL_IN_TEXT = /https?:\/\/[^\s"'<>)]+/g;
const decodeHtml = (s: string) =>
  s
    .replace(/&amp;/g, '&')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'");

/** Every URL a scanner finds in a mail or page: bare ones and every href/src/action. */
function urlsIn(content: string, base?: string): string[] {
  const text = decodeHtml(content);
  const found = new Set(text.match(URL_IN_TEXT) ?? []);
  for (const m of text.matchAll(/\b(?:href|src|action)\s*=\s*"([^"]*)"/gi)) {
    try {
      found.add(new URL(m[1]!, base).href);
    } catch {
      // not a URL a scanner could fetch
    }
  }
  return [...found].filter((u) => /^https?:/.test(u));
}

beforeAll(async () => {
  await d.setUp({
    software,
    clientId,
    department: 'Engineering',
    users: [emp],
    approvers: [[emp, boss]],
    price: 80,
  });
  const vendorAdmin = await d.token('scan-vendor-admin', ['admins']);
  const publish = (version: string, revision: string, files: Record<string, string>) =>
    runPublish(writeTree(join(work, `r${revision}`), files), {
      software,
      version,
      revision,
      catalog: true,
      token: vendorAdmin,
      endpoints: join(dataDir, 'endpoints.json'),
      quiet: true,
    });
  await publish('1.0', '1', { 'bin/tool.js': lines('tool v1'), 'lib/x.js': lines('x'), README: 'v1\n' });
  await publish('2.0', '2', R2);
}, 180_000);

afterAll(() => {
  d.destroy();
  raw.destroy();
  rmSync(work, { recursive: true, force: true });
});

describe('a mail scanner changes nothing; only the agent records an install', () => {
  let requestId: string;

  it('takes a request through budget and the mailed approval link to APPROVED', async () => {
    const sent = await d.submit(emp, { clientId, software, reason: 'needs 2.0' }, `scan-${run}`);
    expect(sent.status).toBe(202);
    requestId = sent.body.requestId as string;
    await d.untilStep(emp, requestId, 'S502');
    expect((await d.closeNow()).status).toBe(200);
    const { batchId, line } = await d.lineOf(requestId);
    await d.answer(batchId, [{ lineId: line.lineId, available: true }]);
    await d.untilStatus(emp, requestId, 'AWAITING_APPROVAL');
    const [approval] = await d.mailsTo(boss, new RegExp(software));
    const link = WorkflowDriver.linkOf(approval!);
    const page = await d.open(link);
    expect((await d.decide(link, page.html, 'approve', 'ok')).status).toBe(200);
    const final = await d.untilStatus(emp, requestId, 'APPROVED');
    expect(final.steps.find((s: { step: string }) => s.step === 'S508')).toMatchObject({ revision: 2 });
    await d.mailsTo(emp, new RegExp(`^Approved: ${software}`));
  });

  it('fetches every URL of every mail (GET and HEAD), runs the evidence processor: nothing changes', async () => {
    const mails = (await d.mailbox()).filter((m: StoredMail) =>
      `${m.subject}\n${m.body.text ?? ''}\n${m.body.html ?? ''}`.includes(requestId),
    );
    // The approval mail to the approver and the "Approved" mail to the employee, at least.
    expect(mails.map((m) => m.destination.to[0]).sort()).toEqual(
      expect.arrayContaining([`${boss}@upman.example`, `${emp}@upman.example`]),
    );
    const before = await observable(requestId);
    expect(before).toMatchObject({ status: 'APPROVED', notices: [], orders: ['purchase-order'] });

    const urls = new Set(mails.flatMap((m) => [...urlsIn(m.body.text ?? ''), ...urlsIn(m.body.html ?? '')]));
    // No mail carries a key: no URL to the release bucket, no presigned URL at all.
    expect([...urls].filter((u) => u.startsWith(e.s3) || /X-Amz-|x-upman-grant/i.test(u))).toEqual([]);
    expect(urls.size).toBeGreaterThan(0);
    const fetched = new Set<string>();
    const scan = async (url: string, depth: number) => {
      if (fetched.has(url)) return;
      fetched.add(url);
      await fetch(url, { method: 'HEAD' }).catch(() => undefined);
      const res = await fetch(url).catch(() => undefined);
      const body = res ? await res.text() : '';
      // A scanner follows what a page links to as well (one level down).
      if (depth > 0) for (const next of urlsIn(body, url)) await scan(next, depth - 1);
    };
    for (const url of urls) await scan(url, 1);
    expect(fetched.size).toBeGreaterThanOrEqual(urls.size);

    // Whatever reached the release bucket's access logs is evidence for audit only.
    await runEvidenceProcessor();
    expect(await observable(requestId)).toEqual(before);
  });

  it("records S604 and S605 from the agent's verified install, once", async () => {
    const env = {
      UPMAN_LOCAL_DIR: dataDir,
      XDG_CONFIG_HOME: join(work, 'config'),
      UPMAN_CLIENT: clientId,
    };
    const root = join(work, 'pc');
    const login = await upman(['login', '--user', emp], env);
    expect(login.code, login.stderr).toBe(0);
    const installed = await upman(['download', requestId, '--root', root, '--json'], env, {
      timeoutMs: 120_000,
    });
    expect(installed.code, installed.stderr).toBe(0);
    const result = jsonOf(installed);
    expect(result).toMatchObject({ software, toRevision: 2, kind: 'full', confirmed: true });
    expect(readFileSync(join(root, software, 'bin', 'tool.js'), 'utf8')).toBe(R2['bin/tool.js']);

    const after = await d.untilStatus(emp, requestId, 'DOWNLOADED');
    expect(after.status).toBe('DOWNLOADED');
    const notice = await d.receive(noticeQueue, (b) => b.requestId === requestId);
    expect(notice).toMatchObject({
      type: 'download-completed',
      clientId,
      software,
      version: '2.0',
      revision: 2,
      evidence: 'confirmation',
    });
    const history = await d.api('GET', `/clients/${clientId}/history`, admin);
    expect(
      (history.body.items as Array<Record<string, unknown>>).filter(
        (h) => h.software === software && h.source === 'download',
      ),
    ).toEqual([expect.objectContaining({ version: '2.0', revision: 2, user: emp })]);
    const inventory = await d.api('GET', `/clients/${clientId}/software`, admin);
    expect(
      (inventory.body.items as Array<Record<string, unknown>>).find((i) => i.software === software),
    ).toMatchObject({ version: '2.0', revision: 2 });

    // Running the agent again downloads nothing and records nothing twice.
    const again = await upman(['download', requestId, '--root', root, '--json'], env);
    expect(again.code, again.stderr).toBe(0);
    expect(await messagesAbout(noticeQueue, requestId)).toEqual([]);
  }, 180_000);
});
