// Builds an execution's history in the shape of GetExecutionHistory from two sources: the
// runner's event log (states entered/exited, execution started/ended) and our task handlers
// (TaskScheduled … TaskSucceeded, which the runner does not know about).

export interface HistoryEvent {
  id: number;
  previousEventId: number;
  /** Milliseconds since the epoch (the API answers in epoch seconds). */
  timestamp: number;
  type: string;
  [details: string]: unknown;
}

/** The subset of aws-local-stepfunctions' EventLog entries that history is built from. */
export interface RunnerEvent {
  type: string;
  timestamp: number;
  input?: unknown;
  output?: unknown;
  Error?: string;
  Cause?: unknown;
  state?: { name: string; type: string; input?: unknown; output?: unknown };
  parentState?: { name: string; type: string };
  index?: number;
}

export interface TaskInfo {
  /** lambda | dynamodb | sqs, or undefined for a Lambda function ARN as Resource. */
  resourceType?: string;
  /** e.g. invoke, updateItem, sendMessage.waitForTaskToken; the function ARN for a bare Lambda task. */
  resource: string;
  timeoutInSeconds?: number;
  heartbeatInSeconds?: number;
}

export interface RecorderOptions {
  region: string;
  roleArn?: string;
  /** The state's type as written (a time-scaled Wait runs as a task but is still a Wait). */
  stateType(name: string): string | undefined;
  task(name: string): TaskInfo | undefined;
  now?: () => number;
}

const noTruncation = { truncated: false };

export function toJsonText(value: unknown): string {
  return JSON.stringify(value === undefined ? null : value);
}

export function causeText(cause: unknown): string | undefined {
  if (cause === undefined || cause === null) return undefined;
  return typeof cause === 'string' ? cause : JSON.stringify(cause);
}

export class HistoryRecorder {
  readonly events: HistoryEvent[] = [];
  private readonly now: () => number;

  constructor(private readonly options: RecorderOptions) {
    this.now = options.now ?? Date.now;
  }

  add(type: string, details: Record<string, unknown> = {}, timestamp = this.now()): HistoryEvent {
    const id = this.events.length + 1;
    const event: HistoryEvent = { id, previousEventId: id - 1, timestamp, type, ...details };
    this.events.push(event);
    return event;
  }

  fromRunner(e: RunnerEvent): void {
    const at = e.timestamp;
    switch (e.type) {
      case 'ExecutionStarted':
        this.add(
          'ExecutionStarted',
          {
            executionStartedEventDetails: {
              input: toJsonText(e.input),
              inputDetails: noTruncation,
              ...(this.options.roleArn ? { roleArn: this.options.roleArn } : {}),
            },
          },
          at,
        );
        return;
      case 'ExecutionSucceeded':
        this.add(
          'ExecutionSucceeded',
          { executionSucceededEventDetails: { output: toJsonText(e.output), outputDetails: noTruncation } },
          at,
        );
        return;
      case 'ExecutionFailed':
        this.add('ExecutionFailed', { executionFailedEventDetails: errorDetails(e.Error, e.Cause) }, at);
        return;
      case 'ExecutionTimeout':
        this.add(
          'ExecutionTimedOut',
          {
            executionTimedOutEventDetails: errorDetails(
              'States.Timeout',
              'The execution ran longer than its TimeoutSeconds',
            ),
          },
          at,
        );
        return;
      case 'StateEntered':
        this.stateEntered(e, at);
        return;
      case 'StateExited':
        this.stateExited(e, at);
        return;
      case 'StateFailed':
        this.stateFailed(e, at);
        return;
      case 'MapIterationStarted':
      case 'MapIterationSucceeded':
      case 'MapIterationFailed': {
        const key = `${e.type[0]?.toLowerCase()}${e.type.slice(1)}EventDetails`;
        this.add(e.type, { [key]: { name: e.parentState?.name, index: e.index } }, at);
        return;
      }
      default:
        // ExecutionAborted is recorded by the engine (it knows the StopExecution error/cause);
        // retries, catches and parallel branches have no event of their own in AWS's history.
        return;
    }
  }

  taskScheduled(stateName: string, parameters: unknown): void {
    const task = this.options.task(stateName);
    if (!task) return;
    const timeouts = {
      ...(task.timeoutInSeconds !== undefined ? { timeoutInSeconds: task.timeoutInSeconds } : {}),
      ...(task.heartbeatInSeconds !== undefined ? { heartbeatInSeconds: task.heartbeatInSeconds } : {}),
    };
    if (!task.resourceType) {
      this.add('LambdaFunctionScheduled', {
        lambdaFunctionScheduledEventDetails: {
          resource: task.resource,
          input: toJsonText(parameters),
          inputDetails: noTruncation,
          ...(task.timeoutInSeconds !== undefined ? { timeoutInSeconds: task.timeoutInSeconds } : {}),
        },
      });
      return;
    }
    this.add('TaskScheduled', {
      taskScheduledEventDetails: {
        resourceType: task.resourceType,
        resource: task.resource,
        region: this.options.region,
        parameters: toJsonText(parameters),
        ...timeouts,
      },
    });
  }

