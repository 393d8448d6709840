// The local Step Functions end to end through @aws-sdk/client-sfn, offline: Lambda is a stub,
// DynamoDB a mocked client, so these run without emulators.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import {
  CreateStateMachineCommand,
  DescribeExecutionCommand,
  type DescribeExecutionCommandOutput,
  DescribeStateMachineCommand,
  ExecutionDoesNotExist,
  GetExecutionHistoryCommand,
  InvalidDefinition,
  InvalidExecutionInput,
  InvalidName,
  InvalidToken,
  SFNClient,
  StartExecutionCommand,
  StopExecutionCommand,
} from '@aws-sdk/client-sfn';
import { SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type LocalSfn, startLocalStepFunctions } from '../../cdk/local/sfn/index.js';

const region = 'eu-west-1';
const roleArn = 'arn:aws:iam::000000000000:role/test';
const dynamodb = new DynamoDBClient({ region, credentials: { accessKeyId: 'a', secretAccessKey: 'b' } });
const sqs = new SQSClient({ region, credentials: { accessKeyId: 'a', secretAccessKey: 'b' } });
const ddbMock = mockClient(dynamodb);

let dataDir: string;
let local: LocalSfn | undefined;
let client: SFNClient;
const invocations: Array<{ name: string; payload: unknown }> = [];

async function startSfn(timeScale = 1): Promise<void> {
  local = await startLocalStepFunctions({
    port: 0,
    region,
    dataDir,
    stateMachines: [],
    timeScale,
    clients: { dynamodb, sqs },
    invokeLambda: async (name, payload) => {
      invocations.push({ name, payload });
      if (name.endsWith(':missing')) throw Object.assign(new Error('no such client'), { name: 'NotFound' });
      if (name === 'silent') return new Promise(() => {}); // never answers
      return { echo: payload, from: name };
    },
  });
  client = new SFNClient({
    region,
    endpoint: local.url,
    credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
  });
}

async function machine(name: string, definition: object): Promise<string> {
  const out = await client.send(
    new CreateStateMachineCommand({ name, definition: JSON.stringify(definition), roleArn }),
  );
  return out.stateMachineArn!;
}

async function runToEnd(
  stateMachineArn: string,
  input: object,
  name?: string,
): Promise<DescribeExecutionCommandOutput> {
  const { executionArn } = await client.send(
    new StartExecutionCommand({ stateMachineArn, input: JSON.stringify(input), ...(name ? { name } : {}) }),
  );
  // No deadline of its own: the test's timeout catches an execution that never ends.
  for (;;) {
    const out = await client.send(new DescribeExecutionCommand({ executionArn }));
    if (out.status !== 'RUNNING') return out;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

beforeEach(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'upman-sfn-unit-'));
  invocations.length = 0;
  ddbMock.reset();
  await startSfn();
});

