// The purchase policy in the local cloud: the refusals at submission (the version the client
// already runs; a request of the same client and software in flight, whatever the key, also
// under concurrency) and free software, which skips finance.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { WorkflowDriver } from '../../scripts/workflow-driver.js';

const e = inject('endpoints');
const d = new WorkflowDriver(e, inject('dataDir'));
const run = Date.now().toString(36).slice(-6);
const software = `pol-${run}`;
const free = `polfree-${run}`;
const emp = `pol-${run}`;
const boss = `polboss-${run}`;
let pcs = 0;
let keys = 0;
const key = () => `pol-${run}-${++keys}-key`;

async function freshClient(): Promise<string> {
  const pc = `pc-pol-${run}-${++pcs}`;
  await d.addClient(pc, 'Sales', [emp]);
  return pc;
}

beforeAll(async () => {
  await d.setUp({
    software,
    clientId: `pc-pol-${run}-0`,
    department: 'Sales',
    users: [emp],
    approvers: [[emp, boss]],
  });
  const admin = { user: 'wf-admin', groups: ['admins'] };
  const put = await d.api('PUT', `/software/${free}`, {
    ...admin,
    body: {
      vendor: 'Libre',
      latestVersion: '1.2',
      latestRevision: 12,
      licencePrice: 0,
      licenceModel: 'per-user',
    },
  });
  expect(put.status).toBeLessThan(300);
});

afterAll(() => d.destroy());

describe('refusals at submission', () => {
  it('refuses the version the client already runs, or an older one (409), and starts nothing', async () => {
    const pc = await freshClient();
    const inv = await d.api('PUT', `/clients/${pc}/software`, {
      user: 'wf-admin',
      groups: ['admins'],
      body: {
        items: [{ software, version: '3.1', revision: 310, installedAt: '2026-01-01T00:00:00Z', user: emp }],
      },
    });
    expect(inv.status).toBe(200);
    const same = await d.submit(emp, { clientId: pc, software, reason: 'again' }, key());
    expect(same.status).toBe(409);
    expect(same.body.message).toContain(`${pc} already runs ${software} 3.1`);
    const older = await d.submit(
      emp,
      { clientId: pc, software, targetVersion: '3.0', reason: 'older' },
      key(),
    );
    expect(older.status).toBe(409);
    const own = await d.api('GET', '/update-requests?limit=100', { user: emp });
    expect(own.body.items.filter((r: { clientId: string }) => r.clientId === pc)).toHaveLength(0);
  });

  it('refuses a request while another of the same client and software is in flight, whatever the key, naming it', async () => {
    const pc = await freshClient();
    // Concurrent submits under different Idempotency-Keys: exactly one request is written.
    const sent = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        d.submit(emp, { clientId: pc, software, reason: `race ${i}` }, key()),
      ),
    );
    const accepted = sent.filter((s) => s.status === 202);
    expect(accepted).toHaveLength(1);
    const first = accepted[0]!.body.requestId as string;
    for (const s of sent.filter((x) => x.status !== 202)) {
      expect(s.status).toBe(409);
      expect(s.body.message).toContain(first);
    }
    const later = await d.submit(emp, { clientId: pc, software, reason: 'later' }, key());
    expect(later.status).toBe(409);
    expect(later.body.message).toContain(first);
    const own = await d.api('GET', '/update-requests?limit=100', { user: emp });
    expect(own.body.items.filter((r: { clientId: string }) => r.clientId === pc)).toHaveLength(1);

    // Once it has left flight (finance said no: rejected for budget), a new request is accepted.
    await d.untilStep(emp, first, 'S502');
    await d.closeNow();
    const { batchId, line } = await d.lineOf(first);
    await d.answer(batchId, [{ lineId: line.lineId, available: false }]);
    await d.untilStatus(emp, first, 'REJECTED');
    const again = await d.submit(emp, { clientId: pc, software, reason: 'now' }, key());
    expect(again.status).toBe(202);
    expect(again.body.requestId).not.toBe(first);
  });
});

describe('free software', () => {
  it('skips finance: no budget line, straight to the approver, every step recorded', async () => {
    const pc = await freshClient();
    const sent = await d.submit(emp, { clientId: pc, software: free, reason: 'free tool' }, key());
    expect(sent.status).toBe(202);
    expect(sent.body.status).toBe('AWAITING_APPROVAL');
    const requestId = sent.body.requestId as string;
    const mail = await d.until(
      'the approval mail',
      async () =>
        (await d.mailbox()).find(
          (m) => m.destination.to.includes(`${boss}@upman.example`) && m.body.text?.includes(requestId),
        ),
      (m) => m !== undefined,
    );
    const link = WorkflowDriver.linkOf(mail!);
    const page = await d.open(link);
    expect((await d.decide(link, page.html, 'approve')).status).toBe(200);
    const final = await d.untilStatus(emp, requestId, 'APPROVED');
    expect(final.steps.map((s: { step: string }) => s.step)).toEqual([
      'S501',
      'S502',
      'S503',
      'S504',
      'S505',
      'S506',
      'S507',
      'S508',
    ]);
    expect(final.steps.find((s: { step: string }) => s.step === 'S503')).toMatchObject({
      available: true,
      answeredBy: 'policy',
      total: 0,
    });
    // Finance never saw a line of it.
    await d.closeNow();
    const batches = (await d.awaitingBatches()).body.items as Array<{ lines: Array<{ requestId: string }> }>;
    expect(batches.flatMap((b) => b.lines).some((l) => l.requestId === requestId)).toBe(false);
  });
});
