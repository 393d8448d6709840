import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import {
  BatchGetCommand,
  DynamoDBDocumentClient,
  GetCommand,
  QueryCommand,
  TransactWriteCommand,
} from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { requestIdOf } from '../../lib/workflow/ids.js';
import { apiEvent, bodyOf, lambdaContext, setEnv, storedRequest } from './workflow-helpers.js';

setEnv();
const ddb = mockClient(DynamoDBDocumentClient);
const sfn = mockClient(SFNClient);

type Handler = (event: unknown, context: unknown) => Promise<any>;
let submit: Handler;
let read: Handler;

beforeAll(async () => {
  submit = (await import('../../functions/http/requests/submit.js')).handler as unknown as Handler;
  read = (await import('../../functions/http/requests/read.js')).handler as unknown as Handler;
});

const body = { clientId: 'pc-ando', software: 'editor', reason: 'security fix' };
const key = 'key-0001-abcdef';
const requestId = requestIdOf('ando', key);

// The registry table as the submission reads it (GetItem and BatchGetItem by key).
const table = new Map<string, Record<string, unknown>>();
const keyOf = (k: { pk?: unknown; sk?: unknown }) => `${String(k.pk)}|${String(k.sk)}`;
const store = (item: Record<string, unknown>) => table.set(keyOf(item), item);
const unstore = (pk: string, sk: string) => table.delete(keyOf({ pk, sk }));

function fakeTable() {
  ddb.on(GetCommand).callsFake((input: { Key: { pk: string; sk: string } }) => {
    const item = table.get(keyOf(input.Key));
    return item ? { Item: item } : {};
  });
  ddb
    .on(BatchGetCommand)
    .callsFake((input: { RequestItems: Record<string, { Keys: Array<{ pk: string; sk: string }> }> }) => {
      const [name, request] = Object.entries(input.RequestItems)[0]!;
      const items = request.Keys.map((k) => table.get(keyOf(k))).filter((i) => i !== undefined);
      return { Responses: { [name]: items } };
    });
}

function registryHas(price = 120, installed?: string) {
  store({ pk: 'CLIENT#pc-ando', sk: 'CLIENT', clientId: 'pc-ando', department: 'Sales', users: ['ando'] });
  store({
    pk: 'SOFTWARE#editor',
    sk: 'SOFTWARE',
    name: 'editor',
    latestVersion: '2.0',
    licencePrice: price,
    latestRevision: 20,
  });
  // The client's inventory head: what it runs, as the registry knows it.
  store({
    pk: 'CLIENT#pc-ando',
    sk: 'INVENTORY',
    type: 'inventory',
    clientId: 'pc-ando',
    seq: 1,
    installed: installed ? { editor: { software: 'editor', version: installed, revision: 20 } } : {},
  });
}

// No budget set for Sales unless a test says so.
const withBudget = (remaining: number, automaticAnswers?: boolean) => {
  store({
    pk: 'BUDGET#Sales',
    sk: 'PERIOD#2025-01',
    department: 'Sales',
    period: '2025-01',
    amount: 1000,
    remaining,
  });
  if (automaticAnswers === undefined) unstore('BUDGET#Sales', 'SETTINGS');
  else store({ pk: 'BUDGET#Sales', sk: 'SETTINGS', department: 'Sales', automaticAnswers });
};

const canceled = (...codes: string[]) =>
  new TransactionCanceledException({
    message: 'canceled',
    $metadata: {},
    CancellationReasons: codes.map((Code) => ({ Code })),
  });

const post = (b: unknown, headers: Record<string, string> = { 'idempotency-key': key }, user = 'ando') =>
  submit(apiEvent('POST /update-requests', { user, body: b, headers }), lambdaContext).then(bodyOf);

const transactions = () => ddb.commandCalls(TransactWriteCommand).map((c) => c.args[0].input.TransactItems!);
const started = () => JSON.parse(sfn.commandCalls(StartExecutionCommand)[0]!.args[0].input.input!);

