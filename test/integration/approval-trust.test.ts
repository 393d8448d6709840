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
const emp2 = `tremp2-${run}`;
const boss2 = `trboss2-${run}`;
const dep2 = `trdep2-${run}`;
const colleague = `trcol-${run}`;
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
    users: [emp, chief, emp2],
    // The approver delegates to one of their own reports (the requester), and two heads
    // approve each other (the chain above the first approver leads back to the requester).
    approvers: [
      [emp, boss],
      [chief, cfo],
      [cfo, chief],
      [emp2, boss2],
    ],
    delegations: [
      [boss, emp],
      [boss2, dep2],
    ],
    price: 0,
  });
  await d.addPeople([board, admin.user, colleague]);
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

describe('only the signed-in approver or delegate decides, with the link', () => {
  it('a scanner (GET, HEAD, the sign-in page) and unauthenticated POSTs change nothing; a forwarded link decides nothing; the delegate decides', async () => {
    const requestId = await submit(emp2);
    await d.untilStep(emp2, requestId, 'S505');
    const bossLink = WorkflowDriver.linkOf(
      await mailFor(boss2, requestId, new RegExp(`^Approve ${software}`)),
    );
    const depLink = WorkflowDriver.linkOf(await mailFor(dep2, requestId, new RegExp(`^Approve ${software}`)));
    // A scanner fetches the links and follows the page's sign-in as far as it goes: a login page.
    expect((await d.open(bossLink, 'HEAD')).status).toBe(200);
    const page = await d.open(bossLink);
    expect(page.status).toBe(200);
    const { approvalId, k, signIn } = WorkflowDriver.pageOf(page.html);
    const signedIn = await fetch(signIn.redirectUri);
    expect(signedIn.status).toBe(200);
    const login = await fetch(
      `${signIn.authorizeUrl}?${new URLSearchParams({
        response_type: 'code',
        client_id: signIn.clientId,
        redirect_uri: signIn.redirectUri,
        code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
        code_challenge_method: 'S256',
        state: 'scanner',
      })}`,
    );
    expect(login.status).toBe(200);
    expect(await login.text()).toContain('Okachi Masao');
    // POSTs without a signed-in person: the decision route is behind the JWT authorizer, and
    // the page itself takes no POST.
    const anonymous = await d.sendDecision(bossLink, approvalId, { k, decision: 'approve' });
    expect(anonymous.status).toBe(401);
    const form = await fetch(bossLink.split('?')[0]!, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ k, decision: 'approve', approver: boss2 }).toString(),
    });
    expect(form.status).toBeGreaterThanOrEqual(400);
    // Forwarded: a colleague signed in with the approver's link and secret decides nothing.
    const forwarded = await d.decide(bossLink, page.html, 'approve', 'forwarded to me', { as: colleague });
    expect(forwarded.status).toBe(403);
    expect(forwarded.html).toContain(`This link is for ${boss2}`);
    // The requester cannot use it either.
    expect((await d.decide(bossLink, page.html, 'approve', '', { as: emp2 })).status).toBe(403);
    const untouched = await d.request(emp2, requestId);
    expect(untouched.status).toBe('AWAITING_APPROVAL');
    expect(stepOf(untouched, 'S506')).toBeUndefined();
    // The delegate in force, signed in, decides with their own link.
    const depPage = await d.open(depLink);
    const decided = await d.decide(depLink, depPage.html, 'approve', 'on behalf of my boss');
    expect(decided.status).toBe(200);
    const final = await d.untilStatus(emp2, requestId, 'APPROVED');
    expect(stepOf(final, 'S506')).toMatchObject({ decidedBy: dep2, comment: 'on behalf of my boss' });
  });
});

describe('wrong link secrets', () => {
  it('slow their source down and tell the approver and an admin; the rightful approver, signed in, still decides', async () => {
    const requestId = await submit(emp2);
    await d.untilStep(emp2, requestId, 'S505');
    const link = WorkflowDriver.linkOf(await mailFor(boss2, requestId, new RegExp(`^Approve ${software}`)));
    const page = await d.open(link);
    const url = new URL(link);
    const guess = (i: number) => d.open(`${url.origin}${url.pathname}?k=guess-${i}-${run}`);
    const statuses: number[] = [];
    for (let i = 0; i < 10; i++) statuses.push((await guess(i)).status);
    // Five free tries, then tries wait 1 s, 2 s, 4 s… after the last (wrong ones still count).
    expect(statuses.slice(0, 5)).toEqual([403, 403, 403, 403, 403]);
    expect(statuses.slice(5)).toContain(429);
    for (const status of statuses.slice(5)) expect([403, 429]).toContain(status);
    const slowed = await d.open(link);
    expect(slowed.status).toBe(429);
    // Slowed down, not locked out: the page still says whom it is for and offers the sign-in.
    expect(slowed.html).toContain(`This link is for`);
    expect(slowed.html).toContain('data-decision="approve"');
    // Someone else signed in with the right secret waits too; the approver does not.
    expect((await d.decide(link, page.html, 'approve', '', { as: colleague })).status).toBe(429);
    const alert = await d.until(
      `the alert about ${requestId}`,
      async () =>
        (await d.mailbox()).find(
          (m) => /^Security: wrong secrets/.test(m.subject) && m.subject.includes(requestId),
        ),
      (m) => m !== undefined,
    );
    expect(alert!.destination.to).toEqual(
      expect.arrayContaining([`${boss2}@upman.example`, 'admins@upman.example']),
    );
    expect(alert!.body.text).toContain('Wrong secrets: 10');
    expect(alert!.body.text).not.toContain(WorkflowDriver.pageOf(page.html).k);
    expect((await d.request(emp2, requestId)).status).toBe('AWAITING_APPROVAL');
    const decided = await d.decide(link, page.html, 'approve', 'mine after all');
    expect(decided.status).toBe(200);
    await d.untilStatus(emp2, requestId, 'APPROVED');
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
