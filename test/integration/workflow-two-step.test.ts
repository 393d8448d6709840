// Two-step approval above the policy's cost threshold (stage default 5000): the approver, then
// the approver's own approver, each with a link of their own.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { WorkflowDriver } from '../../scripts/workflow-driver.js';

const e = inject('endpoints');
const d = new WorkflowDriver(e, inject('dataDir'));
const run = Date.now().toString(36).slice(-6);
const software = `costly-${run}`;
const emp = `two-${run}`;
const boss = `twoboss-${run}`;
const top = `twotop-${run}`;
let pcs = 0;
let keys = 0;

beforeAll(async () => {
  await d.setUp({
    software,
    clientId: `pc-two-${run}-0`,
    department: 'Sales',
    users: [emp],
    approvers: [
      [emp, boss],
      [boss, top],
    ],
    price: 6000,
  });
});

afterAll(() => d.destroy());

/** Through finance's "yes" to the first approver's mail; answers the request id. */
async function toFirstApproval(): Promise<string> {
  const pc = `pc-two-${run}-${++pcs}`;
  await d.addClient(pc, 'Sales', [emp]);
  const sent = await d.submit(
    emp,
    { clientId: pc, software, reason: 'big licence' },
    `two-${run}-${++keys}-key`,
  );
  expect(sent.status).toBe(202);
  const requestId = sent.body.requestId as string;
  await d.untilStep(emp, requestId, 'S502');
  await d.closeNow();
  const { batchId, line } = await d.lineOf(requestId);
  expect(line.total).toBe(6000);
  await d.answer(batchId, [{ lineId: line.lineId, available: true }]);
  return requestId;
}

async function mailFor(user: string, requestId: string, subject: RegExp) {
  const mail = await d.until(
    `a mail to ${user} about ${requestId}`,
    async () =>
      (await d.mailbox()).find(
        (m) =>
          m.destination.to.includes(`${user}@upman.example`) &&
          subject.test(m.subject) &&
          m.body.text?.includes(requestId),
      ),
    (m) => m !== undefined,
  );
  return mail!;
}

async function decide(
  user: string,
  requestId: string,
  subject: RegExp,
  decision: 'approve' | 'reject',
  comment?: string,
) {
  const link = WorkflowDriver.linkOf(await mailFor(user, requestId, subject));
  const page = await d.open(link);
  expect(page.status).toBe(200);
  expect((await d.decide(link, page.html, decision, comment)).status).toBe(200);
  return link;
}

const stepNames = (r: { steps: Array<{ step: string; phase?: string }> }) =>
  r.steps.map((s) => `${s.step}${s.phase ? `.${s.phase}` : ''}`);

describe('two-step approval above the cost threshold', () => {
  it("approve, then approve: the approver's approver decides second, with a link of their own", async () => {
    const requestId = await toFirstApproval();
    const firstLink = await decide(boss, requestId, new RegExp(`^Approve ${software}`), 'approve');
    const second = await mailFor(top, requestId, new RegExp(`^Second approval: approve ${software}`));
    expect(second.body.text).toContain(`${boss} approved this request`);
    const secondLink = WorkflowDriver.linkOf(second);
    expect(secondLink).not.toBe(firstLink);
    // Still waiting: no purchase order after one approval.
    const between = await d.request(emp, requestId);
    expect(between.status).toBe('AWAITING_APPROVAL');
    expect(stepNames(between)).not.toContain('S507');
    // The first link is spent.
    expect((await d.open(firstLink)).status).toBe(409);
    await decide(top, requestId, /^Second approval/, 'approve', 'fine by me too');
    const final = await d.untilStatus(emp, requestId, 'APPROVED');
    expect(stepNames(final)).toEqual([
      'S501',
      'S502',
      'S503',
      'S504',
      'S505',
      'S506',
      'S505.second',
      'S506.second',
      'S507',
      'S508',
    ]);
    expect(
      final.steps.find((s: { phase?: string; step: string }) => s.step === 'S506' && s.phase === 'second'),
    ).toMatchObject({
      decision: 'approve',
      decidedBy: top,
    });
  });

  it("approve, then reject: REJECTED with the second approver's comment", async () => {
    const requestId = await toFirstApproval();
    await decide(boss, requestId, new RegExp(`^Approve ${software}`), 'approve');
    await decide(top, requestId, /^Second approval/, 'reject', 'too expensive this year');
    const final = await d.untilStatus(emp, requestId, 'REJECTED');
    expect(stepNames(final)).toContain('S506.second');
    expect(stepNames(final)).not.toContain('S507');
    const mail = await mailFor(emp, requestId, new RegExp(`^Rejected: ${software}`));
    expect(mail.body.text).toContain('too expensive this year');
  });

  it('a request at or below the threshold needs one approval only', async () => {
    const cheap = `cheap-${run}`;
    const admin = { user: 'wf-admin', groups: ['admins'] };
    const put = await d.api('PUT', `/software/${cheap}`, {
      ...admin,
      body: {
        vendor: 'Contoso',
        latestVersion: '3.1',
        latestRevision: 310,
        licencePrice: 5000,
        licenceModel: 'per-user',
      },
    });
    expect(put.status).toBeLessThan(300);
    const pc = `pc-two-${run}-${++pcs}`;
    await d.addClient(pc, 'Sales', [emp]);
    const sent = await d.submit(
      emp,
      { clientId: pc, software: cheap, reason: 'at the threshold' },
      `two-${run}-${++keys}-key`,
    );
    const requestId = sent.body.requestId as string;
    await d.untilStep(emp, requestId, 'S502');
    await d.closeNow();
    const { batchId, line } = await d.lineOf(requestId);
    await d.answer(batchId, [{ lineId: line.lineId, available: true }]);
    await decide(boss, requestId, new RegExp(`^Approve ${cheap}`), 'approve');
    const final = await d.untilStatus(emp, requestId, 'APPROVED');
    expect(stepNames(final)).not.toContain('S505.second');
  });
});
