// Trust in the approval: nobody decides their own request (a delegation to the requester, a
// chain that leads back to them: the admins' queue), and a recorded decision always reaches its
// execution, shown by refusing its hand-over in the local cloud (the Step Functions fault hook).
import { Sha256 } from '@aws-crypto/sha256-js';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SFNClient } from '@aws-sdk/client-sfn';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { documentClient } from '../../lib/adapters/dynamodb/client.js';
import { DynamoWorkflowStore } from '../../lib/adapters/dynamodb/workflow-store.js';
import { SfnTaskCallbacks } from '../../lib/adapters/sfn.js';
import { resumeStuckDecisions } from '../../lib/workflow/approvals.js';
import { WorkflowDriver } from '../../scripts/workflow-driver.js';

const e = inject('endpoints');
const d = new WorkflowDriver(e, inject('dataDir'));
const run = Date.now().toString(36).slice(-6);
const software = `trust-${run}`;
const costly = `trustbig-${run}`;
// Fresh people per run.
const emp = `tremp-${run}`;
const boss = `trboss-${run}`;
const chief = `trchief-${run}`;
const cfo = `trcfo-${run}`;
const board = `trboard-${run}`;
const admin = { user: `tradmin-${run}`, groups: ['admins'] };
const config = { region: e.region, credentials: e.credentials };
const sfn = new SFNClient({ ...config, endpoint: e.sfn });
const raw = new DynamoDBClient({ ...config, endpoint: e.dynamodb });
let pcs = 0;
let keys = 0;

beforeAll(async () => {
  await d.setUp({
    software,
    clientId: `pc-tr-${run}-0`,
    department: 'Sales',
    users: [emp, chief],
    // The approver delegates to one of their own reports (the requester), and two heads
    // approve each other (the chain above the first approver leads back to the requester).
    approvers: [
      [emp, boss],
      [chief, cfo],
      [cfo, chief],
    ],
    delegations: [[boss, emp]],
    price: 0,
  });
  await d.addPeople([board, admin.user]);
  const catalog = await d.api('PUT', `/software/${costly}`, {
    ...admin,
    body: {
      vendor: 'Contoso',
      latestVersion: '3.1',
      latestRevision: 310,
      licencePrice: 6000,
      licenceModel: 'per-user',
    },
  });
  expect(catalog.status).toBeLessThan(300);
}, 120_000);

afterAll(() => {
  d.destroy();
  sfn.destroy();
  raw.destroy();
});

