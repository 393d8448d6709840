// The update-request workflow (S501–S509) in the local cloud, driven as people would: HTTP
// for the employee and finance, the mailed link and its form for the approver.
import { ListExecutionsCommand, ListStateMachinesCommand, SFNClient } from '@aws-sdk/client-sfn';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { WorkflowDriver } from '../../scripts/workflow-driver.js';

const e = inject('endpoints');
const d = new WorkflowDriver(e, inject('dataDir'));
const run = Date.now().toString(36).slice(-6);
const software = `wfedit-${run}`;
const clientId = `pc-wf-${run}`;
// Fresh people per run: the seed's Fig. 4 users stay untouched.
const emp = `emp-${run}`;
const other = `oth-${run}`;
const lonely = `lone-${run}`;
const boss = `boss-${run}`;
const deputy = `dep-${run}`;
const poQueue = e.outputs.UpdateManagementStack!.PurchaseOrderQueueUrl!;
let keys = 0;
const key = () => `it-${run}-${++keys}-key`;
let pcs = 0;
/** A fresh client of `department` per request: one request per client and software is in flight at a time. */
async function freshClient(users: string[], department = 'Sales'): Promise<string> {
  const pc = `pc-wf-${run}-${++pcs}`;
  await d.addClient(pc, department, users);
  return pc;
}

beforeAll(async () => {
  await d.setUp({
    software,
    clientId,
    department: 'Sales',
    users: [emp, other, lonely],
    approvers: [
      [emp, boss],
      [other, boss],
    ],
    delegations: [],
    price: 150,
  });
}, 60_000);

afterAll(() => d.destroy());

/** Submits, waits for the line to be filed, closes now, answers; returns the request id. */
async function throughBudget(
  user: string,
  available: boolean,
  note?: string,
  department = 'Sales',
): Promise<string> {
  const pc = await freshClient([user], department);
  const sent = await d.submit(user, { clientId: pc, software, reason: 'needs the fix in 3.1' }, key());
  expect(sent.status).toBe(202);
  const { requestId } = sent.body as { requestId: string };
  await d.untilStep(user, requestId, 'S502');
  const closed = await d.closeNow();
  expect(closed.status).toBe(200);
  const { batchId, line } = await d.lineOf(requestId);
  expect(line).toMatchObject({ requestId, requester: user, department, software, version: '3.1' });
  expect(line).toMatchObject({ quantity: 1, unitPrice: 150, total: 150 });
  const answered = await d.answer(batchId, [{ lineId: line.lineId, available, ...(note ? { note } : {}) }]);
  expect(answered.status).toBe(200);
  expect(answered.body.results).toEqual([{ lineId: line.lineId, outcome: 'accepted' }]);
  return requestId;
}

async function approvalMail(approver: string, count = 1) {
  const mails = await d.mailsTo(approver, new RegExp(`${software}`), count);
  return mails[mails.length - 1]!;
}

