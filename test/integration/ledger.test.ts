// Finance's budget ledger in the local cloud: budgets per department and period, automatic
// answers within the remaining budget (S503), reservations that never take a balance below zero
// under concurrency, commit on the purchase order (S507) and release on rejection.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { periodsOf } from '../../lib/workflow/periods.js';
import { WorkflowDriver } from '../../scripts/workflow-driver.js';

const e = inject('endpoints');
const d = new WorkflowDriver(e, inject('dataDir'));
const run = Date.now().toString(36).slice(-6);
const software = `ledger-${run}`;
const emp = `led-${run}`;
const boss = `ledboss-${run}`;
// Departments of this run only: no other test draws on their budgets.
const crowd = `Crowd ${run}`;
const small = `Small ${run}`;
const month = () => periodsOf(new Date(), 1).month;
let pcs = 0;
let keys = 0;
const key = () => `led-${run}-${++keys}-key`;

async function freshClient(department: string): Promise<string> {
  const pc = `pc-led-${run}-${++pcs}`;
  await d.addClient(pc, department, [emp]);
  return pc;
}

async function submit(department: string): Promise<string> {
  const sent = await d.submit(
    emp,
    { clientId: await freshClient(department), software, reason: 'ledger' },
    key(),
  );
  expect(sent.status).toBe(202);
  return sent.body.requestId as string;
}

const stepOf = (r: { steps: Array<{ step: string }> }, step: string) =>
  r.steps.find((s) => s.step === step) as Record<string, unknown> | undefined;

async function entries(department: string, period: string) {
  const a = await d.api('GET', `/budgets/${encodeURIComponent(department)}/${period}/entries?limit=100`, {
    user: 'wf-finance',
    groups: ['finance'],
  });
  expect(a.status).toBe(200);
  return a.body.items as Array<{ kind: string; amount: number; requestId?: string; by: string; at: string }>;
}

async function approvalLink(requestId: string) {
  const mail = await d.until(
    `the approval mail of ${requestId}`,
    async () =>
      (await d.mailbox()).find(
        (m) => m.destination.to.includes(`${boss}@upman.example`) && m.body.text?.includes(requestId),
      ),
    (m) => m !== undefined,
  );
  return WorkflowDriver.linkOf(mail!);
}

beforeAll(async () => {
  await d.setUp({
    software,
    clientId: `pc-led-${run}-0`,
    department: small,
    users: [emp],
    approvers: [[emp, boss]],
    price: 100,
  });
});

afterAll(() => d.destroy());

describe('budgets', () => {
  it('finance sets a budget for a month or a fiscal quarter; bad input is refused naming the field', async () => {
    const set = await d.setBudget(small, '2031-Q2', 2500.5);
    expect(set.status).toBe(200);
    expect(set.body).toMatchObject({ department: small, period: '2031-Q2', currency: 'EUR', amount: 2500.5 });
    const got = await d.budget(small, '2031-Q2');
    expect(got.body).toMatchObject({ amount: 2500.5, reserved: 0, committed: 0, remaining: 2500.5 });
    expect((await d.setBudget(small, '2031-13', 1)).body.field).toBe('period');
    expect((await d.setBudget(small, '2031-Q2', -1)).body.field).toBe('amount');
    expect((await d.setBudget(small, '2031-Q2', 1.001)).body.field).toBe('amount');
    const employee = await d.api('PUT', `/budgets/${encodeURIComponent(small)}/2031-Q2`, {
      user: emp,
      body: { amount: 1 },
    });
    expect(employee.status).toBe(403);
    expect((await d.budget(small, '2031-Q3')).status).toBe(404);
    expect((await d.budget(small, '2031-Q2')).body.amount).toBe(2500.5);
  });
});