  taskStarted(stateName: string): void {
    const task = this.options.task(stateName);
    if (!task) return;
    if (!task.resourceType) this.add('LambdaFunctionStarted');
    else this.add('TaskStarted', { taskStartedEventDetails: this.resourceOf(task) });
  }

  /** The integration accepted the request; a .waitForTaskToken task now waits for its token. */
  taskSubmitted(stateName: string, output: unknown): void {
    const task = this.options.task(stateName);
    if (!task?.resourceType) return;
    this.add('TaskSubmitted', {
      taskSubmittedEventDetails: {
        ...this.resourceOf(task),
        output: toJsonText(output),
        outputDetails: noTruncation,
      },
    });
  }

  taskSucceeded(stateName: string, output: unknown): void {
    const task = this.options.task(stateName);
    if (!task) return;
    const details = { output: toJsonText(output), outputDetails: noTruncation };
    if (!task.resourceType)
      this.add('LambdaFunctionSucceeded', { lambdaFunctionSucceededEventDetails: details });
    else this.add('TaskSucceeded', { taskSucceededEventDetails: { ...this.resourceOf(task), ...details } });
  }

  taskFailed(stateName: string, error: string, cause: unknown): void {
    const task = this.options.task(stateName);
    if (!task) return;
    const details = errorDetails(error, cause);
    if (!task.resourceType) this.add('LambdaFunctionFailed', { lambdaFunctionFailedEventDetails: details });
    else this.add('TaskFailed', { taskFailedEventDetails: { ...this.resourceOf(task), ...details } });
  }

  taskTimedOut(stateName: string, error: string, cause: unknown, timestamp = this.now()): void {
    const task = this.options.task(stateName);
    if (!task) return;
    const details = errorDetails(error, cause);
    if (!task.resourceType) {
      this.add('LambdaFunctionTimedOut', { lambdaFunctionTimedOutEventDetails: details }, timestamp);
    } else {
      this.add(
        'TaskTimedOut',
        { taskTimedOutEventDetails: { ...this.resourceOf(task), ...details } },
        timestamp,
      );
    }
  }

  executionAborted(error: string | undefined, cause: string | undefined): void {
    this.add('ExecutionAborted', { executionAbortedEventDetails: errorDetails(error, cause) });
  }

  private stateEntered(e: RunnerEvent, at: number): void {
    if (!e.state) return;
    const type = this.options.stateType(e.state.name) ?? e.state.type;
    this.add(
      `${type}StateEntered`,
      {
        stateEnteredEventDetails: {
          name: e.state.name,
          input: toJsonText(e.state.input),
          inputDetails: noTruncation,
        },
      },
      at,
    );
    if (type === 'Parallel' || type === 'Map') this.add(`${type}StateStarted`, {}, at);
  }

  private stateExited(e: RunnerEvent, at: number): void {
    if (!e.state) return;
    const type = this.options.stateType(e.state.name) ?? e.state.type;
    if (type === 'Parallel' || type === 'Map') this.add(`${type}StateSucceeded`, {}, at);
    this.add(
      `${type}StateExited`,
      {
        stateExitedEventDetails: {
          name: e.state.name,
          output: toJsonText(e.state.output),
          outputDetails: noTruncation,
        },
      },
      at,
    );
  }

  private stateFailed(e: RunnerEvent, at: number): void {
    if (!e.state) return;
    const type = this.options.stateType(e.state.name) ?? e.state.type;
    if (type === 'Parallel' || type === 'Map') {
      this.add(`${type}StateFailed`, {}, at);
    } else if (type === 'Task' && e.Error === 'States.Timeout') {
      // The runner enforces TimeoutSeconds; task handlers record every other outcome themselves.
      this.taskTimedOut(e.state.name, 'States.Timeout', e.Cause, at);
    }
  }

  private resourceOf(task: TaskInfo): { resourceType: string; resource: string } {
    return { resourceType: task.resourceType ?? 'lambda', resource: task.resource };
  }
}

function errorDetails(error: string | undefined, cause: unknown): { error?: string; cause?: string } {
  const text = causeText(cause);
  return { ...(error ? { error } : {}), ...(text !== undefined ? { cause: text } : {}) };
}
