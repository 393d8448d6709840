// Revocation within 15 minutes. Keys live at most 15 minutes and the agent renews them while it
// downloads (ranges, each started with a live key; one fresh key when S3 refuses one); revoking
// a grant refuses every renewal, the request shows REVOKED, the forecast stops counting it and
// the ledger gets back the cost its purchase order committed, with an entry. Against the local
// cloud: the real fresh-key route, the local S3's SigV4 check of presigned URLs, the workflow.
import { mkdtempSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { downloadArtifact } from '../../agent/download.js';
import { runPublish } from '../../cli/vendor/publish.js';
import { S3Releases } from '../../lib/adapters/s3/releases.js';
import { sha256OfFile } from '../../lib/vendor/package.js';
import { periodsOf } from '../../lib/workflow/periods.js';
import { WorkflowDriver } from '../../scripts/workflow-driver.js';
import { writeTree } from '../fixtures/tree.js';

const e = inject('endpoints');
const dataDir = inject('dataDir');
const d = new WorkflowDriver(e, dataDir);
const run = Date.now().toString(36).slice(-6);
const software = `revoke-${run}`;
const clientId = `pc-rev-${run}`;
const emp = `revemp-${run}`;
const boss = `revboss-${run}`;
// A department of this run only: no other test draws on its budget.
const department = `Revoke ${run}`;
const month = periodsOf(new Date(), 1).month;
const work = mkdtempSync(join(tmpdir(), 'revocation-it-'));
const s3 = new S3Client({
  endpoint: e.s3,
  region: e.region,
  credentials: e.credentials,
  forcePathStyle: true,
});
const releases = new S3Releases(s3, e.outputs.VendorSiteStack!.ReleaseBucketName!);
const admin = { user: 'rev-admin', groups: ['admins'] };
const lines = (seed: string, n = 4000) => Array.from({ length: n }, (_, i) => `${seed} ${i}\n`).join('');

let requestId: string;

/** The fresh-key route, as the agent calls it while it downloads. */
async function freshKey() {
  const a = await d.api('POST', `/update-requests/${requestId}/key`, {
    user: emp,
    body: { clientId, currentRevision: null },
  });
  if (a.status !== 200) throw new Error(`fresh key refused: ${a.status} ${a.body.message}`);
  return a.body as {
    grantId: string;
    url: string;
    artifactKey: string;
    size: number;
    sha256: string;
    expiresAt: string;
  };
}

/** A key for the artifact that S3 refuses a second from now (as one whose session ended early). */
async function shortKey(artifactKey: string, grantId: string) {
  const url = await releases.presignGet(artifactKey, { grantId, expiresInSeconds: 1 });
  return { url, diesAt: Date.now() + 1000 };
}

async function forecastInFlight(): Promise<number> {
  const f = await d.api('GET', `/software/${software}/forecast?targetVersion=1.0`, admin);
  expect(f.status).toBe(200);
  return f.body.requestsInFlight as number;
}

beforeAll(async () => {
  await d.setUp({ software, clientId, department, users: [emp], approvers: [[emp, boss]], price: 100 });
  const vendorAdmin = await d.token('rev-vendor-admin', ['admins']);
  await runPublish(
    writeTree(join(work, 'r1'), { 'bin/tool.js': lines('tool'), 'lib/a.js': lines('a'), README: 'r1\n' }),
    {
      software,
      version: '1.0',
      revision: '1',
      catalog: true,
      token: vendorAdmin,
      endpoints: join(dataDir, 'endpoints.json'),
      quiet: true,
    },
  );
  expect((await d.setBudget(department, month, 1000)).status).toBe(200);
  // The ledger answers at submission; the approver approves through the mailed link.
  const sent = await d.submit(emp, { clientId, software, reason: 'revocation' }, `rev-${run}`);
  expect(sent.status).toBe(202);
  requestId = sent.body.requestId as string;
  await d.untilStatus(emp, requestId, 'AWAITING_APPROVAL');
  const [mail] = await d.mailsTo(boss, new RegExp(software));
  const link = WorkflowDriver.linkOf(mail!);
  const page = await d.open(link);
  expect((await d.decide(link, page.html, 'approve', 'ok')).status).toBe(200);
  await d.untilStatus(emp, requestId, 'APPROVED');
}, 180_000);

afterAll(() => {
  d.destroy();
  s3.destroy();
  rmSync(work, { recursive: true, force: true });
});

describe('keys renewed while downloading, refused after revocation', () => {
  it('hands out keys of 15 minutes at most', async () => {
    const key = await freshKey();
    const left = Date.parse(key.expiresAt) - Date.now();
    expect(left).toBeLessThanOrEqual(900_000);
    expect(new URL(key.url).searchParams.get('X-Amz-Expires')).toMatch(/^([1-9]\d{0,2})$/);
    expect(Number(new URL(key.url).searchParams.get('X-Amz-Expires'))).toBeLessThanOrEqual(900);
  });

  it('renews the key mid-download when S3 refuses it, and finishes the artifact', async () => {
    const first = await freshKey();
    const short = await shortKey(first.artifactKey, first.grantId);
    const used: string[] = [];
    let renewals = 0;
    const got = await downloadArtifact({
      url: short.url,
      // What the answer stated; the key dies earlier (its signing session ended).
      expiresAt: first.expiresAt,
      size: first.size,
      sha256: first.sha256,
      dir: join(work, 'dl-renew'),
      requestId,
      rangeBytes: Math.ceil(first.size / 3),
      fetchFn: async (url, init) => {
        // A slow link: the second range starts after the short key has died.
        if (used.length === 1)
          while (Date.now() < short.diesAt + 1000) await new Promise((r) => setTimeout(r, 100));
        used.push(String(url) === short.url ? 'short' : 'fresh');
        return fetch(url, init);
      },
      renew: async () => {
        renewals++;
        return freshKey();
      },
    });
    expect(renewals).toBe(1);
    expect(used).toEqual(['short', 'short', 'fresh', 'fresh']);
    expect((await sha256OfFile(got.file)).sha256).toBe(first.sha256);
    expect((await readFile(got.file)).length).toBe(first.size);
  });

  it('revokes: renewals refused, REVOKED, out of the forecast, the committed cost back in the ledger', async () => {
    expect(await forecastInFlight()).toBe(1);
    const before = await d.budget(department, month);
    expect(before.body).toMatchObject({ amount: 1000, reserved: 0, committed: 100, remaining: 900 });
    const first = await freshKey();

    const employee = await d.api('DELETE', `/grants/${first.grantId}`, { user: emp });
    expect(employee.status).toBe(403);
    const revoked = await d.api('DELETE', `/grants/${first.grantId}`, admin);
    expect(revoked.status, JSON.stringify(revoked.body)).toBe(200);
    expect(revoked.body).toMatchObject({ grantId: first.grantId, status: 'revoked' });

    // A download under way: its key dies, the renewal is refused, nothing more is fetched.
    const short = await shortKey(first.artifactKey, first.grantId);
    while (Date.now() < short.diesAt + 1000) await new Promise((r) => setTimeout(r, 100));
    const stopped = await downloadArtifact({
      url: short.url,
      expiresAt: first.expiresAt,
      size: first.size,
      sha256: first.sha256,
      dir: join(work, 'dl-revoked'),
      requestId,
      rangeBytes: Math.ceil(first.size / 3),
      renew: freshKey,
    }).catch((error: Error) => error);
    expect(String(stopped)).toMatch(/fresh key refused: 410 .*revoked/);

    const request = await d.request(emp, requestId);
    expect(request.status).toBe('REVOKED');
    expect(request.steps.find((s: { step: string }) => s.step === 'REVOKED')).toMatchObject({
      by: admin.user,
      grantId: first.grantId,
    });
    expect(await forecastInFlight()).toBe(0);
    const after = await d.budget(department, month);
    expect(after.body).toMatchObject({ amount: 1000, reserved: 0, committed: 0, remaining: 1000 });
    const entries = await d.api(
      'GET',
      `/budgets/${encodeURIComponent(department)}/${month}/entries?limit=100`,
      {
        user: 'wf-finance',
        groups: ['finance'],
      },
    );
    expect(
      (entries.body.items as Array<Record<string, unknown>>).filter((x) => x.requestId === requestId),
    ).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ kind: 'commit', amount: 100 }),
        expect.objectContaining({ kind: 'release', amount: 100, by: admin.user }),
      ]),
    );

    // Revoking again changes nothing: the same revocation, released once.
    const again = await d.api('DELETE', `/grants/${first.grantId}`, admin);
    expect(again.status).toBe(200);
    expect(again.body.revokedAt).toBe(revoked.body.revokedAt);
    expect((await d.budget(department, month)).body).toMatchObject({ committed: 0, remaining: 1000 });
  });
});
