// No decision in time: reminder → escalation → EXPIRED. The deployed machine waits days, so
// this test registers the same definition (same ASL file, functions, table and queues, from
// the synthesized template) with second-long waits, and submits through the same use case
// the API runs, pointed at that machine. Everything after the start is the real workflow.
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CreateStateMachineCommand, SendTaskSuccessCommand, SFNClient } from '@aws-sdk/client-sfn';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { templateStateMachines } from '../../cdk/local/cloud.js';
import { loadAssembly, TemplateResolver } from '../../cdk/local/template.js';
import { documentClient } from '../../lib/adapters/dynamodb/client.js';
import { DynamoSubmissionReads } from '../../lib/adapters/dynamodb/submission-reads.js';
import { DynamoWorkflowStore } from '../../lib/adapters/dynamodb/workflow-store.js';
import { SfnExecutions, SfnTaskCallbacks } from '../../lib/adapters/sfn.js';
import { decide } from '../../lib/workflow/approvals.js';
import { periodsOf } from '../../lib/workflow/periods.js';
import { DEFAULT_POLICY } from '../../lib/workflow/policy.js';
import { submitRequest } from '../../lib/workflow/requests.js';
import { WorkflowDriver } from '../../scripts/workflow-driver.js';

const e = inject('endpoints');
const d = new WorkflowDriver(e, inject('dataDir'));
const run = Date.now().toString(36).slice(-6);
const software = `wftime-${run}`;
const clientId = `pc-wt-${run}`;
const emp = `late-${run}`;
const boss = `slow-${run}`;
const top = `top-${run}`;
const config = { region: e.region, credentials: e.credentials };
const sfn = new SFNClient({ ...config, endpoint: e.sfn });
const raw = new DynamoDBClient({ ...config, endpoint: e.dynamodb });
const db = documentClient(raw);
let fastMachineArn: string;

/** Seconds of each wait on the fast copy. */
const FAST = {
  'S502 AwaitBudget': 120,
  'S505 RequestApproval': 3,
  'S505 Remind': 3,
  'S505 Escalate': 3,
  'S505 SecondApproval': 3,
  'S505 SecondRemind': 3,
};

beforeAll(async () => {
  await d.setUp({
    software,
    clientId,
    department: 'Engineering',
    users: [emp],
    approvers: [
      [emp, boss],
      [boss, top],
    ],
    // The escalation target delegated to the requester: nobody decides their own request.
    delegations: [[top, emp]],
  });
  const resolver = new TemplateResolver(loadAssembly(join(process.cwd(), 'cdk.out')), {
    region: e.region,
    sqsEndpoint: e.sqs,
    apiEndpoint: e.api,
  });
  const deployed = templateStateMachines(resolver).find((m) => m.name.startsWith('UpdateRequest'))!;
  const definition = JSON.parse(deployed.definition) as {
    States: Record<string, { TimeoutSeconds?: number }>;
  };
  for (const [state, seconds] of Object.entries(FAST)) definition.States[state]!.TimeoutSeconds = seconds;
  const created = await sfn.send(
    new CreateStateMachineCommand({
      name: `UpdateRequestFast-${run}`,
      definition: JSON.stringify(definition),
      roleArn: deployed.roleArn ?? 'arn:aws:iam::000000000000:role/upman-test',
      type: 'STANDARD',
    }),
  );
  fastMachineArn = created.stateMachineArn!;
}, 120_000);

afterAll(() => {
  d.destroy();
  sfn.destroy();
  raw.destroy();
});

/**
 * The fast copy is not the stack's machine: the Budget function's role may answer task tokens
 * of the stack's machine only (as on AWS), so finance's "available" is handed over here with the
 * developer's key pair, in the shape the Budget function sends.
 */
