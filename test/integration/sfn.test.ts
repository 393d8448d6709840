// The local Step Functions through @aws-sdk/client-sfn, with its SQS and DynamoDB integrations
// talking to the local cloud's emulators.
import { readFileSync } from 'node:fs';
import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import {
  CreateStateMachineCommand,
  DescribeExecutionCommand,
  type DescribeExecutionCommandOutput,
  ExecutionAlreadyExists,
  GetExecutionHistoryCommand,
  type HistoryEvent,
  ListExecutionsCommand,
  SendTaskFailureCommand,
  SendTaskSuccessCommand,
  SFNClient,
  StartExecutionCommand,
  StateMachineDoesNotExist,
  StopExecutionCommand,
  TaskTimedOut,
} from '@aws-sdk/client-sfn';
import {
  CreateQueueCommand,
  DeleteMessageCommand,
  ReceiveMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';

const e = inject('endpoints');
const config = { region: e.region, credentials: e.credentials };
const sfn = new SFNClient({ ...config, endpoint: e.sfn });
const sqs = new SQSClient({ ...config, endpoint: e.sqs });
const ddb = new DynamoDBClient({ ...config, endpoint: e.dynamodb });
const table = 'upman-test-table';
const run = Date.now().toString(36);
const roleArn = 'arn:aws:iam::000000000000:role/upman-test-sfn';

let queueUrl: string;
const machines: Record<string, string> = {};

async function createMachine(fixture: string): Promise<string> {
  const definition = readFileSync(new URL(`./fixtures/${fixture}.asl.json`, import.meta.url), 'utf8');
  const out = await sfn.send(
    new CreateStateMachineCommand({ name: `${fixture}-${run}`, definition, roleArn }),
  );
  return out.stateMachineArn!;
}

/** Receives the message the execution sent for this request (the queue belongs to this file). */
async function receiveToken(requestId: string): Promise<string> {
  const deadline = Date.now() + 90_000; // generous: a busy machine delivers late
  while (Date.now() < deadline) {
    const out = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queueUrl, WaitTimeSeconds: 1, MaxNumberOfMessages: 10 }),
    );
    for (const m of out.Messages ?? []) {
      const body = JSON.parse(m.Body ?? '{}') as { requestId?: string; taskToken?: string };
      await sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: m.ReceiptHandle! }));
      if (body.requestId === requestId && body.taskToken) return body.taskToken;
    }
  }
  throw new Error(`no message for ${requestId}`);
}

async function finished(executionArn: string): Promise<DescribeExecutionCommandOutput> {
  const deadline = Date.now() + 90_000;
  while (Date.now() < deadline) {
    const out = await sfn.send(new DescribeExecutionCommand({ executionArn }));
    if (out.status !== 'RUNNING') return out;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`${executionArn} is still running`);
}

async function history(executionArn: string): Promise<HistoryEvent[]> {
  return (await sfn.send(new GetExecutionHistoryCommand({ executionArn, maxResults: 1000 }))).events ?? [];
}

function start(machine: string, requestId: string, extra: Record<string, unknown> = {}) {
  return sfn.send(
    new StartExecutionCommand({
      stateMachineArn: machine,
      name: requestId,
      input: JSON.stringify({ requestId, queueUrl, table, ...extra }),
    }),
  );
}

beforeAll(async () => {
  queueUrl = (await sqs.send(new CreateQueueCommand({ QueueName: `upman-sfn-test-${run}` }))).QueueUrl!;
  machines.callback = await createMachine('sfn-callback');
  machines.expiry = await createMachine('sfn-expiry');
  machines.putOnce = await createMachine('sfn-put-once');
});

afterAll(() => {
  sfn.destroy();
  sqs.destroy();
  ddb.destroy();
});