describe('POST /update-requests (S501)', () => {
  afterEach(() => vi.useRealTimers());
  beforeEach(() => {
    // In January 2025: the budgets below are of period 2025-01.
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(new Date('2025-01-15T10:00:00.000Z'));
    ddb.reset();
    sfn.reset();
    table.clear();
    fakeTable();
    registryHas();
    // The callers are in the directory as their tokens say: no directory write.
    for (const key of ['ando', 'kaneda']) {
      store({ pk: `PERSON#${key}`, sk: 'PERSON', key, login: key, active: true, revision: 1 });
    }
    sfn.on(StartExecutionCommand).resolves({ executionArn: `arn:exec:${requestId}` });
    ddb.on(TransactWriteCommand).resolves({});
  });

  it('records the request with its in-flight lock and starts its execution named by the request id, answering 202', async () => {
    const res = await post(body);
    expect(res.status).toBe(202);
    expect(res.body).toEqual({ requestId, status: 'AWAITING_BUDGET' });
    const [items] = transactions();
    expect(items).toHaveLength(2);
    const put = items![0]!.Put!;
    expect(put.ConditionExpression).toBe('attribute_not_exists(pk)');
    expect(put.Item).toMatchObject({
      pk: `REQ#${requestId}`,
      sk: 'REQUEST',
      gsi1pk: 'REQUESTER#ando',
      gsi2pk: 'INFLIGHT#editor',
      status: 'AWAITING_BUDGET',
      department: 'Sales',
      targetVersion: '2.0',
      unitPrice: 120,
      quantity: 1,
      policy: { approverMayOverrideBudget: false },
    });
    expect(put.Item?.steps).toHaveProperty('S501');
    expect(items![1]!.Put).toMatchObject({
      Item: { pk: 'REQLOCK#pc-ando#editor', sk: 'LOCK', requestId },
      ConditionExpression: 'attribute_not_exists(pk)',
    });
    const start = sfn.commandCalls(StartExecutionCommand)[0]!.args[0].input;
    expect(start.name).toBe(requestId);
    expect(started()).toMatchObject({ requestId, requester: 'ando', software: 'editor', quantity: 1 });
    expect(started()).not.toHaveProperty('budget');
    // Everything it read, in two reads: the request, client, catalog and inventory head; then the
    // department's budgets with its switch and the software's licence pools.
    const reads = ddb.commandCalls(BatchGetCommand).map((c) => c.args[0].input.RequestItems!.registry!.Keys);
    expect(reads).toEqual([
      [
        { pk: `REQ#${requestId}`, sk: 'REQUEST' },
        { pk: 'CLIENT#pc-ando', sk: 'CLIENT' },
        { pk: 'SOFTWARE#editor', sk: 'SOFTWARE' },
        { pk: 'CLIENT#pc-ando', sk: 'INVENTORY' },
      ],
      [
        { pk: 'BUDGET#Sales', sk: 'PERIOD#2025-01' },
        { pk: 'BUDGET#Sales', sk: 'PERIOD#2025-Q1' },
        { pk: 'BUDGET#Sales', sk: 'SETTINGS' },
        { pk: 'LICENCES#editor', sk: 'POOL#2.0' },
        { pk: 'LICENCES#editor', sk: 'POOL#*' },
      ],
    ]);
    // (The caller's directory entry is read once per container, to keep it in step with the token.)
    const singleReads = ddb.commandCalls(GetCommand).map((c) => String(c.args[0].input.Key?.pk));
    expect(singleReads.filter((pk) => !pk.startsWith('PERSON#'))).toEqual([]);
    expect(ddb.commandCalls(QueryCommand)).toHaveLength(0);
  });

  it('answers the same request for a resend of the same key, and starts with the same name and input', async () => {
    const stored = storedRequest({
      pk: `REQ#${requestId}`,
      requestId,
      status: 'AWAITING_BUDGET',
      bodyHash: undefined,
    });
    // The stored body hash is whatever the first call computed: take it from a first run.
    await post(body);
    const first = transactions()[0]![0]!.Put!.Item!;
    store({ ...stored, ...first });
    const again = await post(body);
    expect(again.status).toBe(202);
    expect(again.body.requestId).toBe(requestId);
    expect(transactions()).toHaveLength(1);
    const starts = sfn.commandCalls(StartExecutionCommand).map((c) => c.args[0].input);
    expect(starts).toHaveLength(2);
    expect(starts[1]).toEqual(starts[0]);
  });

  it('refuses a version the client already runs (409), writing nothing', async () => {
    registryHas(120, '2.0');
    const res = await post(body);
    expect(res.status).toBe(409);
    expect(res.body.message).toContain('pc-ando already runs editor 2.0');
    expect(transactions()).toHaveLength(0);
    expect(sfn.commandCalls(StartExecutionCommand)).toHaveLength(0);
  });

  it('refuses while a request of the same client and software is in flight (409 naming it)', async () => {
    const other = 'r-BBBBBBBBBBBBBBBBBBBBBBBB';
    ddb.on(TransactWriteCommand).rejects(canceled('None', 'ConditionalCheckFailed'));
    store({ pk: 'REQLOCK#pc-ando#editor', sk: 'LOCK', requestId: other });
    store(
      storedRequest({
        pk: `REQ#${other}`,
        requestId: other,
        status: 'AWAITING_APPROVAL',
        targetVersion: '2.0',
      }),
    );
    const res = await post(body);
    expect(res.status).toBe(409);
    expect(res.body.message).toContain(other);
    expect(res.body.message).toContain('AWAITING_APPROVAL');
    expect(sfn.commandCalls(StartExecutionCommand)).toHaveLength(0);
  });

  it('takes over the lock of a request that left flight, conditionally on it naming that request', async () => {
    const old = 'r-CCCCCCCCCCCCCCCCCCCCCCCC';
    ddb.on(TransactWriteCommand).rejectsOnce(canceled('None', 'ConditionalCheckFailed')).resolves({});
    store({ pk: 'REQLOCK#pc-ando#editor', sk: 'LOCK', requestId: old });
    store(storedRequest({ pk: `REQ#${old}`, requestId: old, status: 'REJECTED' }));
    const res = await post(body);
    expect(res.status).toBe(202);
    const lock = transactions()[1]![1]!.Put!;
    expect(lock.ConditionExpression).toBe('requestId = :stale');
    expect(lock.ExpressionAttributeValues).toEqual({ ':stale': old });
  });

  it('skips finance for a price of 0: S502/S503 answered by the policy, the execution starts with the answer', async () => {
    registryHas(0);
    const res = await post(body);
    expect(res.status).toBe(202);
    expect(res.body.status).toBe('AWAITING_APPROVAL');
    const [items] = transactions();
    expect(items).toHaveLength(2);
    expect(items![0]!.Put!.Item!.steps).toMatchObject({
      S503: { available: true, answeredBy: 'policy', total: 0 },
    });
    expect(started().budget).toMatchObject({ available: true, answeredBy: 'policy', total: 0 });
  });

  it('reserves the cost on the ledger when the remaining budget covers it, in the same transaction', async () => {
    withBudget(500);
    const res = await post(body);
    expect(res.status).toBe(202);
    const [items] = transactions();
    const budget = items!.find((i) => i.Update?.Key?.pk === 'BUDGET#Sales')!.Update!;
    expect(budget.Key).toEqual({ pk: 'BUDGET#Sales', sk: 'PERIOD#2025-01' });
    expect(budget.ConditionExpression).toBe('remaining >= :c');
    expect(budget.ExpressionAttributeValues).toEqual({ ':c': 120 });
    expect(items!.find((i) => i.ConditionCheck)?.ConditionCheck?.Key).toEqual({
      pk: 'BUDGET#Sales',
      sk: 'SETTINGS',
    });
    // The execution carries what was reserved, so the purchase order commits it without a read.
    expect(started().budget).toMatchObject({
      available: true,
      answeredBy: 'ledger',
      total: 120,
      reservation: { period: '2025-01', amount: 120 },
    });
  });

  it("sends the line to finance's batch when the reservation fails (others took the budget first)", async () => {
    withBudget(500);
    ddb
      .on(TransactWriteCommand)
      .rejectsOnce(canceled('None', 'None', 'ConditionalCheckFailed', 'None', 'None', 'None'))
      .resolves({});
    const res = await post(body);
    expect(res.status).toBe(202);
    expect(res.body.status).toBe('AWAITING_BUDGET');
    expect(transactions()[1]).toHaveLength(2);
    expect(started()).not.toHaveProperty('budget');
  });

  it('asks finance when the budget falls short or its automatic answers are off, without trying to reserve', async () => {
    withBudget(100);
    expect((await post(body)).body.status).toBe('AWAITING_BUDGET');
    withBudget(500, false);
    expect((await post(body, { 'idempotency-key': 'key-0002-abcdef' })).body.status).toBe('AWAITING_BUDGET');
    for (const items of transactions()) expect(items).toHaveLength(2);
  });

  it('refuses the same key with another body (409 naming Idempotency-Key)', async () => {
    store(storedRequest({ pk: `REQ#${requestId}`, requestId, bodyHash: 'another' }));
    const res = await post({ ...body, reason: 'something else' });
    expect(res.status).toBe(409);
    expect(res.body.field).toBe('Idempotency-Key');
    expect(sfn.commandCalls(StartExecutionCommand)).toHaveLength(0);
  });

  it('needs an Idempotency-Key header', async () => {
    const res = await post(body, {});
    expect(res.status).toBe(400);
    expect(res.body.field).toBe('Idempotency-Key');
  });

  it('names the field of a bad body', async () => {
    const res = await post({ ...body, reason: '' });
    expect(res.status).toBe(400);
    expect(res.body.field).toBe('reason');
    const bad = await post({ ...body, targetVersion: 'latest!' });
    expect(bad.body.field).toBe('targetVersion');
  });

  it('refuses a client the caller does not use (403) and software not in the catalog (404)', async () => {
    expect((await post(body, { 'idempotency-key': key }, 'kaneda')).status).toBe(403);
    const res = await post({ ...body, software: 'nothing' });
    expect(res.status).toBe(404);
    expect(res.body.field).toBe('software');
    expect(transactions()).toHaveLength(0);
  });
});

