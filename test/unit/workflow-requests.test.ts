import { SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
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

function registryHas() {
  ddb.on(GetCommand, { Key: { pk: 'CLIENT#pc-ando', sk: 'CLIENT' } }).resolves({
    Item: { pk: 'CLIENT#pc-ando', sk: 'CLIENT', clientId: 'pc-ando', department: 'Sales', users: ['ando'] },
  });
  ddb.on(GetCommand, { Key: { pk: 'SOFTWARE#editor', sk: 'SOFTWARE' } }).resolves({
    Item: { name: 'editor', latestVersion: '2.0', licencePrice: 120, latestRevision: 20 },
  });
}

const post = (b: unknown, headers: Record<string, string> = { 'idempotency-key': key }, user = 'ando') =>
  submit(apiEvent('POST /update-requests', { user, body: b, headers }), lambdaContext).then(bodyOf);

describe('POST /update-requests (S501)', () => {
  beforeEach(() => {
    ddb.reset();
    sfn.reset();
    registryHas();
    sfn.on(StartExecutionCommand).resolves({ executionArn: `arn:exec:${requestId}` });
  });

  it('records the request and starts its execution named by the request id, answering 202', async () => {
    ddb.on(GetCommand, { Key: { pk: `REQ#${requestId}`, sk: 'REQUEST' } }).resolves({});
    ddb.on(PutCommand).resolves({});
    const res = await post(body);
    expect(res.status).toBe(202);
    expect(res.body).toEqual({ requestId, status: 'AWAITING_BUDGET' });
    const put = ddb.commandCalls(PutCommand)[0]!.args[0].input;
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
    });
    expect(put.Item?.steps).toHaveProperty('S501');
    const start = sfn.commandCalls(StartExecutionCommand)[0]!.args[0].input;
    expect(start.name).toBe(requestId);
    expect(JSON.parse(start.input!)).toMatchObject({
      requestId,
      requester: 'ando',
      software: 'editor',
      quantity: 1,
    });
  });

  it('answers the same request for a resend of the same key, and starts with the same name and input', async () => {
    const stored = storedRequest({
      pk: `REQ#${requestId}`,
      requestId,
      status: 'AWAITING_BUDGET',
      bodyHash: undefined,
    });
    // The stored body hash is whatever the first call computed: take it from a first run.
    ddb.on(GetCommand, { Key: { pk: `REQ#${requestId}`, sk: 'REQUEST' } }).resolvesOnce({});
    ddb.on(PutCommand).resolves({});
    await post(body);
    const first = ddb.commandCalls(PutCommand)[0]!.args[0].input.Item!;
    ddb.on(GetCommand, { Key: { pk: `REQ#${requestId}`, sk: 'REQUEST' } }).resolves({
      Item: { ...stored, ...first },
    });
    const again = await post(body);
    expect(again.status).toBe(202);
    expect(again.body.requestId).toBe(requestId);
    expect(ddb.commandCalls(PutCommand)).toHaveLength(1);
    const starts = sfn.commandCalls(StartExecutionCommand).map((c) => c.args[0].input);
    expect(starts).toHaveLength(2);
    expect(starts[1]).toEqual(starts[0]);
  });

  it('refuses the same key with another body (409 naming Idempotency-Key)', async () => {
    ddb.on(GetCommand, { Key: { pk: `REQ#${requestId}`, sk: 'REQUEST' } }).resolves({
      Item: storedRequest({ requestId, bodyHash: 'another' }),
    });
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
    ddb.on(GetCommand, { Key: { pk: `REQ#${requestIdOf('kaneda', key)}`, sk: 'REQUEST' } }).resolves({});
    expect((await post(body, { 'idempotency-key': key }, 'kaneda')).status).toBe(403);
    ddb.on(GetCommand, { Key: { pk: `REQ#${requestId}`, sk: 'REQUEST' } }).resolves({});
    ddb.on(GetCommand, { Key: { pk: 'SOFTWARE#nothing', sk: 'SOFTWARE' } }).resolves({});
    const res = await post({ ...body, software: 'nothing' });
    expect(res.status).toBe(404);
    expect(res.body.field).toBe('software');
    expect(ddb.commandCalls(PutCommand)).toHaveLength(0);
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