describe('local Step Functions', () => {
  it('resumes a .waitForTaskToken task on SendTaskSuccess and succeeds with the sent output', async () => {
    const requestId = `ok-${run}`;
    const { executionArn } = await start(machines.callback!, requestId);
    const token = await receiveToken(requestId);
    expect(token).toMatch(/^[A-Za-z0-9_-]{64}$/);

    await sfn.send(new SendTaskSuccessCommand({ taskToken: token, output: JSON.stringify({ by: 'boss' }) }));

    const done = await finished(executionArn!);
    expect(done.status).toBe('SUCCEEDED');
    expect(JSON.parse(done.output!)).toMatchObject({ requestId, answer: { by: 'boss' } });
    // A token answers once; afterwards AWS says the task is over.
    await expect(
      sfn.send(new SendTaskSuccessCommand({ taskToken: token, output: '{}' })),
    ).rejects.toBeInstanceOf(TaskTimedOut);
  });

  it('writes to DynamoDB from a dynamodb:updateItem task with $$ context values', async () => {
    const requestId = `ddb-${run}`;
    const { executionArn } = await start(machines.callback!, requestId);
    await sfn.send(
      new SendTaskSuccessCommand({
        taskToken: await receiveToken(requestId),
        output: JSON.stringify({ by: 'carol' }),
      }),
    );
    expect((await finished(executionArn!)).status).toBe('SUCCEEDED');

    const item = await ddb.send(
      new GetItemCommand({
        TableName: table,
        Key: { pk: { S: `SFNTEST#${requestId}` }, sk: { S: 'ANSWER' } },
      }),
    );
    expect(item.Item).toMatchObject({
      status: { S: 'APPROVED' },
      approver: { S: 'carol' },
      execution: { S: executionArn },
    });
  });

  it('goes to the Catch for the error named in SendTaskFailure', async () => {
    const requestId = `no-${run}`;
    const { executionArn } = await start(machines.callback!, requestId);
    await sfn.send(
      new SendTaskFailureCommand({
        taskToken: await receiveToken(requestId),
        error: 'Rejected',
        cause: 'not this year',
      }),
    );

    const done = await finished(executionArn!);
    expect(done.status).toBe('SUCCEEDED');
    expect(JSON.parse(done.output!)).toEqual({
      outcome: 'declined',
      failure: { Error: 'Rejected', Cause: 'not this year' },
    });
    const failed = (await history(executionArn!)).find((ev) => ev.type === 'TaskFailed');
    expect(failed?.taskFailedEventDetails).toMatchObject({
      resourceType: 'sqs',
      resource: 'sendMessage.waitForTaskToken',
      error: 'Rejected',
      cause: 'not this year',
    });
  });

  it('catches States.Timeout when no answer comes within TimeoutSeconds', async () => {
    const requestId = `late-${run}`;
    const { executionArn } = await start(machines.expiry!, requestId);
    const token = await receiveToken(requestId);

    const done = await finished(executionArn!);
    expect(done.status).toBe('SUCCEEDED');
    expect(JSON.parse(done.output!)).toEqual({ outcome: 'expired', error: 'States.Timeout' });
    expect((await history(executionArn!)).map((ev) => ev.type)).toContain('TaskTimedOut');
    await expect(
      sfn.send(new SendTaskSuccessCommand({ taskToken: token, output: '{}' })),
    ).rejects.toBeInstanceOf(TaskTimedOut);
  });

  it('treats StartExecution with the same name and input as one execution, and other input as a conflict', async () => {
    const requestId = `twice-${run}`;
    const first = await start(machines.callback!, requestId);
    const second = await start(machines.callback!, requestId);
    expect(second.executionArn).toBe(first.executionArn);
    expect(second.startDate).toEqual(first.startDate);

    const listed = await sfn.send(
      new ListExecutionsCommand({ stateMachineArn: machines.callback!, statusFilter: 'RUNNING' }),
    );
    expect(listed.executions?.filter((x) => x.name === requestId)).toHaveLength(1);

    await expect(start(machines.callback!, requestId, { other: true })).rejects.toBeInstanceOf(
      ExecutionAlreadyExists,
    );

    await sfn.send(
      new StopExecutionCommand({ executionArn: first.executionArn, error: 'Test', cause: 'done' }),
    );
    const stopped = await sfn.send(new DescribeExecutionCommand({ executionArn: first.executionArn }));
    expect(stopped).toMatchObject({ status: 'ABORTED', error: 'Test', cause: 'done' });
    // Closed executions keep their name: AWS answers ExecutionAlreadyExists whatever the input.
    await expect(start(machines.callback!, requestId)).rejects.toBeInstanceOf(ExecutionAlreadyExists);
  });

  it('lists the states in order in GetExecutionHistory, paged and reversed', async () => {
    const requestId = `hist-${run}`;
    const { executionArn } = await start(machines.callback!, requestId);
    await sfn.send(
      new SendTaskSuccessCommand({
        taskToken: await receiveToken(requestId),
        output: JSON.stringify({ by: 'dave' }),
      }),
    );
    await finished(executionArn!);

    const events = await history(executionArn!);
    expect(events.map((ev) => ev.type)).toEqual([
      'ExecutionStarted',
      'TaskStateEntered',
      'TaskScheduled',
      'TaskStarted',
      'TaskSubmitted',
      'TaskSucceeded',
      'TaskStateExited',
      'TaskStateEntered',
      'TaskScheduled',
      'TaskStarted',
      'TaskSucceeded',
      'TaskStateExited',
      'SucceedStateEntered',
      'SucceedStateExited',
      'ExecutionSucceeded',
    ]);
    expect(
      events.filter((ev) => ev.stateEnteredEventDetails).map((ev) => ev.stateEnteredEventDetails?.name),
    ).toEqual(['Ask', 'Record', 'Done']);
    expect(events.map((ev) => ev.id)).toEqual(events.map((_, i) => i + 1));
    expect(events[0]?.executionStartedEventDetails?.roleArn).toBe(roleArn);
    const scheduled = events.find((ev) => ev.type === 'TaskScheduled');
    expect(JSON.parse(scheduled?.taskScheduledEventDetails?.parameters ?? '{}')).toMatchObject({
      QueueUrl: queueUrl,
      MessageBody: { requestId, execution: requestId },
    });

    const page1 = await sfn.send(new GetExecutionHistoryCommand({ executionArn, maxResults: 4 }));
    const page2 = await sfn.send(
      new GetExecutionHistoryCommand({ executionArn, maxResults: 4, nextToken: page1.nextToken }),
    );
    expect([...(page1.events ?? []), ...(page2.events ?? [])].map((ev) => ev.id)).toEqual([
      1, 2, 3, 4, 5, 6, 7, 8,
    ]);
    const reversed = await sfn.send(
      new GetExecutionHistoryCommand({ executionArn, reverseOrder: true, maxResults: 2 }),
    );
    expect(reversed.events?.map((ev) => ev.type)).toEqual(['ExecutionSucceeded', 'SucceedStateExited']);
  });

  it('reports a failed DynamoDB condition as DynamoDB.ConditionalCheckFailedException for Catch', async () => {
    const pk = `SFNONCE#${run}`;
    const first = await sfn.send(
      new StartExecutionCommand({ stateMachineArn: machines.putOnce!, input: JSON.stringify({ table, pk }) }),
    );
    expect(JSON.parse((await finished(first.executionArn!)).output!)).toEqual({ outcome: 'created' });
    const second = await sfn.send(
      new StartExecutionCommand({ stateMachineArn: machines.putOnce!, input: JSON.stringify({ table, pk }) }),
    );
    expect(JSON.parse((await finished(second.executionArn!)).output!)).toEqual({
      outcome: 'duplicate',
      error: 'DynamoDB.ConditionalCheckFailedException',
    });
  });

  it('answers StateMachineDoesNotExist for an unknown machine', async () => {
    await expect(
      sfn.send(
        new StartExecutionCommand({
          stateMachineArn: machines.callback!.replace(/[^:]+$/, 'no-such-machine'),
          input: '{}',
        }),
      ),
    ).rejects.toBeInstanceOf(StateMachineDoesNotExist);
  });
});