describe('GET /update-requests/{id} and GET /update-requests', () => {
  beforeEach(() => {
    ddb.reset();
    ddb.on(GetCommand).resolves({ Item: storedRequest() });
  });
  const get = (user: string, groups = ['employees']) =>
    read(
      apiEvent('GET /update-requests/{id}', { user, groups, path: { id: 'r-AAAAAAAAAAAAAAAAAAAAAAAA' } }),
      lambdaContext,
    ).then(bodyOf);

  it('shows the requester the status and the steps reached, in order', async () => {
    const res = await get('ando');
    expect(res.status).toBe(200);
    expect(res.body.status).toBe('AWAITING_APPROVAL');
    expect(res.body.steps.map((s: { step: string }) => s.step)).toEqual([
      'S501',
      'S502',
      'S503',
      'S504',
      'S505',
    ]);
    expect(res.body.steps[2]).toMatchObject({
      step: 'S503',
      available: true,
      at: '2025-01-06T17:00:05.000Z',
    });
  });

  it('lets their approver and admins read it, and nobody else', async () => {
    expect((await get('okachi', ['employees', 'approvers'])).status).toBe(200);
    expect((await get('root', ['admins'])).status).toBe(200);
    expect((await get('kaneda')).status).toBe(403);
  });

  it("lists only the caller's own requests, newest first, with a cursor", async () => {
    ddb.on(QueryCommand).resolves({
      Items: [storedRequest()],
      LastEvaluatedKey: { pk: 'x', sk: 'y', gsi1pk: 'REQUESTER#ando', gsi1sk: 'z' },
    });
    const res = bodyOf(
      await read(apiEvent('GET /update-requests', { user: 'ando', query: { limit: '1' } }), lambdaContext),
    );
    expect(res.status).toBe(200);
    expect(res.body.items).toHaveLength(1);
    expect(typeof res.body.cursor).toBe('string');
    const q = ddb.commandCalls(QueryCommand)[0]!.args[0].input;
    expect(q).toMatchObject({ IndexName: 'GSI1', ScanIndexForward: false, Limit: 1 });
    expect(q.ExpressionAttributeValues).toEqual({ ':pk': 'REQUESTER#ando' });
    const next = bodyOf(
      await read(
        apiEvent('GET /update-requests', { user: 'kaneda', query: { cursor: res.body.cursor } }),
        lambdaContext,
      ),
    );
    // The cursor carries a position only: the partition is always the caller's own.
    expect(ddb.commandCalls(QueryCommand)[1]!.args[0].input.ExclusiveStartKey).toMatchObject({
      gsi1pk: 'REQUESTER#kaneda',
    });
    expect(next.status).toBe(200);
    expect(
      bodyOf(await read(apiEvent('GET /update-requests', { query: { cursor: 'junk' } }), lambdaContext)).body
        .field,
    ).toBe('cursor');
  });
});