async function submit(user: string, what = software): Promise<string> {
  const pc = `pc-tr-${run}-${++pcs}`;
  await d.addClient(pc, 'Sales', [user]);
  const sent = await d.submit(
    user,
    { clientId: pc, software: what, reason: 'trust' },
    `tr-${run}-${++keys}-k`,
  );
  expect(sent.status).toBe(202);
  return sent.body.requestId as string;
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

async function mailsAbout(user: string, requestId: string) {
  return (await d.mailbox()).filter(
    (m) => m.destination.to.includes(`${user}@upman.example`) && m.body.text?.includes(requestId),
  );
}

const secondStep = (r: { steps: Array<{ step: string; phase?: string }> }) =>
  r.steps.find((s) => s.step === 'S505' && s.phase === 'second') as Record<string, unknown> | undefined;

const stepOf = (r: { steps: Array<{ step: string }> }, step: string) =>
  r.steps.find((s) => s.step === step) as Record<string, unknown> | undefined;

describe('nobody decides their own request', () => {
  it('a delegation to the requester: only the approver is asked, and decides', async () => {
    const requestId = await submit(emp);
    const waiting = await d.untilStep(emp, requestId, 'S505');
    expect(stepOf(waiting, 'S504')).toMatchObject({ approver: boss, delegate: emp });
    expect(stepOf(waiting, 'S505')).toMatchObject({ deciders: [boss] });
    const link = WorkflowDriver.linkOf(await mailFor(boss, requestId, new RegExp(`^Approve ${software}`)));
    // The requester got no link of their own.
    expect((await mailsAbout(emp, requestId)).filter((m) => /^Approve/.test(m.subject))).toEqual([]);
    const page = await d.open(link);
    expect((await d.decide(link, page.html, 'approve')).status).toBe(200);
    const final = await d.untilStatus(emp, requestId, 'APPROVED');
    expect(stepOf(final, 'S506')).toMatchObject({ decidedBy: boss });
  });

  it("the chain above the approver leads back to the requester: the admins' queue, an admin names an approver", async () => {
    const requestId = await submit(chief, costly);
    await d.untilStep(chief, requestId, 'S502');
    await d.closeNow();
    const { batchId, line } = await d.lineOf(requestId);
    await d.answer(batchId, [{ lineId: line.lineId, available: true }]);
    // The first step: the approver (the requester's report is not involved).
    const first = WorkflowDriver.linkOf(await mailFor(cfo, requestId, new RegExp(`^Approve ${costly}`)));
    const page = await d.open(first);
    expect((await d.decide(first, page.html, 'approve')).status).toBe(200);
    // The second step would be the approver's approver: the requester. Nobody else is on record.
    const queued = await d.until(
      `${requestId} in its second approval`,
      () => d.request(chief, requestId),
      (r) => secondStep(r) !== undefined,
    );
    expect(secondStep(queued)).toMatchObject({ deciders: [] });
    expect(String(secondStep(queued)?.note)).toContain('admin to name an approver');
    expect((await mailsAbout(chief, requestId)).filter((m) => /approval/i.test(m.subject))).toEqual([]);

    const queue = await d.api('GET', '/approval-queue', admin);
    expect(queue.status).toBe(200);
    const item = (queue.body.items as Array<Record<string, unknown>>).find((i) => i.requestId === requestId);
    expect(item).toMatchObject({ requestId, step: 2, phase: 'second', requester: chief });
    expect(Date.parse(String(item!.expiresAt))).toBeGreaterThan(Date.now());
    // Only admins see the queue and name approvers; the requester is never named.
    expect((await d.api('GET', '/approval-queue', { user: cfo })).status).toBe(403);
    const self = await d.api('PUT', `/approval-queue/${requestId}`, { ...admin, body: { approver: chief } });
    expect(self.status).toBe(400);
    expect(self.body.field).toBe('approver');
    const byCfo = await d.api('PUT', `/approval-queue/${requestId}`, {
      user: cfo,
      body: { approver: board },
    });
    expect(byCfo.status).toBe(403);

    const named = await d.api('PUT', `/approval-queue/${requestId}`, { ...admin, body: { approver: board } });
    expect(named.status).toBe(200);
    expect(named.body).toMatchObject({ requestId, step: 2, approver: board });
    const again = await d.api('PUT', `/approval-queue/${requestId}`, { ...admin, body: { approver: cfo } });
    expect(again.status).toBe(409);
    const after = await d.api('GET', '/approval-queue', admin);
    expect((after.body.items as Array<{ requestId: string }>).map((i) => i.requestId)).not.toContain(
      requestId,
    );

    const second = WorkflowDriver.linkOf(await mailFor(board, requestId, /^Second approval/));
    const secondPage = await d.open(second);
    expect((await d.decide(second, secondPage.html, 'approve', 'named by the admins')).status).toBe(200);
    const final = await d.untilStatus(chief, requestId, 'APPROVED');
    expect(
      final.steps.find((s: { step: string; phase?: string }) => s.step === 'S506' && s.phase === 'second'),
    ).toMatchObject({ decidedBy: board });
    expect(
      final.steps.find(
        (s: { step: string; phase?: string }) => s.step === 'S505' && s.phase === 'second-named',
      ),
    ).toMatchObject({ deciders: [board], namedBy: admin.user });
  });
});

describe('a recorded decision always reaches its execution', () => {
  /** Refuses every hand-over (SendTaskSuccess) of decisions whose comment holds `marker`. */
  async function refuseHandOver(marker: string, on: boolean, sign = true) {
    const url = new URL(e.sfn);
    const body = JSON.stringify({ outputContains: marker });
    const request = new HttpRequest({
      method: 'POST',
      protocol: 'http:',
      hostname: url.hostname,
      port: Number(url.port),
      path: '/',
      headers: {
        host: url.host,
        'content-type': 'application/x-amz-json-1.0',
        'x-amz-target': `UpmanLocalFaults.${on ? 'RefuseSendTaskSuccess' : 'Clear'}`,
      },
      body,
    });
    const signer = new SignatureV4({
      credentials: e.credentials,
      region: e.region,
      service: 'states',
      sha256: Sha256,
    });
    const headers = sign ? (await signer.sign(request)).headers : request.headers;
    const res = await fetch(url, { method: 'POST', headers, body });
    return res.status;
  }

  /** Decides with the hand-over refused; answers the link, still awaiting approval. */
  async function stuckDecision(marker: string): Promise<{ requestId: string; link: string }> {
    const requestId = await submit(emp);
    await d.untilStatus(emp, requestId, 'AWAITING_APPROVAL');
    const link = WorkflowDriver.linkOf(await mailFor(boss, requestId, new RegExp(`^Approve ${software}`)));
    const page = await d.open(link);
    expect(await refuseHandOver(marker, true)).toBe(200);
    try {
      const decided = await d.decide(link, page.html, 'approve', marker);
      // Recorded; the page says the workflow picks it up.
      expect(decided.status).toBe(200);
      expect(decided.html).toContain('continues as soon as its workflow picks the decision up');
    } finally {
      expect(await refuseHandOver(marker, false)).toBe(200);
    }
    const stuck = await d.request(emp, requestId);
    expect(stuck.status).toBe('AWAITING_APPROVAL');
    expect(stepOf(stuck, 'S506')).toMatchObject({ decidedBy: boss, comment: marker });
    return { requestId, link };
  }

  it('the fault hook answers only the developer key pair', async () => {
    // Unsigned: the gateway refuses it like any unsigned AWS call.
    expect(await refuseHandOver(`unsigned-${run}`, true, false)).toBe(400);
  });

  it("the link's next visit hands a stuck decision over", async () => {
    const { requestId, link } = await stuckDecision(`stuck-visit-${run}`);
    const revisit = await d.open(link);
    expect(revisit.status).toBe(409);
    expect(revisit.html).toContain('already decided');
    const final = await d.untilStatus(emp, requestId, 'APPROVED');
    expect(stepOf(final, 'S507')).toBeDefined();
  });

  it('the periodic sweep hands a stuck decision over', async () => {
    const { requestId } = await stuckDecision(`stuck-sweep-${run}`);
    const store = new DynamoWorkflowStore(documentClient(raw), e.tables.registry);
    // The sweep's use case, as the scheduled function runs it, a few minutes later.
    const later = { now: () => new Date(Date.now() + 5 * 60_000) };
    const swept = await resumeStuckDecisions(
      { approvals: store, callbacks: new SfnTaskCallbacks(sfn), clock: later },
      { graceSeconds: 60, limit: 200 },
    );
    expect(swept.resumed).toContain(requestId);
    await d.untilStatus(emp, requestId, 'APPROVED');
    // Handed over once: the next sweep finds nothing of it.
    const again = await resumeStuckDecisions(
      { approvals: store, callbacks: new SfnTaskCallbacks(sfn), clock: later },
      { graceSeconds: 60, limit: 200 },
    );
    expect(again.resumed).not.toContain(requestId);
  });
});
