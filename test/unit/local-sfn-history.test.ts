import { describe, expect, it } from 'vitest';
import { HistoryRecorder, type TaskInfo } from '../../cdk/local/sfn/history.js';

const types: Record<string, string> = { Ask: 'Task', Pause: 'Wait', Call: 'Task', Fan: 'Parallel' };
const tasks: Record<string, TaskInfo> = {
  Ask: { resourceType: 'sqs', resource: 'sendMessage.waitForTaskToken', timeoutInSeconds: 60 },
  Call: { resource: 'arn:aws:lambda:eu-west-1:000000000000:function:fn' },
};

function recorder() {
  let clock = 1_000;
  return new HistoryRecorder({
    region: 'eu-west-1',
    roleArn: 'arn:aws:iam::000000000000:role/r',
    stateType: (name) => types[name],
    task: (name) => tasks[name],
    now: () => clock++,
  });
}

describe('HistoryRecorder', () => {
  it('maps runner events and task events to AWS history events with ids in order', () => {
    const h = recorder();
    h.fromRunner({ type: 'ExecutionStarted', timestamp: 1, input: { a: 1 } });
    h.fromRunner({
      type: 'StateEntered',
      timestamp: 2,
      state: { name: 'Ask', type: 'Task', input: { a: 1 } },
    });
    h.taskScheduled('Ask', { QueueUrl: 'q', MessageBody: { t: 'tok' } });
    h.taskStarted('Ask');
    h.taskSubmitted('Ask', { MessageId: 'm1' });
    h.taskSucceeded('Ask', { ok: true });
    h.fromRunner({ type: 'StateRetried', timestamp: 3, state: { name: 'Ask', type: 'Task' } });
    h.fromRunner({
      type: 'StateExited',
      timestamp: 4,
      state: { name: 'Ask', type: 'Task', output: { ok: true } },
    });
    h.fromRunner({ type: 'ExecutionSucceeded', timestamp: 5, output: { ok: true } });

    expect(h.events.map((e) => [e.id, e.previousEventId, e.type])).toEqual([
      [1, 0, 'ExecutionStarted'],
      [2, 1, 'TaskStateEntered'],
      [3, 2, 'TaskScheduled'],
      [4, 3, 'TaskStarted'],
      [5, 4, 'TaskSubmitted'],
      [6, 5, 'TaskSucceeded'],
      [7, 6, 'TaskStateExited'],
      [8, 7, 'ExecutionSucceeded'],
    ]);
    expect(h.events[0]).toMatchObject({
      timestamp: 1,
      executionStartedEventDetails: { input: '{"a":1}', roleArn: 'arn:aws:iam::000000000000:role/r' },
    });
    expect(h.events[2]?.taskScheduledEventDetails).toEqual({
      resourceType: 'sqs',
      resource: 'sendMessage.waitForTaskToken',
      region: 'eu-west-1',
      parameters: '{"QueueUrl":"q","MessageBody":{"t":"tok"}}',
      timeoutInSeconds: 60,
    });
    expect(h.events[6]?.stateExitedEventDetails).toMatchObject({ name: 'Ask', output: '{"ok":true}' });
    expect(h.events[7]?.executionSucceededEventDetails).toMatchObject({ output: '{"ok":true}' });
  });

  it('turns a runner States.Timeout on a Task into TaskTimedOut and ignores its other StateFailed events', () => {
    const h = recorder();
    h.fromRunner({
      type: 'StateFailed',
      timestamp: 9,
      state: { name: 'Ask', type: 'Task' },
      Error: 'Rejected',
    });
    h.fromRunner({
      type: 'StateFailed',
      timestamp: 10,
      state: { name: 'Ask', type: 'Task' },
      Error: 'States.Timeout',
      Cause: 'States.Timeout',
    });
    expect(h.events).toHaveLength(1);
    expect(h.events[0]).toMatchObject({
      type: 'TaskTimedOut',
      timestamp: 10,
      taskTimedOutEventDetails: {
        resourceType: 'sqs',
        resource: 'sendMessage.waitForTaskToken',
        error: 'States.Timeout',
      },
    });
  });

  it('names states by their written type (a time-scaled Wait runs as a task) and adds Parallel start/end events', () => {
    const h = recorder();
    h.fromRunner({ type: 'StateEntered', timestamp: 1, state: { name: 'Pause', type: 'Task', input: {} } });
    h.fromRunner({ type: 'StateExited', timestamp: 2, state: { name: 'Pause', type: 'Task', output: {} } });
    h.fromRunner({ type: 'StateEntered', timestamp: 3, state: { name: 'Fan', type: 'Parallel', input: {} } });
    h.fromRunner({ type: 'StateExited', timestamp: 4, state: { name: 'Fan', type: 'Parallel', output: [] } });
    expect(h.events.map((e) => e.type)).toEqual([
      'WaitStateEntered',
      'WaitStateExited',
      'ParallelStateEntered',
      'ParallelStateStarted',
      'ParallelStateSucceeded',
      'ParallelStateExited',
    ]);
  });

  it('uses LambdaFunction* events for a Lambda function ARN as Resource', () => {
    const h = recorder();
    h.taskScheduled('Call', { x: 1 });
    h.taskStarted('Call');
    h.taskFailed('Call', 'NotFound', '{"errorMessage":"gone"}');
    expect(h.events.map((e) => e.type)).toEqual([
      'LambdaFunctionScheduled',
      'LambdaFunctionStarted',
      'LambdaFunctionFailed',
    ]);
    expect(h.events[0]?.lambdaFunctionScheduledEventDetails).toMatchObject({
      resource: 'arn:aws:lambda:eu-west-1:000000000000:function:fn',
      input: '{"x":1}',
    });
    expect(h.events[2]?.lambdaFunctionFailedEventDetails).toEqual({
      error: 'NotFound',
      cause: '{"errorMessage":"gone"}',
    });
  });

  it('records failures and aborts with their error and cause', () => {
    const h = recorder();
    h.fromRunner({
      type: 'ExecutionFailed',
      timestamp: 1,
      Error: 'UpdateRequestFailed',
      Cause: 'A step failed',
    });
    h.executionAborted('Test', 'stopped by hand');
    expect(h.events[0]?.executionFailedEventDetails).toEqual({
      error: 'UpdateRequestFailed',
      cause: 'A step failed',
    });
    expect(h.events[1]?.executionAbortedEventDetails).toEqual({ error: 'Test', cause: 'stopped by hand' });
  });
});