describe('automatic answers (S503) under contention', () => {
  it('50 concurrent requests against a budget covering exactly 10: 10 answered by the ledger, 40 to finance, never below zero', async () => {
    const period = month();
    expect((await d.setBudget(crowd, period, 1000)).status).toBe(200);
    const clients = await Promise.all(Array.from({ length: 50 }, () => freshClient(crowd)));
    const sent = await Promise.all(
      clients.map((pc, i) => d.submit(emp, { clientId: pc, software, reason: `crowd ${i}` }, key())),
    );
    expect(sent.map((s) => s.status)).toEqual(Array(50).fill(202));
    const ids = sent.map((s) => s.body.requestId as string);
    const byLedger = sent.filter((s) => s.body.status === 'AWAITING_APPROVAL').map((s) => s.body.requestId);
    expect(byLedger).toHaveLength(10);

    const budget = await d.budget(crowd, period);
    expect(budget.body).toMatchObject({ amount: 1000, reserved: 1000, committed: 0, remaining: 0 });
    const reserves = (await entries(crowd, period)).filter((x) => x.kind === 'reserve');
    expect(reserves.map((x) => x.requestId).sort()).toEqual([...byLedger].sort());
    for (const r of reserves) expect(r).toMatchObject({ amount: 100, by: 'ledger' });

    // Each request's own record says who answered.
    const records = await Promise.all(ids.map((id) => d.request(emp, id)));
    const answeredByLedger = records.filter((r) => stepOf(r, 'S503')?.answeredBy === 'ledger');
    expect(answeredByLedger.map((r) => r.requestId).sort()).toEqual([...byLedger].sort());

    // The other 40 wait in finance's batch, with the remaining budget beside each line.
    const waiting = records.filter((r) => r.status === 'AWAITING_BUDGET').map((r) => r.requestId as string);
    expect(waiting).toHaveLength(40);
    await Promise.all(waiting.map((id) => d.untilStep(emp, id, 'S502')));
    expect((await d.closeNow()).status).toBe(200);
    const lines = await d.until(
      'the 40 lines in the batch',
      async () =>
        ((await d.awaitingBatches()).body.items as Array<{ batchId: string; lines: any[] }>).flatMap((b) =>
          b.lines.filter((l) => waiting.includes(l.requestId)).map((l) => ({ ...l, batchId: b.batchId })),
        ),
      (found) => found.length === 40,
    );
    for (const l of lines) expect(l.budget).toEqual({ period, remaining: 0 });

    // A "yes" the remaining budget cannot cover records nothing; a "no" ends the request.
    const [first, ...rest] = lines;
    const over = await d.answer(first.batchId, [{ lineId: first.lineId, available: true }]);
    expect(over.body.results).toEqual([{ lineId: first.lineId, outcome: 'over-budget' }]);
    expect((await d.budget(crowd, period)).body).toMatchObject({ reserved: 1000, remaining: 0 });
    for (const l of [first, ...rest]) {
      const no = await d.answer(l.batchId, [{ lineId: l.lineId, available: false, note: 'crowd' }]);
      expect(no.body.results[0].outcome).toBe('accepted');
    }
  }, 600_000);

  it('finance switches automatic answers off for a department: its lines go to the batch', async () => {
    const dept = `Off ${run}`;
    expect((await d.setBudget(dept, month(), 1000)).status).toBe(200);
    const off = await d.api('PUT', `/budget-settings/${encodeURIComponent(dept)}`, {
      user: 'wf-finance',
      groups: ['finance'],
      body: { automaticAnswers: false },
    });
    expect(off.body).toEqual({ department: dept, automaticAnswers: false });
    const id = await submit(dept);
    const r = await d.untilStep(emp, id, 'S502');
    expect(r.status).toBe('AWAITING_BUDGET');
    expect((await d.budget(dept, month())).body).toMatchObject({
      reserved: 0,
      remaining: 1000,
      automaticAnswers: false,
    });
    // Cleared, so the line does not linger in the batch.
    await d.closeNow();
    const { batchId, line } = await d.lineOf(id);
    await d.answer(batchId, [{ lineId: line.lineId, available: false }]);
  });
});

describe('commit and release', () => {
  it('the purchase order commits the reservation; a rejection releases it; both are entries', async () => {
    const dept = `Flow ${run}`;
    const period = month();
    await d.setBudget(dept, period, 300);
    const approved = await submit(dept);
    const rejected = await submit(dept);
    expect((await d.budget(dept, period)).body).toMatchObject({
      reserved: 200,
      committed: 0,
      remaining: 100,
    });

    const link = await approvalLink(approved);
    const page = await d.open(link);
    expect((await d.decide(link, page.html, 'approve')).status).toBe(200);
    const done = await d.untilStatus(emp, approved, 'APPROVED');
    expect(done.steps.map((s: { step: string }) => s.step)).toEqual([
      'S501',
      'S502',
      'S503',
      'S504',
      'S505',
      'S506',
      'S507',
      'S508',
    ]);

    const link2 = await approvalLink(rejected);
    const page2 = await d.open(link2);
    expect((await d.decide(link2, page2.html, 'reject', 'not this month')).status).toBe(200);
    await d.untilStatus(emp, rejected, 'REJECTED');

    const budget = await d.until(
      'commit and release',
      async () => (await d.budget(dept, period)).body,
      (b) => b.committed === 100 && b.reserved === 0,
    );
    expect(budget).toMatchObject({ amount: 300, reserved: 0, committed: 100, remaining: 200 });
    const moves = (await entries(dept, period)).map((x) => [x.kind, x.requestId ?? null, x.amount]);
    expect(moves).toEqual(
      expect.arrayContaining([
        ['set', null, 300],
        ['reserve', approved, 100],
        ['reserve', rejected, 100],
        ['commit', approved, 100],
        ['release', rejected, 100],
      ]),
    );
    expect(moves).toHaveLength(5);

    // Lowering the budget below what is committed only stops automatic answers.
    expect((await d.setBudget(dept, period, 50)).body).toMatchObject({
      amount: 50,
      committed: 100,
      remaining: -50,
    });
    const after = await submit(dept);
    expect((await d.untilStep(emp, after, 'S502')).status).toBe('AWAITING_BUDGET');
    await d.closeNow();
    const { batchId, line } = await d.lineOf(after);
    expect(line.budget).toEqual({ period, remaining: -50 });
    await d.answer(batchId, [{ lineId: line.lineId, available: false }]);
  });
});
