// Step Functions for the workflow: start an execution by name (the request id, so starting
// twice is harmless) and resume a waiting task with its stored token.
import {
  ExecutionAlreadyExists,
  InvalidToken,
  SendTaskSuccessCommand,
  SFNClient,
  StartExecutionCommand,
  TaskDoesNotExist,
  TaskTimedOut,
} from '@aws-sdk/client-sfn';
import type { ExecutionInput } from '../workflow/model.js';
import type { CallbackOutcome, Executions, TaskCallbacks } from '../workflow/ports.js';

let shared: SFNClient | undefined;
/** One Step Functions client per container. */
export function sfnClient(): SFNClient {
  shared ??= new SFNClient({});
  return shared;
}

export class SfnExecutions implements Executions {
  constructor(
    private readonly client: SFNClient,
    private readonly stateMachineArn: string,
  ) {}

  async start(name: string, input: ExecutionInput): Promise<{ executionArn: string }> {
    try {
      const out = await this.client.send(
        new StartExecutionCommand({
          stateMachineArn: this.stateMachineArn,
          name,
          input: JSON.stringify(input),
        }),
      );
      return { executionArn: out.executionArn ?? '' };
    } catch (e) {
      // Same name, different input: the request exists with another body (never for a resend,
      // whose input is rebuilt from the stored request). Report the execution that stands.
      if (e instanceof ExecutionAlreadyExists) {
        const arn = this.stateMachineArn.replace(':stateMachine:', ':execution:');
        return { executionArn: `${arn}:${name}` };
      }
      throw e;
    }
  }
}

export class SfnTaskCallbacks implements TaskCallbacks {
  constructor(private readonly client: SFNClient) {}

  async succeed(taskToken: string, output: unknown): Promise<CallbackOutcome> {
    try {
      await this.client.send(new SendTaskSuccessCommand({ taskToken, output: JSON.stringify(output) }));
      return 'delivered';
    } catch (e) {
      // The task no longer waits (timed out, answered, or its execution ended).
      if (e instanceof TaskTimedOut || e instanceof TaskDoesNotExist || e instanceof InvalidToken)
        return 'gone';
      throw e;
    }
  }
}