describe('the update-request workflow', () => {
  it('approved path: budget, approval through the mailed link, purchase order, key mail', async () => {
    const requestId = await throughBudget(emp, true, 'within the Q1 budget');
    await d.untilStatus(emp, requestId, 'AWAITING_APPROVAL');

    const mail = await approvalMail(boss);
    const link = WorkflowDriver.linkOf(mail);
    expect(mail.body.html).toContain(link.replace(/&/g, '&amp;'));
    expect(mail.body.text).toContain('within the Q1 budget');
    const page = await d.open(link);
    expect(page.status).toBe(200);
    const done = await d.decide(link, page.html, 'approve', 'go ahead');
    expect(done.status).toBe(200);

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
    for (const s of final.steps) expect(Date.parse(s.at)).not.toBeNaN();
    const order = await d.receive(poQueue, (b) => b.requestId === requestId);
    expect(order).toMatchObject({
      type: 'purchase-order',
      software,
      version: '3.1',
      total: 150,
      approvedBy: boss,
    });
    const [approved] = await d.mailsTo(emp, new RegExp(`^Approved: ${software}`));
    expect(approved!.body.text).toContain(`Approved by: ${boss}`);
    expect(approved!.body.html).toContain('approved');
    // The approver may read the request they decided.
    expect((await d.api('GET', `/update-requests/${requestId}`, { user: boss })).status).toBe(200);
    expect((await d.api('GET', `/update-requests/${requestId}`, { user: lonely })).status).toBe(403);
  });

  it("rejected path: the employee's mail carries the approver's comment", async () => {
    const requestId = await throughBudget(other, true);
    await d.untilStatus(other, requestId, 'AWAITING_APPROVAL');
    const mails = await d.mailsTo(boss, new RegExp(software), 2);
    const link = WorkflowDriver.linkOf(mails.find((m) => m.body.text?.includes(requestId))!);
    const page = await d.open(link);
    expect(
      (await d.decide(link, page.html, 'reject', 'Wait for <3.2>, it fixes the licence server')).status,
    ).toBe(200);
    const final = await d.untilStatus(other, requestId, 'REJECTED');
    expect(final.steps.map((s: { step: string }) => s.step)).toContain('S509');
    const [rejected] = await d.mailsTo(other, new RegExp(`^Rejected: ${software}`));
    expect(rejected!.body.text).toContain('Wait for <3.2>, it fixes the licence server');
    expect(rejected!.body.html).toContain('Wait for &lt;3.2&gt;, it fixes the licence server');
  });

  it("budget denied where the policy lets approvers override (Research): the approver decides, seeing finance's answer", async () => {
    const requestId = await throughBudget(emp, false, 'no budget left this quarter', 'Research');
    await d.untilStatus(emp, requestId, 'AWAITING_APPROVAL');
    const mail = (await d.mailsTo(boss, new RegExp(software), 3)).find((m) =>
      m.body.text?.includes(requestId),
    )!;
    expect(mail.body.text).toContain('NO budget available — no budget left this quarter');
    const link = WorkflowDriver.linkOf(mail);
    const page = await d.open(link);
    expect(page.html).toContain('NO budget available');
    await d.decide(link, page.html, 'approve');
    const final = await d.untilStatus(emp, requestId, 'APPROVED');
    expect(final.steps.find((s: { step: string }) => s.step === 'S503')).toMatchObject({ available: false });
  });

  it('budget denied under the default policy: REJECTED for budget, mailed, no approver asked', async () => {
    const requestId = await throughBudget(other, false, 'Sales is out of money');
    const final = await d.untilStatus(other, requestId, 'REJECTED');
    expect(final.statusReason).toContain(
      'Finance answered that no budget is available (Sales is out of money)',
    );
    expect(final.steps.map((s: { step: string }) => s.step)).toEqual(['S501', 'S502', 'S503', 'S509']);
    expect(final.steps.find((s: { step: string }) => s.step === 'S509')).toMatchObject({
      rejectedBy: 'finance',
    });
    const mails = await d.mailsTo(other, new RegExp(`^Rejected: ${software}`), 2);
    expect(mails.some((m) => m.body.text?.includes('Sales is out of money'))).toBe(true);
    const toBoss = (await d.mailbox()).filter((m) => m.destination.to.includes(`${boss}@upman.example`));
    expect(toBoss.some((m) => m.body.text?.includes(requestId))).toBe(false);
  });

  it('no approver: FAILED with a clear reason, mailed to the employee', async () => {
    const requestId = await throughBudget(lonely, true);
    const final = await d.untilStatus(lonely, requestId, 'FAILED');
    expect(final.statusReason).toContain(`No approver is on record for ${lonely}`);
    const [mail] = await d.mailsTo(lonely, new RegExp(`^Could not process: ${software}`));
    expect(mail!.body.text).toContain(`No approver is on record for ${lonely}`);
  });

  it('duplicate submit: one request, one execution', async () => {
    const k = key();
    const body = { clientId, software, reason: 'duplicate test' };
    const [a, b] = await Promise.all([d.submit(emp, body, k), d.submit(emp, body, k)]);
    const c = await d.submit(emp, body, k);
    expect([a.status, b.status, c.status]).toEqual([202, 202, 202]);
    expect(new Set([a.body.requestId, b.body.requestId, c.body.requestId]).size).toBe(1);
    const requestId = a.body.requestId as string;
    await d.untilStep(emp, requestId, 'S502');
    const sfn = new SFNClient({ endpoint: e.sfn, region: e.region, credentials: e.credentials });
    const machines = await sfn.send(new ListStateMachinesCommand({}));
    // The stack's machine, not the short-timeout copy workflow-timeouts.test.ts registers.
    const machine = machines.stateMachines!.find(
      (m) => m.name?.startsWith('UpdateRequest') && !m.name.startsWith('UpdateRequestFast'),
    )!;
    const list = await sfn.send(new ListExecutionsCommand({ stateMachineArn: machine.stateMachineArn! }));
    expect(list.executions!.filter((x) => x.name === requestId)).toHaveLength(1);
    sfn.destroy();
    const reused = await d.submit(emp, { ...body, reason: 'another reason' }, k);
    expect(reused.status).toBe(409);
  });

  it('double click or replayed POST: one decision; GET and HEAD prefetch decide nothing', async () => {
    const requestId = await throughBudget(emp, true);
    await d.untilStatus(emp, requestId, 'AWAITING_APPROVAL');
    const mail = (await d.mailsTo(boss, new RegExp(software), 4)).find((m) =>
      m.body.text?.includes(requestId),
    )!;
    const link = WorkflowDriver.linkOf(mail);
    // A mail scanner's prefetch.
    expect((await d.open(link, 'HEAD')).status).toBe(200);
    const page = await d.open(link);
    expect((await d.open(link)).status).toBe(200);
    const r = await d.request(emp, requestId);
    expect(r.status).toBe('AWAITING_APPROVAL');
    expect(r.steps.map((s: { step: string }) => s.step)).not.toContain('S506');

    const [first, second] = await Promise.all([
      d.decide(link, page.html, 'approve'),
      d.decide(link, page.html, 'reject', 'changed my mind'),
    ]);
    expect([first.status, second.status].sort()).toEqual([200, 409]);
    const replay = await d.decide(link, page.html, 'reject');
    expect(replay.status).toBe(409);
    expect(replay.html).toContain('already');
    const final = await d.untilStatus(emp, requestId, ['APPROVED', 'REJECTED']);
    expect(final.status).toBe(first.status === 200 ? 'APPROVED' : 'REJECTED');
    expect(final.steps.filter((s: { step: string }) => s.step === 'S506')).toHaveLength(1);
    // After the decision the link only says so.
    expect((await d.open(link)).status).toBe(409);
  });

  it('refuses a tampered link, and a forwarded link signed in as someone else, changing nothing', async () => {
    const requestId = await throughBudget(emp, true);
    await d.untilStatus(emp, requestId, 'AWAITING_APPROVAL');
    const mail = (await d.mailsTo(boss, new RegExp(software), 5)).find((m) =>
      m.body.text?.includes(requestId),
    )!;
    const link = WorkflowDriver.linkOf(mail);
    const url = new URL(link);
    const tampered = `${url.origin}${url.pathname}?k=${url.searchParams.get('k')!.slice(0, -2)}xx`;
    const t = await d.open(tampered);
    expect(t.status).toBe(403);
    expect(t.html).toContain('not valid');
    const unknown = `${url.origin}/approvals/a-AAAAAAAAAAAAAAAA?k=whatever`;
    expect((await d.open(unknown)).status).toBe(404);
    // Forwarded to a colleague: the page says whom it is for; signed in as the colleague, the
    // decision is refused and nothing is recorded (as them or anyone).
    const page = await d.open(link);
    expect(page.html).toContain('This link is for');
    const f = await d.decide(link, page.html, 'approve', 'not mine to decide', { as: deputy });
    expect(f.status).toBe(403);
    expect(f.html).toContain(`This link is for ${boss}`);
    const after = await d.request(emp, requestId);
    expect(after.status).toBe('AWAITING_APPROVAL');
    expect(after.steps.map((s: { step: string }) => s.step)).not.toContain('S506');
    // The rightful approver, signed in, still decides with it afterwards.
    expect((await d.decide(link, page.html, 'reject', 'not now')).status).toBe(200);
    await d.untilStatus(emp, requestId, 'REJECTED');
  });

  it('answers duplicate and unknown budget answers as such', async () => {
    const pc = await freshClient([emp]);
    const sent = await d.submit(emp, { clientId: pc, software, reason: 'answer twice' }, key());
    const requestId = sent.body.requestId as string;
    await d.untilStep(emp, requestId, 'S502');
    await d.closeNow();
    const { batchId, line } = await d.lineOf(requestId);
    const first = await d.answer(batchId, [{ lineId: line.lineId, available: true }]);
    expect(first.body.results[0].outcome).toBe('accepted');
    const again = await d.answer(batchId, [
      { lineId: line.lineId, available: false },
      { lineId: 'l-ZZZZZZZZZZZZZZZZZZZZZZZZ', available: true },
    ]);
    expect(again.body.results).toEqual([
      { lineId: line.lineId, outcome: 'duplicate', answer: expect.objectContaining({ available: true }) },
      { lineId: 'l-ZZZZZZZZZZZZZZZZZZZZZZZZ', outcome: 'unknown' },
    ]);
    const r = await d.untilStep(emp, requestId, 'S503');
    expect(r.steps.find((s: { step: string }) => s.step === 'S503')).toMatchObject({ available: true });
  });
});