afterEach(async () => {
  await local?.stop();
  client.destroy();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('local Step Functions engine', () => {
  it('calls lambda:invoke with the evaluated Parameters and returns the AWS result shape', async () => {
    const arn = await machine('invoke', {
      StartAt: 'Call',
      States: {
        Call: {
          Type: 'Task',
          Resource: 'arn:aws:states:::lambda:invoke',
          Parameters: {
            FunctionName: 'fn',
            Payload: { 'id.$': '$.id', 'greeting.$': "States.Format('hello {}', $.who)", fixed: 1 },
          },
          ResultSelector: { 'body.$': '$.Payload', 'code.$': '$.StatusCode' },
          End: true,
        },
      },
    });
    const done = await runToEnd(arn, { id: 'r1', who: 'ann' });
    expect(done.status).toBe('SUCCEEDED');
    expect(invocations).toEqual([{ name: 'fn', payload: { id: 'r1', greeting: 'hello ann', fixed: 1 } }]);
    expect(JSON.parse(done.output!)).toEqual({
      body: { echo: { id: 'r1', greeting: 'hello ann', fixed: 1 }, from: 'fn' },
      code: 200,
    });
  });

  it('fills $$.Execution, $$.StateMachine and $$.State, also inside a Parallel branch', async () => {
    const arn = await machine('context', {
      StartAt: 'Fan',
      States: {
        Fan: {
          Type: 'Parallel',
          Parameters: { 'sub.$': '$.n' },
          Branches: [
            {
              StartAt: 'Look',
              States: {
                Look: {
                  Type: 'Pass',
                  Parameters: {
                    'id.$': '$$.Execution.Id',
                    'name.$': '$$.Execution.Name',
                    'input.$': '$$.Execution.Input',
                    'start.$': '$$.Execution.StartTime',
                    'role.$': '$$.Execution.RoleArn',
                    'machine.$': '$$.StateMachine.Id',
                    'machineName.$': '$$.StateMachine.Name',
                    'state.$': '$$.State.Name',
                    'entered.$': '$$.State.EnteredTime',
                  },
                  End: true,
                },
              },
            },
          ],
          End: true,
        },
      },
    });
    const done = await runToEnd(arn, { n: 7 }, 'ctx-1');
    const [seen] = JSON.parse(done.output!) as Array<Record<string, unknown>>;
    expect(seen).toMatchObject({
      id: `${arn.replace(':stateMachine:', ':execution:')}:ctx-1`,
      name: 'ctx-1',
      input: { n: 7 },
      start: done.startDate?.toISOString(),
      role: roleArn,
      machine: arn,
      machineName: 'context',
      state: 'Look',
    });
    expect(Date.parse(seen?.entered as string)).toBeGreaterThanOrEqual(done.startDate!.getTime());
  });

  it('lets Catch match a Lambda function error by its errorType', async () => {
    const arn = await machine('lambda-error', {
      StartAt: 'Call',
      States: {
        Call: {
          Type: 'Task',
          Resource: 'arn:aws:lambda:eu-west-1:000000000000:function:missing',
          Catch: [{ ErrorEquals: ['NotFound'], ResultPath: '$.err', Next: 'Handled' }],
          End: true,
        },
        Handled: { Type: 'Pass', End: true },
      },
    });
    const done = await runToEnd(arn, { a: 1 });
    const out = JSON.parse(done.output!) as { err: { Error: string; Cause: string } };
    expect(out.err.Error).toBe('NotFound');
    expect(JSON.parse(out.err.Cause)).toMatchObject({
      errorType: 'NotFound',
      errorMessage: 'no such client',
    });
  });

  it('sends dynamodb:updateItem the evaluated Parameters and returns the response', async () => {
    ddbMock.on(UpdateItemCommand).resolves({ Attributes: { n: { N: '2' } } });
    const arn = await machine('ddb', {
      StartAt: 'Bump',
      States: {
        Bump: {
          Type: 'Task',
          Resource: 'arn:aws:states:::dynamodb:updateItem',
          Parameters: {
            TableName: 'T',
            Key: { pk: { 'S.$': "States.Format('REQ#{}', $.id)" } },
            UpdateExpression: 'ADD n :one',
            ExpressionAttributeValues: { ':one': { N: '1' } },
            ReturnValues: 'UPDATED_NEW',
          },
          ResultSelector: { 'n.$': '$.Attributes.n.N' },
          End: true,
        },
      },
    });
    const done = await runToEnd(arn, { id: 'x9' });
    expect(JSON.parse(done.output!)).toEqual({ n: '2' });
    expect(ddbMock.commandCalls(UpdateItemCommand)[0]?.args[0].input).toEqual({
      TableName: 'T',
      Key: { pk: { S: 'REQ#x9' } },
      UpdateExpression: 'ADD n :one',
      ExpressionAttributeValues: { ':one': { N: '1' } },
      ReturnValues: 'UPDATED_NEW',
    });
  });

  it('shortens Wait states and heartbeat timeouts by timeScale; a missed heartbeat is caught as States.Timeout', async () => {
    await local?.stop();
    await startSfn(1000);
    const arn = await machine('scaled', {
      StartAt: 'Pause',
      States: {
        Pause: { Type: 'Wait', Seconds: 600, Next: 'Ask' },
        Ask: {
          Type: 'Task',
          Resource: 'arn:aws:states:::lambda:invoke.waitForTaskToken',
          Parameters: { FunctionName: 'fn', Payload: { 'token.$': '$$.Task.Token' } },
          HeartbeatSeconds: 1,
          TimeoutSeconds: 3600,
          Catch: [{ ErrorEquals: ['States.Timeout'], ResultPath: '$.failure', Next: 'Late' }],
          End: true,
        },
        Late: { Type: 'Pass', End: true },
      },
    });
    // Unscaled, the Wait alone lasts 600 s, ten times the test's timeout.
    const done = await runToEnd(arn, {});
    expect(JSON.parse(done.output!)).toMatchObject({ failure: { Error: 'States.HeartbeatTimeout' } });
    const history = await client.send(new GetExecutionHistoryCommand({ executionArn: done.executionArn }));
    expect(history.events?.map((e) => e.type)).toContain('WaitStateExited');
    expect(history.events?.find((e) => e.type === 'TaskTimedOut')?.taskTimedOutEventDetails?.error).toBe(
      'States.HeartbeatTimeout',
    );
  });

  it('stops a running execution as ABORTED and keeps finished executions and created machines across a restart', async () => {
    const arn = await machine('waits', {
      StartAt: 'Call',
      States: {
        Call: {
          Type: 'Task',
          Resource: 'arn:aws:states:::lambda:invoke',
          Parameters: { FunctionName: 'silent' },
          End: true,
        },
      },
    });
    const { executionArn } = await client.send(
      new StartExecutionCommand({ stateMachineArn: arn, name: 'stop-me' }),
    );
    const { stopDate } = await client.send(
      new StopExecutionCommand({ executionArn, error: 'Cancelled', cause: 'by test' }),
    );
    expect(stopDate).toBeInstanceOf(Date);

    await local?.stop();
    await startSfn();
    const described = await client.send(new DescribeExecutionCommand({ executionArn }));
    expect(described).toMatchObject({
      status: 'ABORTED',
      error: 'Cancelled',
      cause: 'by test',
      name: 'stop-me',
    });
    const history = await client.send(new GetExecutionHistoryCommand({ executionArn, reverseOrder: true }));
    expect(history.events?.[0]).toMatchObject({
      type: 'ExecutionAborted',
      executionAbortedEventDetails: { error: 'Cancelled', cause: 'by test' },
    });
    expect((await client.send(new DescribeStateMachineCommand({ stateMachineArn: arn }))).name).toBe('waits');
  });

  it('answers with the errors AWS names', async () => {
    await expect(
      client.send(
        new CreateStateMachineCommand({ name: 'bad', definition: '{"StartAt":"X","States":{}}', roleArn }),
      ),
    ).rejects.toBeInstanceOf(InvalidDefinition);
    const arn = await machine('ok', { StartAt: 'P', States: { P: { Type: 'Pass', End: true } } });
    await expect(
      client.send(new StartExecutionCommand({ stateMachineArn: arn, input: '{not json' })),
    ).rejects.toBeInstanceOf(InvalidExecutionInput);
    await expect(
      client.send(new StartExecutionCommand({ stateMachineArn: arn, name: 'has space' })),
    ).rejects.toBeInstanceOf(InvalidName);
    await expect(
      client.send(
        new DescribeExecutionCommand({
          executionArn: `${arn.replace(':stateMachine:', ':execution:')}:nope`,
        }),
      ),
    ).rejects.toBeInstanceOf(ExecutionDoesNotExist);
    const done = await runToEnd(arn, {});
    await expect(
      client.send(new GetExecutionHistoryCommand({ executionArn: done.executionArn, nextToken: 'forged' })),
    ).rejects.toBeInstanceOf(InvalidToken);
  });
});