async function answerAvailable(batchId: string, lineId: string): Promise<void> {
  const stored = await new DynamoWorkflowStore(db, e.tables.registry).getLine(lineId);
  await sfn.send(
    new SendTaskSuccessCommand({
      taskToken: stored!.taskToken!,
      output: JSON.stringify({
        lineId,
        batchId,
        available: true,
        note: '',
        answeredAt: new Date().toISOString(),
        quantity: stored!.quantity,
        unitPrice: stored!.unitPrice,
        total: stored!.total,
      }),
    }),
  );
}

describe('the approval clock', () => {
  it('reminds, escalates to the next approver, then expires and tells the employee', async () => {
    const table = e.tables.registry;
    const { requestId } = await submitRequest(
      {
        requests: new DynamoWorkflowStore(db, table),
        reads: new DynamoSubmissionReads(db, table),
        policy: DEFAULT_POLICY,
        executions: new SfnExecutions(sfn, fastMachineArn),
        clock: { now: () => new Date() },
      },
      { user: emp, groups: ['employees'] },
      { 'idempotency-key': `timeout-${run}-1` },
      { clientId, software, reason: 'nobody will answer' },
    );
    await d.untilStep(emp, requestId, 'S502');
    await d.closeNow();
    const { batchId, line } = await d.lineOf(requestId);
    await answerAvailable(batchId, line.lineId);

    const [first] = await d.mailsTo(boss, new RegExp(`^Approve ${software}`));
    const firstLink = WorkflowDriver.linkOf(first!);
    expect((await d.open(firstLink)).status).toBe(200);

    const [reminder] = await d.mailsTo(boss, new RegExp(`^Reminder: approve ${software}`));
    expect(WorkflowDriver.linkOf(reminder!)).not.toBe(firstLink);
    const [escalated] = await d.mailsTo(top, new RegExp(`^Escalated: approve ${software}`));
    expect(escalated!.body.text).toContain(`${boss} did not decide in time`);
    const escalatedLink = WorkflowDriver.linkOf(escalated!);
    // Escalated to top alone: top's delegate is the requester, who gets no link.
    const escalation = (await d.request(emp, requestId)).steps.find(
      (s: { step: string; phase?: string }) => s.step === 'S505' && s.phase === 'escalation',
    );
    expect(escalation).toMatchObject({ deciders: [top] });
    const toRequester = (await d.mailbox()).filter(
      (m) => m.destination.to.includes(`${emp}@upman.example`) && /^Escalated/.test(m.subject),
    );
    expect(toRequester).toEqual([]);

    // The wrong person's link: boss's link no longer decides once it went up to top.
    const stale = await d.open(firstLink);
    expect(stale.status).toBe(403);
    expect(stale.html).toContain(`issued to ${boss}`);

    const final = await d.untilStatus(emp, requestId, 'EXPIRED');
    const steps = final.steps.map(
      (s: { step: string; phase?: string }) => `${s.step}${s.phase ? `.${s.phase}` : ''}`,
    );
    expect(steps).toEqual([
      'S501',
      'S502',
      'S503',
      'S504',
      'S505',
      'S505.reminder',
      'S505.escalation',
      'S506.expired',
    ]);
    const [expired] = await d.mailsTo(emp, new RegExp(`^Expired: ${software}`));
    expect(expired!.body.text).toContain('No approver decided in time');
    // An expired request's links change nothing.
    const late = await d.open(escalatedLink);
    expect(late.status).toBe(410);
    const page = await d.open(escalatedLink);
    expect(page.html).toContain('no longer waits');
  });

  it("releases the ledger's reservation when the request expires without a decision", async () => {
    const table = e.tables.registry;
    const dept = `Expiry ${run}`;
    const pc = `pc-wt-${run}-ledger`;
    const period = periodsOf(new Date(), 1).month;
    await d.addClient(pc, dept, [emp]);
    expect((await d.setBudget(dept, period, 1000)).status).toBe(200);
    const { requestId, status } = await submitRequest(
      {
        requests: new DynamoWorkflowStore(db, table),
        reads: new DynamoSubmissionReads(db, table),
        policy: DEFAULT_POLICY,
        executions: new SfnExecutions(sfn, fastMachineArn),
        clock: { now: () => new Date() },
      },
      { user: emp, groups: ['employees'] },
      { 'idempotency-key': `timeout-${run}-2` },
      { clientId: pc, software, reason: 'reserved, then forgotten' },
    );
    expect(status).toBe('AWAITING_APPROVAL');
    expect((await d.budget(dept, period)).body).toMatchObject({ reserved: 150, remaining: 850 });
    await d.untilStatus(emp, requestId, 'EXPIRED');
    const budget = await d.until(
      'the release',
      async () => (await d.budget(dept, period)).body,
      (b) => b.reserved === 0,
    );
    expect(budget).toMatchObject({ amount: 1000, reserved: 0, committed: 0, remaining: 1000 });
    const entries = await d.api('GET', `/budgets/${encodeURIComponent(dept)}/${period}/entries`, {
      user: 'wf-finance',
      groups: ['finance'],
    });
    expect(
      entries.body.items.map((x: { kind: string; requestId?: string }) => [x.kind, x.requestId ?? null]),
    ).toEqual([
      ['set', null],
      ['reserve', requestId],
      ['release', requestId],
    ]);
  });

  it('expires at the second step of a two-step approval: a reminder to the second approver, then EXPIRED', async () => {
    const table = e.tables.registry;
    const costly = `wfcostly-${run}`;
    const pc = `pc-wt-${run}-two`;
    const put = await d.api('PUT', `/software/${costly}`, {
      user: 'wf-admin',
      groups: ['admins'],
      body: {
        vendor: 'Contoso',
        latestVersion: '3.1',
        latestRevision: 310,
        licencePrice: 9000,
        licenceModel: 'per-user',
      },
    });
    expect(put.status).toBeLessThan(300);
    await d.addClient(pc, 'Engineering', [emp]);
    const { requestId } = await submitRequest(
      {
        requests: new DynamoWorkflowStore(db, table),
        reads: new DynamoSubmissionReads(db, table),
        policy: DEFAULT_POLICY,
        executions: new SfnExecutions(sfn, fastMachineArn),
        clock: { now: () => new Date() },
      },
      { user: emp, groups: ['employees'] },
      { 'idempotency-key': `timeout-${run}-3` },
      { clientId: pc, software: costly, reason: 'second approver is away' },
    );
    await d.untilStep(emp, requestId, 'S502');
    await d.closeNow();
    const { batchId, line } = await d.lineOf(requestId);
    await answerAvailable(batchId, line.lineId);
    const [first] = await d.mailsTo(boss, new RegExp(`^Approve ${costly}`));
    const link = WorkflowDriver.linkOf(first!);
    const page = await d.open(link);
    expect(page.status).toBe(200);
    // The first approver approves through the decide use case (the decision route's own), run
    // with the developer's key pair: the Approvals function's role may answer tokens of the
    // stack's machine only, not of this fast copy (as on AWS).
    const store = new DynamoWorkflowStore(db, e.tables.registry);
    const url = new URL(link);
    const decided = await decide(
      {
        approvals: store,
        requests: store,
        callbacks: new SfnTaskCallbacks(sfn),
        clock: { now: () => new Date() },
      },
      url.pathname.split('/').pop()!,
      { k: url.searchParams.get('k'), decision: 'approve', comment: '' },
      { user: boss },
    );
    expect(decided.resumed).toBe(true);
    await d.mailsTo(top, new RegExp(`^Second approval: approve ${costly}`));
    await d.mailsTo(top, new RegExp(`^Reminder: second approval: approve ${costly}`));
    const final = await d.untilStatus(emp, requestId, 'EXPIRED');
    const steps = final.steps.map(
      (s: { step: string; phase?: string }) => `${s.step}${s.phase ? `.${s.phase}` : ''}`,
    );
    expect(steps).toEqual([
      'S501',
      'S502',
      'S503',
      'S504',
      'S505',
      'S506',
      'S505.second',
      'S505.second-reminder',
      'S506.expired',
    ]);
  });
});
