import { SESv2Client, SendEmailCommand } from '@aws-sdk/client-sesv2';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import {
  DynamoDBDocumentClient,
  GetCommand,
  QueryCommand,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { lambdaContext, mockDirectory, setEnv, storedRequest } from './workflow-helpers.js';

// No release bucket: S508 records the grant itself (the vendor's issuer is tested on its side).
setEnv({ PURCHASE_ORDER_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/123456789012/orders' });
delete process.env.RELEASE_BUCKET_NAME;
const ddb = mockClient(DynamoDBDocumentClient);
const ses = mockClient(SESv2Client);
const sqs = mockClient(SQSClient);

type Handler = (event: unknown, context: unknown) => Promise<any>;
let approval: Handler;
let conclude: Handler;

beforeAll(async () => {
  approval = (await import('../../functions/workflow/approval.js')).handler as unknown as Handler;
  conclude = (await import('../../functions/workflow/conclude.js')).handler as unknown as Handler;
});

beforeEach(() => {
  ddb.reset();
  ses.reset();
  ddb.on(UpdateCommand).resolves({});
  ddb.on(GetCommand).resolves({ Item: storedRequest() });
  ses.on(SendEmailCommand).resolves({ MessageId: 'm' });
  sqs.reset();
  sqs.on(SendMessageCommand).resolves({ MessageId: 'po-1' });
  mockDirectory(ddb);
});

const state = {
  requestId: 'r-AAAAAAAAAAAAAAAAAAAAAAAA',
  requester: 'ando',
  clientId: 'pc-ando',
  department: 'Sales',
  software: 'editor',
  targetVersion: '2.0',
  quantity: 1,
  unitPrice: 120,
  createdAt: '2025-01-06T09:00:00.000Z',
};
const budget = {
  lineId: 'l-AAAAAAAAAAAAAAAAAAAAAAAA',
  batchId: '',
  available: true,
  note: 'ok',
  answeredAt: '2025-01-06T09:00:00.000Z',
  quantity: 1,
  unitPrice: 120,
  total: 120,
};
const period = (user: string, extra: Record<string, unknown>) => ({
  periodId: `p-${user}`,
  user,
  validFrom: '2024-01-01T00:00:00.000Z',
  filedAt: '2024-01-01T00:00:00.000Z',
  filedBy: 'root',
  ...extra,
});
/** Writes of the request item: single updates, and updates inside transactions. */
const stepUpdates = () =>
  [
    ...ddb.commandCalls(UpdateCommand).map((c) => c.args[0].input),
    ...ddb
      .commandCalls(TransactWriteCommand)
      .flatMap((c) => c.args[0].input.TransactItems!.flatMap((i) => (i.Update ? [i.Update] : []))),
  ].filter((u) => u.Key?.sk === 'REQUEST');
const mails = () =>
  ses.commandCalls(SendEmailCommand).map((c) => ({
    to: c.args[0].input.Destination?.ToAddresses,
    subject: c.args[0].input.Content?.Simple?.Subject?.Data ?? '',
    html: c.args[0].input.Content?.Simple?.Body?.Html?.Data ?? '',
    text: c.args[0].input.Content?.Simple?.Body?.Text?.Data ?? '',
  }));

describe('S504 inside the first approval task: who approves', () => {
  const initial = {
    taskToken: 'TOKEN',
    phase: 'initial',
    executionArn: 'arn:exec:1',
    state: { ...state, budget },
  };

  it('resolves the approver in force at the time of the request, with the delegate, and records S504 with S505 in one write', async () => {
    ddb
      .on(QueryCommand, {
        ExpressionAttributeValues: {
          ':pk': 'APPROVER#ando',
          ':lo': 'PERIOD#',
          ':hi': 'PERIOD#2025-01-06T09:00:00.000Z#~',
        },
      })
      .resolves({
        Items: [period('ando', { kind: 'approver', approver: 'okachi' })],
      });
    ddb
      .on(QueryCommand, {
        ExpressionAttributeValues: {
          ':pk': 'DELEGATION#okachi',
          ':lo': 'PERIOD#',
          ':hi': 'PERIOD#2025-01-06T09:00:00.000Z#~',
        },
      })
      .resolves({
        Items: [
          period('okachi', { kind: 'delegation', delegate: 'itou', validTo: '2025-02-01T00:00:00.000Z' }),
        ],
      });
    const out = await approval(initial, lambdaContext);
    expect(out.deciders).toEqual(['okachi', 'itou']);
    const steps = stepUpdates();
    expect(steps).toHaveLength(1);
    expect(steps[0]!.ExpressionAttributeNames).toMatchObject({ '#key': 'S505', '#also0': 'S504' });
    expect(steps[0]!.ExpressionAttributeValues?.[':also0']).toMatchObject({
      approver: 'okachi',
      delegate: 'itou',
    });
    expect(steps[0]!.ExpressionAttributeValues?.[':deciders']).toEqual(new Set(['okachi', 'itou']));
    // S501: the execution is linked to the request by this first task.
    expect(steps[0]!.ExpressionAttributeValues?.[':exec']).toBe('arn:exec:1');
    // …in the transaction that writes the links and the wait: one write for the whole phase.
    const [phase] = ddb.commandCalls(TransactWriteCommand).map((c) => c.args[0].input.TransactItems!);
    expect(phase!.map((i) => i.Put?.Item?.sk ?? i.Update?.Key?.sk)).toEqual([
      'LINK',
      'LINK',
      'APPROVAL',
      'REQUEST',
    ]);
    expect(ddb.commandCalls(UpdateCommand)).toHaveLength(0);
    expect(mails().map((m) => m.to)).toEqual([['okachi@corp.example'], ['itou@corp.example']]);
  });

  it('fails with NoApprover and a clear reason when nobody approves for the requester, mailing nobody', async () => {
    ddb.on(QueryCommand).resolves({ Items: [] });
    await expect(approval(initial, lambdaContext)).rejects.toMatchObject({
      name: 'NoApprover',
      message: 'No approver is on record for ando at 2025-01-06T09:00:00.000Z.',
    });
    const [step] = stepUpdates();
    expect(step!.ExpressionAttributeNames).toMatchObject({ '#key': 'S504' });
    expect(step!.ExpressionAttributeValues?.[':step']).toMatchObject({ found: false });
    expect(mails()).toHaveLength(0);
  });
});

describe('the ends of a request', () => {
  const decision = (d: 'approve' | 'reject', comment = '') => ({
    decision: d,
    comment,
    decidedBy: 'okachi',
    decidedAt: '2025-01-07T10:00:00.000Z',
    approvalId: 'a-AAAAAAAAAAAAAAAA',
  });

  it('S507 + S508: sends the purchase order, records the grant, mails the employee, sets APPROVED', async () => {
    const out = await conclude(
      {
        outcome: 'approved',
        decision: decision('approve'),
        state,
      },
      lambdaContext,
    );
    expect(out).toEqual({ status: 'APPROVED', grantId: 'g-AAAAAAAAAAAAAAAAAAAAAAAA' });
    const grant = ddb.commandCalls(UpdateCommand).find((c) => c.args[0].input.Key?.sk === 'GRANT')!
      .args[0].input;
    expect(grant.ExpressionAttributeValues).toMatchObject({ ':u': 'ando', ':s': 'editor', ':v': '2.0' });
    const order = JSON.parse(sqs.commandCalls(SendMessageCommand)[0]!.args[0].input.MessageBody!);
    expect(order).toMatchObject({
      type: 'purchase-order',
      orderId: state.requestId,
      software: 'editor',
      version: '2.0',
      total: 120,
      budgetAvailable: true,
      approvedBy: 'okachi',
    });
    expect(sqs.commandCalls(SendMessageCommand)[0]!.args[0].input.QueueUrl).toBe(
      process.env.PURCHASE_ORDER_QUEUE_URL,
    );
    const steps = stepUpdates();
    expect(steps).toHaveLength(1);
    expect(steps[0]!.ExpressionAttributeNames).toMatchObject({ '#key': 'S508', '#also0': 'S507' });
    expect(steps[0]!.ExpressionAttributeValues?.[':also0']).toMatchObject({ messageId: 'po-1' });
    expect(steps[0]!.ExpressionAttributeValues?.[':status']).toBe('APPROVED');
    expect(steps[0]!.UpdateExpression).not.toContain('REMOVE gsi2pk');
    const [mail] = mails();
    expect(mail!.to).toEqual(['ando@corp.example']);
    expect(mail!.subject).toBe('Approved: editor 2.0');
    expect(mail!.text).toContain('Grant: g-AAAAAAAAAAAAAAAAAAAAAAAA');
    expect(mail!.text).toContain(`upman download ${state.requestId}`);
    expect(mail!.html).toContain(`upman download ${state.requestId}`);
    // No key and no link at all: a scanner fetching every URL of the mail finds none.
    expect(mail!.text).not.toMatch(/https?:|X-Amz-/i);
    expect(mail!.html).not.toMatch(/href=|https?:|X-Amz-/i);
  });

  it('S507 commits the reservation the budget answer carried in the write that records it, reading neither it nor the request', async () => {
    ddb.on(TransactWriteCommand).resolves({});
    const reserved = { ...budget, reservation: { period: '2025-01', amount: 120 } };
    const out = await conclude(
      {
        outcome: 'approved',
        decision: decision('approve'),
        state: { ...state, reason: 'security fix', budget: reserved },
      },
      lambdaContext,
    );
    expect(out.status).toBe('APPROVED');
    const final = ddb
      .commandCalls(TransactWriteCommand)
      .map((c) => c.args[0].input.TransactItems!)
      .find((items) => items.some((i) => i.Update?.Key?.sk === 'REQUEST'))!;
    expect(final.map((i) => i.Update?.Key ?? { pk: i.Put?.Item?.pk, sk: 'ENTRY' })).toEqual([
      { pk: `REQ#${state.requestId}`, sk: 'REQUEST' },
      { pk: `REQ#${state.requestId}`, sk: 'LEDGER' },
      { pk: 'BUDGET#Sales', sk: 'PERIOD#2025-01' },
      { pk: 'BUDGET#Sales', sk: 'ENTRY' },
    ]);
    expect(final[1]!.Update!.ConditionExpression).toBe('#state = :from');
    expect(final[1]!.Update!.ExpressionAttributeValues).toMatchObject({
      ':from': 'reserved',
      ':next': 'committed',
    });
    expect(final[2]!.Update!.ExpressionAttributeValues).toEqual({ ':c': 120 });
    expect(final[0]!.Update!.ExpressionAttributeValues?.[':status']).toBe('APPROVED');
    // The reason came with the state; the reservation with the budget answer: no read of either.
    const reads = ddb.commandCalls(GetCommand).map((c) => c.args[0].input.Key?.sk);
    expect(reads.filter((sk) => sk === 'LEDGER' || sk === 'REQUEST')).toEqual([]);
    expect(mails()[0]!.text).toContain('security fix');
  });

  it('S507 without the reservation in the budget answer (an older execution) reads it before committing', async () => {
    await conclude(
      { outcome: 'approved', decision: decision('approve'), state: { ...state, budget } },
      lambdaContext,
    );
    const reads = ddb.commandCalls(GetCommand).map((c) => c.args[0].input.Key?.sk);
    expect(reads).toContain('LEDGER');
    expect(reads).toContain('REQUEST'); // and the reason, from the request
  });

  it('S508 names people by their display names, and records a mail SES refuses on the request', async () => {
    ses.on(SendEmailCommand).rejects(
      Object.assign(
        new Error(
          'Email address is not verified. The following identities failed the check: ando@corp.example',
        ),
        {
          name: 'MessageRejected',
        },
      ),
    );
    const out = await conclude(
      {
        outcome: 'approved',
        decision: decision('approve'),
        purchaseOrder: { messageId: 'po-1', at: '2025-01-07T10:00:01.000Z' },
        state,
      },
      lambdaContext,
    );
    expect(out.status).toBe('APPROVED');
    const [mail] = mails();
    expect(mail!.text).toContain('Approved by: Okachi Masao');
    expect(mail!.text).toContain('Requested by: Ando Taro');
    const refused = stepUpdates().find(
      (u) => u.ExpressionAttributeNames?.['#key'] === 'S508.mail-refused.ando',
    );
    expect(refused?.ExpressionAttributeValues?.[':step']).toMatchObject({
      to: 'ando',
      code: 'MessageRejected',
      reason: expect.stringContaining('not verified'),
    });
  });

  it('records a requester without an address in the directory instead of dropping the mail', async () => {
    ddb.reset();
    ddb.on(UpdateCommand).resolves({});
    ddb.on(GetCommand).resolves({ Item: storedRequest() });
    mockDirectory(ddb, { okachi: 'Okachi Masao' });
    await conclude({ outcome: 'rejected', decision: decision('reject', 'no'), state }, lambdaContext);
    expect(mails()).toHaveLength(0);
    const refused = stepUpdates().find(
      (u) => u.ExpressionAttributeNames?.['#key'] === 'S509.mail-refused.ando',
    );
    expect(refused?.ExpressionAttributeValues?.[':step']).toMatchObject({
      code: 'NoAddress',
      reason: 'ando is not in the directory',
    });
    expect(stepUpdates().find((u) => u.ExpressionAttributeNames?.['#key'] === 'S509')).toBeDefined();
  });

  it("S509: mails the rejection with the approver's comment, sets REJECTED, leaves the forecast", async () => {
    await conclude(
      { outcome: 'rejected', decision: decision('reject', 'Wait for <2.1> & retry'), state },
      lambdaContext,
    );
    const [mail] = mails();
    expect(mail!.subject).toBe('Rejected: editor 2.0');
    expect(mail!.text).toContain('Comment: Wait for <2.1> & retry');
    expect(mail!.html).toContain('Wait for &lt;2.1&gt; &amp; retry');
    const [step] = stepUpdates();
    expect(step!.ExpressionAttributeNames?.['#key']).toBe('S509');
    expect(step!.ExpressionAttributeValues?.[':status']).toBe('REJECTED');
    expect(step!.UpdateExpression).toContain('REMOVE gsi2pk, gsi2sk');
  });

  it('expiry of the approval: EXPIRED, mailed to the employee', async () => {
    await conclude({ outcome: 'expired', stage: 'approval', state }, lambdaContext);
    const [mail] = mails();
    expect(mail!.subject).toBe('Expired: editor 2.0');
    expect(mail!.text).toContain('No approver decided in time');
    expect(stepUpdates()[0]!.ExpressionAttributeValues?.[':status']).toBe('EXPIRED');
  });

  it('expiry of the budget query withdraws the line so a later answer is reported late', async () => {
    await conclude({ outcome: 'expired', stage: 'budget', state }, lambdaContext);
    const withdraw = ddb
      .commandCalls(UpdateCommand)
      .find((c) => c.args[0].input.Key?.pk === 'LINE#l-AAAAAAAAAAAAAAAAAAAAAAAA');
    expect(withdraw?.args[0].input.UpdateExpression).toContain('withdrawnAt');
    expect(stepUpdates()[0]!.ExpressionAttributeNames?.['#key']).toBe('S503.expired');
  });

  it('no approver: FAILED with the reason, mailed to the employee', async () => {
    await conclude(
      {
        outcome: 'failed',
        step: 'S504',
        reason: 'No approver is on record for ando at 2025-01-06T09:00:00.000Z.',
        state,
      },
      lambdaContext,
    );
    const [mail] = mails();
    expect(mail!.subject).toBe('Could not process: editor 2.0');
    expect(mail!.text).toContain('No approver is on record for ando');
    const [step] = stepUpdates();
    expect(step!.ExpressionAttributeNames?.['#key']).toBe('S504.failed');
    expect(step!.ExpressionAttributeValues).toMatchObject({ ':status': 'FAILED' });
  });

  it('a failed step: FAILED with the error the machine caught', async () => {
    await conclude(
      { outcome: 'failed', error: { Error: 'Lambda.Unknown', Cause: 'boom' }, state },
      lambdaContext,
    );
    expect(mails()[0]!.text).toContain('Lambda.Unknown');
    expect(stepUpdates()[0]!.ExpressionAttributeValues?.[':status']).toBe('FAILED');
  });

  it("a failed request gives its reservation back: the budget's reserved cost is released, as an entry", async () => {
    ddb.on(GetCommand, { Key: { pk: `REQ#${state.requestId}`, sk: 'LEDGER' } }).resolves({
      Item: {
        requestId: state.requestId,
        department: 'Sales',
        period: '2025-01',
        amount: 120,
        state: 'reserved',
      },
    });
    ddb.on(TransactWriteCommand).resolves({});
    await conclude(
      { outcome: 'failed', error: { Error: 'Lambda.Unknown', Cause: 'boom' }, state },
      lambdaContext,
    );
    const release = ddb
      .commandCalls(TransactWriteCommand)
      .map((c) => c.args[0].input.TransactItems!)
      .find((items) => items[0]?.Update?.Key?.sk === 'LEDGER')!;
    expect(release[0]!.Update!.ExpressionAttributeValues).toMatchObject({ ':next': 'released' });
    expect(release[1]!.Update).toMatchObject({
      Key: { pk: 'BUDGET#Sales', sk: 'PERIOD#2025-01' },
      UpdateExpression: 'SET reserved = reserved - :c, used = used - :c, remaining = remaining + :c',
      ExpressionAttributeValues: { ':c': 120 },
    });
    expect(release[2]!.Put!.Item).toMatchObject({ kind: 'release', requestId: state.requestId, amount: 120 });
  });
});
