import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { SendTaskSuccessCommand, SFNClient, TaskTimedOut } from '@aws-sdk/client-sfn';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import {
  BatchGetCommand,
  DeleteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { apiEvent, bodyOf, lambdaContext, setEnv } from './workflow-helpers.js';

setEnv();
const ddb = mockClient(DynamoDBDocumentClient);
const sfn = mockClient(SFNClient);
const sqs = mockClient(SQSClient);

type Handler = (event: unknown, context: unknown) => Promise<any>;
let budgetLine: Handler;
let batches: Handler;
let schedule: Handler;

beforeAll(async () => {
  budgetLine = (await import('../../functions/workflow/budget-line.js')).handler as unknown as Handler;
  batches = (await import('../../functions/http/budget/batches.js')).handler as unknown as Handler;
  schedule = (await import('../../functions/schedule/close-budget-batches.js')).handler as unknown as Handler;
});

const input = {
  requestId: 'r-AAAAAAAAAAAAAAAAAAAAAAAA',
  requester: 'ando',
  clientId: 'pc-ando',
  department: 'Sales',
  software: 'editor',
  targetVersion: '2.0',
  quantity: 1,
  unitPrice: 120.5,
  createdAt: '2025-01-06T09:00:00.000Z',
};
const lineId = 'l-AAAAAAAAAAAAAAAAAAAAAAAA';
const line = (extra: Record<string, unknown> = {}) => ({
  pk: `LINE#${lineId}`,
  sk: 'LINE',
  lineId,
  requestId: input.requestId,
  requester: 'ando',
  department: 'Sales',
  software: 'editor',
  version: '2.0',
  quantity: 1,
  unitPrice: 120.5,
  total: 120.5,
  createdAt: '2025-01-06T09:00:01.000Z',
  taskToken: 'TOKEN-SECRET',
  ...extra,
});
const batchId = 'b-20250106T170000-0a1b2c3d';
const condFail = () => new ConditionalCheckFailedException({ message: 'no', $metadata: {} });

beforeEach(() => {
  ddb.reset();
  sfn.reset();
  sqs.reset();
  // No budget set for the department: the ledger takes no part.
  ddb.on(BatchGetCommand).resolves({ Responses: {} });
});

describe('the S502 task: a budget line waits with its token', () => {
  it('stores the line with its token under an opaque line id, open for the next batch', async () => {
    ddb.on(PutCommand).resolves({});
    ddb.on(UpdateCommand).resolves({});
    const out = await budgetLine({ taskToken: 'TOKEN-SECRET', request: input }, lambdaContext);
    expect(out).toEqual({ lineId, closed: false });
    const put = ddb.commandCalls(PutCommand)[0]!.args[0].input;
    expect(put.Item).toMatchObject({
      pk: `LINE#${lineId}`,
      gsi1pk: 'LINES#OPEN',
      taskToken: 'TOKEN-SECRET',
      total: 120.5,
      department: 'Sales',
    });
    const step = ddb.commandCalls(UpdateCommand)[0]!.args[0].input;
    expect(step.ExpressionAttributeNames).toMatchObject({ '#key': 'S502' });
    expect(step.ExpressionAttributeValues).toMatchObject({ ':status': 'AWAITING_BUDGET' });
    expect(sqs.commandCalls(SendMessageCommand)).toHaveLength(0);
  });

  it('on a retried task keeps the line and replaces only its token', async () => {
    ddb.on(PutCommand).rejects(condFail());
    ddb.on(UpdateCommand).resolves({});
    await budgetLine({ taskToken: 'TOKEN-2', request: input }, lambdaContext);
    const token = ddb.commandCalls(UpdateCommand)[0]!.args[0].input;
    expect(token.UpdateExpression).toBe('SET taskToken = :t');
    expect(token.ExpressionAttributeValues).toEqual({ ':t': 'TOKEN-2' });
  });
});

describe('closing a batch: ONE message per batch, tokens never leave', () => {
  function openLines(n: number) {
    const items = Array.from({ length: n }, (_, i) =>
      line({ lineId: `l-${String(i).padStart(24, 'B')}`, pk: `LINE#l-${i}` }),
    );
    ddb.on(QueryCommand, { ExpressionAttributeValues: { ':pk': 'BATCHES#closing' } }).resolves({ Items: [] });
    ddb
      .on(QueryCommand, { ExpressionAttributeValues: { ':pk': 'LINES#OPEN' } })
      .resolvesOnce({ Items: items })
      .resolves({ Items: [] });
    ddb.on(PutCommand).resolves({});
    ddb.on(UpdateCommand).resolves({});
    sqs.on(SendMessageCommand).resolves({ MessageId: 'm-1' });
  }

  it('closes now for finance (POST /budget-batches/close) with every line in one message', async () => {
    openLines(3);
    const res = bodyOf(
      await batches(
        apiEvent('POST /budget-batches/close', { user: 'fin', groups: ['finance'] }),
        lambdaContext,
      ),
    );
    expect(res.status).toBe(200);
    expect(res.body.batches).toHaveLength(1);
    expect(res.body.batches[0].lines).toBe(3);
    const sends = sqs.commandCalls(SendMessageCommand);
    expect(sends).toHaveLength(1);
    const message = JSON.parse(sends[0]!.args[0].input.MessageBody!);
    expect(message.type).toBe('budget-batch');
    expect(message.lines).toHaveLength(3);
    expect(Object.keys(message.lines[0]).sort()).toEqual(
      [
        'department',
        'lineId',
        'quantity',
        'requestId',
        'requester',
        'software',
        'total',
        'unitPrice',
        'version',
      ].sort(),
    );
    expect(sends[0]!.args[0].input.MessageBody).not.toContain('TOKEN-SECRET');
    expect(message.answerUrl).toBe(`https://api.example.test/budget-batches/${message.batchId}/answers`);
    // Each line moves from the open partition into the batch only if still open.
    const moves = ddb
      .commandCalls(UpdateCommand)
      .filter((c) => c.args[0].input.ConditionExpression === 'gsi1pk = :open');
    expect(moves).toHaveLength(3);
    const sent = ddb
      .commandCalls(UpdateCommand)
      .find((c) => c.args[0].input.ExpressionAttributeValues?.[':m'] === 'm-1');
    expect(sent?.args[0].input.ExpressionAttributeValues).toMatchObject({ ':s': 'awaiting-answer' });
  });

  it('is for finance and admins only', async () => {
    const res = bodyOf(
      await batches(apiEvent('POST /budget-batches/close', { user: 'ando' }), lambdaContext),
    );
    expect(res.status).toBe(403);
    expect(sqs.commandCalls(SendMessageCommand)).toHaveLength(0);
  });

  it('sends nothing when another closer took the lines first', async () => {
    openLines(2);
    ddb.on(UpdateCommand, { ConditionExpression: 'gsi1pk = :open' }).rejects(condFail());
    ddb.on(DeleteCommand).resolves({});
    const out = await schedule({}, lambdaContext);
    expect(out.batches).toEqual([]);
    expect(sqs.commandCalls(SendMessageCommand)).toHaveLength(0);
    expect(ddb.commandCalls(DeleteCommand)).toHaveLength(1);
  });
});

describe("finance's answers (S503)", () => {
  const answer = (answers: unknown, user = 'fin', groups = ['finance']) =>
    batches(
      apiEvent('POST /budget-batches/{batchId}/answers', {
        user,
        groups,
        path: { batchId },
        body: { answers },
      }),
      lambdaContext,
    ).then(bodyOf);

  beforeEach(() => {
    ddb.on(GetCommand, { Key: { pk: `BATCH#${batchId}`, sk: 'BATCH' } }).resolves({
      Item: { batchId, closedAt: '2025-01-06T17:00:00.000Z', status: 'awaiting-answer' },
    });
    ddb.on(QueryCommand).resolves({ Items: [line({ batchId, answer: { available: true } })] });
  });

  it('records an answer once and resumes its execution with it', async () => {
    // Generic stubs first: aws-sdk-client-mock lets the latest matching one answer.
    ddb.on(GetCommand, { Key: { pk: `LINE#${lineId}`, sk: 'LINE' } }).resolves({ Item: line({ batchId }) });
    ddb.on(UpdateCommand).resolves({});
    ddb
      .on(UpdateCommand, { UpdateExpression: 'SET answer = :a' })
      .resolves({ Attributes: line({ batchId, answer: { available: true } }) });
    sfn.on(SendTaskSuccessCommand).resolves({});
    const res = await answer([{ lineId, available: true, note: 'within Q1 budget' }]);
    expect(res.status).toBe(200);
    expect(res.body.results).toEqual([{ lineId, outcome: 'accepted' }]);
    const call = sfn.commandCalls(SendTaskSuccessCommand)[0]!.args[0].input;
    expect(call.taskToken).toBe('TOKEN-SECRET');
    expect(JSON.parse(call.output!)).toMatchObject({
      lineId,
      batchId,
      available: true,
      note: 'within Q1 budget',
      total: 120.5,
      // No budget is set for Sales: the answer reserved nothing, and says so.
      reservation: null,
    });
    const record = ddb.commandCalls(UpdateCommand)[0]!.args[0].input;
    expect(record.ConditionExpression).toContain('attribute_not_exists(answer)');
    expect(record.ConditionExpression).toContain('batchId = :b');
  });

  it("a yes reserves the line's cost where a budget is set, and hands over what it reserved", async () => {
    ddb.on(GetCommand, { Key: { pk: `LINE#${lineId}`, sk: 'LINE' } }).resolves({ Item: line({ batchId }) });
    ddb.on(BatchGetCommand).resolves({
      Responses: {
        registry: [
          {
            pk: 'BUDGET#Sales',
            sk: 'PERIOD#2025-01',
            department: 'Sales',
            period: '2025-01',
            amount: 500,
            remaining: 500,
          },
        ],
      },
    });
    ddb.on(TransactWriteCommand).resolves({});
    ddb.on(UpdateCommand).resolves({});
    ddb
      .on(UpdateCommand, { UpdateExpression: 'SET answer = :a' })
      .resolves({ Attributes: line({ batchId, answer: { available: true } }) });
    sfn.on(SendTaskSuccessCommand).resolves({});
    const res = await answer([{ lineId, available: true }]);
    expect(res.body.results).toEqual([{ lineId, outcome: 'accepted' }]);
    const reserve = ddb.commandCalls(TransactWriteCommand)[0]!.args[0].input.TransactItems!;
    expect(reserve[0]!.Update).toMatchObject({
      Key: { pk: 'BUDGET#Sales', sk: 'PERIOD#2025-01' },
      ConditionExpression: 'remaining >= :c',
      ExpressionAttributeValues: { ':c': 120.5 },
    });
    // The purchase order (S507) commits exactly this, without reading the reservation first.
    const output = JSON.parse(sfn.commandCalls(SendTaskSuccessCommand)[0]!.args[0].input.output!);
    expect(output.reservation).toEqual({ period: '2025-01', amount: 120.5 });
  });

  it('reports a duplicate without resuming again, and a late answer as late', async () => {
    ddb.on(UpdateCommand, { UpdateExpression: 'SET answer = :a' }).rejects(condFail());
    ddb.on(GetCommand, { Key: { pk: `LINE#${lineId}`, sk: 'LINE' } }).resolves({
      Item: line({
        batchId,
        answer: { available: true, answeredAt: 't', answeredBy: 'fin' },
        deliveredAt: 't',
      }),
    });
    const dup = await answer([{ lineId, available: false }]);
    expect(dup.body.results[0]).toMatchObject({ lineId, outcome: 'duplicate', answer: { available: true } });
    expect(sfn.commandCalls(SendTaskSuccessCommand)).toHaveLength(0);

    ddb.reset();
    ddb
      .on(GetCommand, { Key: { pk: `BATCH#${batchId}`, sk: 'BATCH' } })
      .resolves({ Item: { batchId, closedAt: 't' } });
    ddb.on(QueryCommand).resolves({ Items: [] });
    ddb.on(BatchGetCommand).resolves({ Responses: {} });
    ddb.on(GetCommand, { Key: { pk: `LINE#${lineId}`, sk: 'LINE' } }).resolves({ Item: line({ batchId }) });
    ddb.on(UpdateCommand).resolves({});
    ddb
      .on(UpdateCommand, { UpdateExpression: 'SET answer = :a' })
      .resolves({ Attributes: line({ batchId }) });
    sfn.on(SendTaskSuccessCommand).rejects(new TaskTimedOut({ message: 'timed out', $metadata: {} }));
    const late = await answer([{ lineId, available: true }]);
    expect(late.body.results).toEqual([{ lineId, outcome: 'late' }]);
  });

  it('reports a line of another batch as unknown', async () => {
    ddb.on(UpdateCommand).resolves({});
    ddb.on(UpdateCommand, { UpdateExpression: 'SET answer = :a' }).rejects(condFail());
    ddb.on(GetCommand, { Key: { pk: `LINE#${lineId}`, sk: 'LINE' } }).resolves({
      Item: line({ batchId: 'b-20250101T000000-00000000' }),
    });
    const res = await answer([{ lineId, available: true }]);
    expect(res.body.results).toEqual([{ lineId, outcome: 'unknown' }]);
  });

  it('names the field of a malformed answer and needs the finance role', async () => {
    const bad = await answer([{ lineId, available: 'yes' }]);
    expect(bad.status).toBe(400);
    expect(bad.body.field).toBe('answers[0].available');
    expect((await answer([{ lineId, available: true }], 'ando', ['employees'])).status).toBe(403);
    const unknownBatch = bodyOf(
      await batches(
        apiEvent('POST /budget-batches/{batchId}/answers', {
          user: 'fin',
          groups: ['finance'],
          path: { batchId: 'nope' },
          body: { answers: [] },
        }),
        lambdaContext,
      ),
    );
    expect(unknownBatch.body.field).toBe('batchId');
  });

  it('lists the batches awaiting an answer with the lines that still wait', async () => {
    ddb.reset();
    ddb.on(QueryCommand, { ExpressionAttributeValues: { ':pk': 'BATCHES#awaiting-answer' } }).resolves({
      Items: [{ batchId, closedAt: '2025-01-06T17:00:00.000Z', status: 'awaiting-answer' }],
    });
    const other = 'l-CCCCCCCCCCCCCCCCCCCCCCCC';
    // The department's budget of the line's month, shown beside the line.
    ddb.on(BatchGetCommand).resolves({
      Responses: {
        registry: [
          {
            pk: 'BUDGET#Sales',
            sk: 'PERIOD#2025-01',
            department: 'Sales',
            period: '2025-01',
            amount: 500,
            remaining: 379.5,
          },
        ],
      },
    });
    ddb.on(QueryCommand, { ExpressionAttributeValues: { ':pk': `LINES#${batchId}` } }).resolves({
      Items: [line({ batchId }), line({ batchId, lineId: other, answer: { available: true } })],
    });
    const res = bodyOf(
      await batches(
        apiEvent('GET /budget-batches', {
          user: 'fin',
          groups: ['finance'],
          query: { status: 'awaiting-answer' },
        }),
        lambdaContext,
      ),
    );
    expect(res.status).toBe(200);
    expect(res.body.items).toEqual([
      {
        batchId,
        closedAt: '2025-01-06T17:00:00.000Z',
        lines: [
          {
            lineId,
            requestId: input.requestId,
            requester: 'ando',
            department: 'Sales',
            software: 'editor',
            version: '2.0',
            quantity: 1,
            unitPrice: 120.5,
            total: 120.5,
            budget: { period: '2025-01', remaining: 379.5 },
          },
        ],
      },
    ]);
  });
});
