// The state of the local Step Functions: state machines, executions (running ones driven by
// aws-local-stepfunctions, finished ones kept in the store) and task tokens. The HTTP server
// in server.ts is a thin layer over the operations here.
import './polyfill.js';
import { randomUUID } from 'node:crypto';
import {
  ExecutionAbortedError,
  ExecutionError,
  ExecutionTimeoutError,
  type RunOptions,
  StateMachine,
  type StateMachineDefinition,
} from 'aws-local-stepfunctions';
import {
  CONTEXT_KEY,
  type Json,
  type PreparedDefinition,
  parseDefinitionText,
  prepareDefinition,
  type StateInfo,
} from './definition.js';
import { SfnApiError, TaskError } from './errors.js';
import { HistoryRecorder, type RunnerEvent, type TaskInfo, toJsonText } from './history.js';
import { callIntegration, type IntegrationDeps } from './integrations.js';
import { type ExecutionRecord, type ExecutionStatus, SfnStore, type StoredStateMachine } from './store.js';
import { TaskTokenRegistry } from './tokens.js';

export interface EngineOptions extends IntegrationDeps {
  /** The integrations as a machine's role calls them (its own credentials); default: the shared deps. */
  integrationsFor?: (machine: { arn: string; roleArn?: string }) => IntegrationDeps;
  region: string;
  dataDir: string;
  stateMachines: { name: string; arn: string; definition: string; roleArn?: string }[];
  timeScale?: number;
}

interface Machine extends StoredStateMachine {
  prepared: PreparedDefinition;
  runner: StateMachine;
  fromApi: boolean;
}

interface Running {
  record: ExecutionRecord;
  machine: Machine;
  recorder: HistoryRecorder;
  /** Stands in for $$.Task.Token until a task handler swaps in a freshly minted token. */
  placeholder: string;
  controller: AbortController;
  attempts: Map<string, number>;
  expiredAttempts: Set<string>;
  abort: () => void;
  done: Promise<void>;
  stopRequest?: { error?: string; cause?: string };
}

const MAX_PAYLOAD_BYTES = 256 * 1024;
const NAME_FORBIDDEN = /[\s<>{}[\]?*"#%\\^|~`$&,;:/]/;

/** AWS's rule for state machine and execution names: 1–80 characters, no whitespace, brackets, wildcards, specials or control characters. */
export function isValidName(name: string): boolean {
  if (name.length < 1 || name.length > 80 || NAME_FORBIDDEN.test(name)) return false;
  for (const ch of name) {
    const code = ch.codePointAt(0) ?? 0;
    if (code <= 0x1f || (code >= 0x7f && code <= 0x9f)) return false;
  }
  return true;
}
const ARN_PATTERN = /^arn:aws[a-z-]*:states:[a-z0-9-]+:\d{12}:(stateMachine|execution):/;
const DEFAULT_ACCOUNT = '000000000000';

export class SfnEngine {
  readonly tokens = new TaskTokenRegistry();
  private readonly machines = new Map<string, Machine>();
  private readonly executions = new Map<string, ExecutionRecord>();
  private readonly running = new Map<string, Running>();
  private readonly pendingSaves = new Set<Promise<void>>();
  private readonly store: SfnStore;
  private readonly timeScale: number;
  private readonly account: string;

  private constructor(private readonly options: EngineOptions) {
    this.store = new SfnStore(options.dataDir);
    this.timeScale = options.timeScale ?? 1;
    if (!(this.timeScale > 0))
      throw new Error(`timeScale must be a positive number, got ${options.timeScale}`);
    this.account =
      /^arn:[^:]+:states:[^:]*:(\d{12}):/.exec(options.stateMachines[0]?.arn ?? '')?.[1] ?? DEFAULT_ACCOUNT;
  }

  static async create(options: EngineOptions): Promise<SfnEngine> {
    const engine = new SfnEngine(options);
    await engine.store.init();
    for (const stored of await engine.store.loadStateMachines()) {
      try {
        engine.machines.set(stored.arn, engine.compile(stored, true));
      } catch (err) {
        console.warn(`[sfn] skipping stored state machine ${stored.name}: ${(err as Error).message}`);
      }
    }
    for (const m of options.stateMachines) {
      try {
        engine.machines.set(m.arn, engine.compile({ ...m, creationDate: Date.now() }, false));
      } catch (err) {
        throw new Error(`State machine ${m.name} cannot run locally: ${(err as Error).message}`);
      }
    }
    for (const record of await engine.store.loadExecutions())
      engine.executions.set(record.executionArn, record);
    return engine;
  }

  // ---- state machines ----

  async createStateMachine(req: { name?: unknown; definition?: unknown; roleArn?: unknown; type?: unknown }) {
    const name = requireString(req.name, 'name');
    const definition = requireString(req.definition, 'definition');
    const roleArn = requireString(req.roleArn, 'roleArn');
    if (!isValidName(name)) throw new SfnApiError('InvalidName', `Invalid Name: '${name}'`);
    if (req.type !== undefined && req.type !== 'STANDARD') {
      throw new SfnApiError(
        'ValidationException',
        `type: only STANDARD state machines run locally, got '${req.type}'`,
      );
    }
    const arn = `arn:aws:states:${this.options.region}:${this.account}:stateMachine:${name}`;
    const existing = this.machines.get(arn);
    if (existing) {
      if (existing.definition === definition && existing.roleArn === roleArn) {
        return { stateMachineArn: arn, creationDate: seconds(existing.creationDate) };
      }
      throw new SfnApiError('StateMachineAlreadyExists', `State Machine Already Exists: '${arn}'`);
    }
    const machine = this.compile({ name, arn, definition, roleArn, creationDate: Date.now() }, true);
    this.machines.set(arn, machine);
    await this.saveApiMachines();
    return { stateMachineArn: arn, creationDate: seconds(machine.creationDate) };
  }

  async deleteStateMachine(req: { stateMachineArn?: unknown }) {
    const arn = requireArn(req.stateMachineArn, 'stateMachineArn');
    if (this.machines.get(arn)?.fromApi) {
      this.machines.delete(arn);
      await this.saveApiMachines();
    }
    return {};
  }

  describeStateMachine(req: { stateMachineArn?: unknown }) {
    const m = this.machine(requireArn(req.stateMachineArn, 'stateMachineArn'));
    return {
      stateMachineArn: m.arn,
      name: m.name,
      status: 'ACTIVE',
      definition: m.definition,
      roleArn: m.roleArn ?? `arn:aws:iam::${this.account}:role/local-stepfunctions`,
      type: 'STANDARD',
      creationDate: seconds(m.creationDate),
      loggingConfiguration: { level: 'OFF', includeExecutionData: false },
      tracingConfiguration: { enabled: false },
    };
  }

  listStateMachines(req: { maxResults?: unknown; nextToken?: unknown }) {
    const all = [...this.machines.values()]
      .sort((a, b) => a.name.localeCompare(b.name))
      .map((m) => ({
        stateMachineArn: m.arn,
        name: m.name,
        type: 'STANDARD',
        creationDate: seconds(m.creationDate),
      }));
    const page = paginate(all, req.maxResults, req.nextToken, 'machines');
    return { stateMachines: page.items, ...(page.nextToken ? { nextToken: page.nextToken } : {}) };
  }

  // ---- executions ----

  async startExecution(req: { stateMachineArn?: unknown; name?: unknown; input?: unknown }) {
    const machine = this.machine(requireArn(req.stateMachineArn, 'stateMachineArn'));
    const name = req.name === undefined ? randomUUID() : requireString(req.name, 'name');
    if (!isValidName(name)) throw new SfnApiError('InvalidName', `Invalid Name: '${name}'`);
    const input = req.input === undefined ? '{}' : requireString(req.input, 'input');
    if (Buffer.byteLength(input) > MAX_PAYLOAD_BYTES) {
      throw new SfnApiError('InvalidExecutionInput', 'Invalid Execution Input: larger than 256 KiB');
    }
    let inputValue: Json;
    try {
      inputValue = JSON.parse(input) as Json;
    } catch (err) {
      throw new SfnApiError('InvalidExecutionInput', `Invalid Execution Input: ${(err as Error).message}`);
    }
    const executionArn = `${machine.arn.replace(':stateMachine:', ':execution:')}:${name}`;
    const existing = this.executions.get(executionArn);
    if (existing) {
      // AWS: the same name and input while the execution is open is the same start; anything else is a conflict.
      if (existing.status === 'RUNNING' && existing.input === input) {
        return { executionArn, startDate: seconds(existing.startDate) };
      }
      throw new SfnApiError('ExecutionAlreadyExists', `Execution Already Exists: '${executionArn}'`);
    }
    const record: ExecutionRecord = {
      executionArn,
      stateMachineArn: machine.arn,
      name,
      status: 'RUNNING',
      startDate: Date.now(),
      input,
      events: [],
    };
    this.executions.set(executionArn, record);
    this.run(machine, record, inputValue);
    return { executionArn, startDate: seconds(record.startDate) };
  }

  describeExecution(req: { executionArn?: unknown }) {
    const r = this.execution(requireArn(req.executionArn, 'executionArn'));
    return {
      executionArn: r.executionArn,
      stateMachineArn: r.stateMachineArn,
      name: r.name,
      status: r.status,
      startDate: seconds(r.startDate),
      ...(r.stopDate !== undefined ? { stopDate: seconds(r.stopDate) } : {}),
      input: r.input,
      inputDetails: { included: true },
      ...(r.output !== undefined ? { output: r.output, outputDetails: { included: true } } : {}),
      ...(r.error !== undefined ? { error: r.error } : {}),
      ...(r.cause !== undefined ? { cause: r.cause } : {}),
      redriveCount: 0,
      redriveStatus: 'NOT_REDRIVABLE',
    };
  }

  getExecutionHistory(req: {
    executionArn?: unknown;
    maxResults?: unknown;
    nextToken?: unknown;
    reverseOrder?: unknown;
  }) {
    const arn = requireArn(req.executionArn, 'executionArn');
    const r = this.execution(arn);
    const ordered = req.reverseOrder === true ? [...r.events].reverse() : r.events;
    const page = paginate(
      ordered,
      req.maxResults,
      req.nextToken,
      `history:${arn}:${req.reverseOrder === true}`,
    );
    return {
      events: page.items.map((e) => ({ ...e, timestamp: seconds(e.timestamp) })),
      ...(page.nextToken ? { nextToken: page.nextToken } : {}),
    };
  }

  listExecutions(req: {
    stateMachineArn?: unknown;
    statusFilter?: unknown;
    maxResults?: unknown;
    nextToken?: unknown;
  }) {
    const machineArn = requireArn(req.stateMachineArn, 'stateMachineArn');
    this.machine(machineArn);
    const statuses = ['RUNNING', 'SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED', 'PENDING_REDRIVE'];
    if (req.statusFilter !== undefined && !statuses.includes(req.statusFilter as string)) {
      throw new SfnApiError('ValidationException', `statusFilter must be one of ${statuses.join(', ')}`);
    }
    const all = [...this.executions.values()]
      .filter(
        (r) =>
          r.stateMachineArn === machineArn &&
          (req.statusFilter === undefined || r.status === req.statusFilter),
      )
      .sort((a, b) => b.startDate - a.startDate)
      .map((r) => ({
        executionArn: r.executionArn,
        stateMachineArn: r.stateMachineArn,
        name: r.name,
        status: r.status,
        startDate: seconds(r.startDate),
        ...(r.stopDate !== undefined ? { stopDate: seconds(r.stopDate) } : {}),
      }));
    const page = paginate(
      all,
      req.maxResults,
      req.nextToken,
      `executions:${machineArn}:${String(req.statusFilter)}`,
    );
    return { executions: page.items, ...(page.nextToken ? { nextToken: page.nextToken } : {}) };
  }

  async stopExecution(req: { executionArn?: unknown; error?: unknown; cause?: unknown }) {
    const arn = requireArn(req.executionArn, 'executionArn');
    const record = this.execution(arn);
    const exec = this.running.get(arn);
    if (exec) {
      exec.stopRequest = {
        ...(typeof req.error === 'string' ? { error: req.error } : {}),
        ...(typeof req.cause === 'string' ? { cause: req.cause } : {}),
      };
      exec.abort();
      await exec.done;
    }
    return { stopDate: seconds(record.stopDate ?? Date.now()) };
  }

  // ---- task tokens ----

  sendTaskSuccess(req: { taskToken?: unknown; output?: unknown }) {
    const token = requireString(req.taskToken, 'taskToken');
    const output = requireString(req.output, 'output');
    if (Buffer.byteLength(output) > MAX_PAYLOAD_BYTES)
      throw new SfnApiError('InvalidOutput', 'Invalid Output: larger than 256 KiB');
    let value: unknown;
    try {
      value = JSON.parse(output);
    } catch (err) {
      throw new SfnApiError('InvalidOutput', `Invalid Output: ${(err as Error).message}`);
    }
    this.tokens.succeed(token, value);
    return {};
  }

  sendTaskFailure(req: { taskToken?: unknown; error?: unknown; cause?: unknown }) {
    const token = requireString(req.taskToken, 'taskToken');
    this.tokens.fail(
      token,
      typeof req.error === 'string' ? req.error : undefined,
      typeof req.cause === 'string' ? req.cause : undefined,
    );
    return {};
  }

  sendTaskHeartbeat(req: { taskToken?: unknown }) {
    this.tokens.heartbeat(requireString(req.taskToken, 'taskToken'));
    return {};
  }

  /** Ends every running execution as ABORTED (a wait on a task token cannot survive a restart) and saves it. */
  async stop(): Promise<void> {
    const running = [...this.running.values()];
    for (const exec of running) {
      exec.stopRequest = {
        error: 'LocalCloudStopped',
        cause:
          'The local cloud stopped while this execution was running; running executions do not survive a restart.',
      };
      exec.abort();
    }
    await Promise.all(running.map((exec) => exec.done));
    await Promise.all([...this.pendingSaves]);
  }

  // ---- internals ----

  private compile(stored: StoredStateMachine, fromApi: boolean): Machine {
    const parsed = parseDefinitionText(stored.definition);
    try {
      // The runner's own validator (asl-validator) on the definition as written.
      new StateMachine(parsed as unknown as StateMachineDefinition);
    } catch (err) {
      throw new SfnApiError(
        'InvalidDefinition',
        `Invalid State Machine Definition: ${(err as Error).message.replace(/\s*\n\s*/g, ' ')}`,
      );
    }
    const prepared = prepareDefinition(parsed, { timeScale: this.timeScale });
    const runner = new StateMachine(prepared.runnerDefinition as unknown as StateMachineDefinition, {
      validationOptions: { noValidate: true },
    });
    return { ...stored, prepared, runner, fromApi };
  }

  private async saveApiMachines(): Promise<void> {
    const stored = [...this.machines.values()]
      .filter((m) => m.fromApi)
      .map(({ name, arn, definition, roleArn, creationDate }) => ({
        name,
        arn,
        definition,
        creationDate,
        ...(roleArn ? { roleArn } : {}),
      }));
    await this.store.saveStateMachines(stored);
  }

  private machine(arn: string): Machine {
    const m = this.machines.get(arn);
    if (!m) throw new SfnApiError('StateMachineDoesNotExist', `State Machine Does Not Exist: '${arn}'`);
    return m;
  }

  private execution(arn: string): ExecutionRecord {
    const r = this.executions.get(arn);
    if (!r) throw new SfnApiError('ExecutionDoesNotExist', `Execution Does Not Exist: '${arn}'`);
    return r;
  }

  private run(machine: Machine, record: ExecutionRecord, input: Json): void {
    const states = machine.prepared.states;
    const recorder = new HistoryRecorder({
      region: this.options.region,
      ...(machine.roleArn ? { roleArn: machine.roleArn } : {}),
      stateType: (name) => states.get(name)?.type,
      task: (name) => taskInfo(states.get(name)),
    });
    record.events = recorder.events;
    const exec: Running = {
      record,
      machine,
      recorder,
      placeholder: `upman-local-task-token-placeholder-${randomUUID()}`,
      controller: new AbortController(),
      attempts: new Map(),
      expiredAttempts: new Set(),
      abort: () => {},
      done: Promise.resolve(),
    };
    this.running.set(record.executionArn, exec);

    const handlers = Object.fromEntries(
      machine.prepared.localHandlerStates.map((name) => [
        name,
        (value: unknown) => untilAborted(this.runLocalState(exec, name, value), exec.controller.signal),
      ]),
    );
    const options = {
      overrides: { taskResourceLocalHandlers: handlers },
      context: this.contextFor(machine, record, input, exec.placeholder),
    } as unknown as RunOptions;
    // The runner calls the first state's handler synchronously inside run(): exec is ready by then.
    const execution = machine.runner.run(input as never, options);
    exec.abort = execution.abort;

    const consumed = (async () => {
      for await (const event of execution.eventLogs)
        this.onRunnerEvent(exec, event as unknown as RunnerEvent);
    })();
    const outcome = execution.result.then(
      (output) => ({ status: 'SUCCEEDED' as const, output: toJsonText(output) }),
      (err: unknown) => this.classifyFailure(exec, err),
    );
    exec.done = outcome.then(async (result) => {
      await consumed;
      await this.finish(exec, result);
    });
  }

  private onRunnerEvent(exec: Running, event: RunnerEvent): void {
    exec.recorder.fromRunner(event);
    if (event.type === 'StateFailed' && event.Error === 'States.Timeout' && event.state) {
      const stateName = event.state.name;
      exec.expiredAttempts.add(`${stateName}#${exec.attempts.get(stateName) ?? 0}`);
      this.tokens.closeWhere((o) => o.executionArn === exec.record.executionArn && o.stateName === stateName);
    }
  }

  private classifyFailure(
    exec: Running,
    err: unknown,
  ): { status: ExecutionStatus; error?: string | undefined; cause?: string | undefined } {
    if (err instanceof ExecutionAbortedError) {
      return { status: 'ABORTED', error: exec.stopRequest?.error, cause: exec.stopRequest?.cause };
    }
    if (err instanceof ExecutionTimeoutError) {
      return {
        status: 'TIMED_OUT',
        error: 'States.Timeout',
        cause: 'The execution ran longer than its TimeoutSeconds',
      };
    }
    const inner = err instanceof ExecutionError && err.cause instanceof Error ? err.cause : (err as Error);
    return { status: 'FAILED', error: inner?.name || undefined, cause: inner?.message || undefined };
  }

  private async finish(
    exec: Running,
    result: {
      status: ExecutionStatus;
      output?: string;
      error?: string | undefined;
      cause?: string | undefined;
    },
  ): Promise<void> {
    const { record } = exec;
    record.status = result.status;
    record.stopDate = Date.now();
    if (result.output !== undefined) record.output = result.output;
    if (result.error !== undefined) record.error = result.error;
    if (result.cause !== undefined) record.cause = result.cause;
    if (result.status === 'ABORTED') exec.recorder.executionAborted(result.error, result.cause);
    exec.controller.abort(); // first: handlers see the execution as over before their waits are rejected
    this.tokens.closeWhere((o) => o.executionArn === record.executionArn);
    this.running.delete(record.executionArn);
    const saving = this.store
      .saveExecution(record)
      .catch((err) => console.error(`[sfn] could not save execution ${record.executionArn}`, err))
      .finally(() => this.pendingSaves.delete(saving));
    this.pendingSaves.add(saving);
    await saving;
  }

  private contextFor(machine: Machine, record: ExecutionRecord, input: Json, placeholder: string) {
    const execution = {
      Id: record.executionArn,
      Name: record.name,
      Input: input,
      StartTime: new Date(record.startDate).toISOString(),
      RoleArn: machine.roleArn ?? `arn:aws:iam::${this.account}:role/local-stepfunctions`,
      RedriveCount: 0,
    };
    const states: Record<string, unknown> = {};
    for (const info of machine.prepared.states.values()) {
      // Read while the state evaluates its paths, i.e. just after it was entered.
      states[info.key] = {
        Name: info.name,
        get EnteredTime() {
          return new Date().toISOString();
        },
      };
    }
    return {
      [CONTEXT_KEY]: { execution, states },
      Execution: execution,
      StateMachine: { Id: machine.arn, Name: machine.name },
      Task: { Token: placeholder },
    };
  }

  private async runLocalState(exec: Running, stateName: string, input: unknown): Promise<unknown> {
    const info = exec.machine.prepared.states.get(stateName);
    // Let the history catch up with the runner's StateEntered before this task's own events.
    await new Promise((resolve) => setImmediate(resolve));
    if (!info) throw new TaskError('States.Runtime', `No state named '${stateName}'`);
    if (exec.controller.signal.aborted) throw executionEnded();
    if (info.type === 'Wait') return this.localWait(exec, input);

    const resource = info.resource!;
    const attempt = (exec.attempts.get(stateName) ?? 0) + 1;
    exec.attempts.set(stateName, attempt);
    const live = () =>
      !exec.controller.signal.aborted && !exec.expiredAttempts.has(`${stateName}#${attempt}`);
    const waits = resource.kind === 'integration' && resource.waitForTaskToken;
    let token: string | undefined;
    const mint = () => {
      token ??= this.tokens.mint({ executionArn: exec.record.executionArn, stateName });
      return token;
    };
    const params = replacePlaceholder(input, exec.placeholder, mint);
    const { recorder } = exec;
    recorder.taskScheduled(stateName, params);
    recorder.taskStarted(stateName);
    try {
      const deps = this.options.integrationsFor?.(exec.machine) ?? this.options;
      const response = await callIntegration(deps, resource, params);
      if (!waits) {
        if (live()) recorder.taskSucceeded(stateName, response);
        return response;
      }
      if (live()) recorder.taskSubmitted(stateName, response);
      if (!token) throw new TaskError('States.Runtime', 'The task token never reached the integration');
      // TimeoutSeconds is enforced by the runner (scaled in the definition it runs); heartbeats here.
      const heartbeat = numberField(info.definition.HeartbeatSeconds);
      const output = await this.tokens.wait(
        token,
        heartbeat !== undefined ? { heartbeatMs: (heartbeat * 1000) / this.timeScale } : {},
      );
      if (live()) recorder.taskSucceeded(stateName, output);
      return output;
    } catch (err) {
      const e =
        err instanceof TaskError
          ? err
          : new TaskError((err as Error)?.name || 'Error', String((err as Error)?.message ?? err));
      if (live()) {
        if (e.name === 'States.HeartbeatTimeout') recorder.taskTimedOut(stateName, e.name, e.message);
        else recorder.taskFailed(stateName, e.name, e.message);
      }
      throw e;
    } finally {
      if (token && !waits) this.tokens.close(token);
    }
  }

  private async localWait(exec: Running, value: unknown): Promise<unknown> {
    const p = (value ?? {}) as { input?: unknown; seconds?: unknown; timestamp?: unknown };
    let ms: number;
    if (p.seconds !== undefined) {
      if (typeof p.seconds !== 'number' || !Number.isInteger(p.seconds) || p.seconds < 0) {
        throw new TaskError(
          'States.Runtime',
          `Wait: Seconds must be a non-negative integer, got ${JSON.stringify(p.seconds)}`,
        );
      }
      ms = p.seconds * 1000;
    } else {
      const at = typeof p.timestamp === 'string' ? Date.parse(p.timestamp) : Number.NaN;
      if (Number.isNaN(at))
        throw new TaskError('States.Runtime', `Wait: invalid Timestamp ${JSON.stringify(p.timestamp)}`);
      ms = Math.max(0, at - Date.now());
    }
    await sleep(ms / this.timeScale, exec.controller.signal);
    return p.input ?? null;
  }
}

function taskInfo(info: StateInfo | undefined): TaskInfo | undefined {
  const resource = info?.resource;
  if (!info || !resource) return undefined;
  const timeout = numberField(info.definition.TimeoutSeconds);
  const heartbeat = numberField(info.definition.HeartbeatSeconds);
  const timeouts = {
    ...(timeout !== undefined ? { timeoutInSeconds: timeout } : {}),
    ...(heartbeat !== undefined ? { heartbeatInSeconds: heartbeat } : {}),
  };
  if (resource.kind === 'lambda-arn') return { resource: resource.arn, ...timeouts };
  return {
    resourceType: resource.service,
    resource: `${resource.action}${resource.waitForTaskToken ? '.waitForTaskToken' : ''}`,
    ...timeouts,
  };
}

/** Swaps the per-execution placeholder for a real token wherever $$.Task.Token ended up in the Parameters. */
export function replacePlaceholder(value: unknown, placeholder: string, mint: () => string): unknown {
  if (typeof value === 'string')
    return value.includes(placeholder) ? value.split(placeholder).join(mint()) : value;
  if (Array.isArray(value)) return value.map((v) => replacePlaceholder(v, placeholder, mint));
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, replacePlaceholder(v, placeholder, mint)]),
    );
  }
  return value;
}

function executionEnded(): TaskError {
  return new TaskError('States.Runtime', 'The execution has ended');
}

/** Settles with the work, or rejects once the execution ends, so the runner's task timer is cleared. */
function untilAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(executionEnded());
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(executionEnded());
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
  });
}

function numberField(value: unknown): number | undefined {
  return typeof value === 'number' ? value : undefined;
}

function seconds(ms: number): number {
  return ms / 1000;
}

function requireString(value: unknown, field: string): string {
  if (typeof value !== 'string' || value === '') {
    throw new SfnApiError(
      'ValidationException',
      `1 validation error detected: Value at '${field}' must be a non-empty string`,
    );
  }
  return value;
}

function requireArn(value: unknown, field: string): string {
  const arn = requireString(value, field);
  if (!ARN_PATTERN.test(arn)) throw new SfnApiError('InvalidArn', `Invalid Arn: '${arn}' (${field})`);
  return arn;
}

function paginate<T>(items: T[], maxResults: unknown, nextToken: unknown, scope: string) {
  const max = maxResults === undefined || maxResults === 0 ? 100 : Number(maxResults);
  if (!Number.isInteger(max) || max < 1 || max > 1000) {
    throw new SfnApiError('ValidationException', 'maxResults must be an integer from 1 to 1000');
  }
  let offset = 0;
  if (nextToken !== undefined) {
    try {
      const parsed = JSON.parse(Buffer.from(String(nextToken), 'base64url').toString('utf8')) as {
        s: string;
        o: number;
      };
      if (parsed.s !== scope || !Number.isInteger(parsed.o) || parsed.o < 0) throw new Error('mismatch');
      offset = parsed.o;
    } catch {
      throw new SfnApiError('InvalidToken', 'Invalid Token: nextToken does not belong to this request');
    }
  }
  const page = items.slice(offset, offset + max);
  const next = offset + max < items.length ? offset + max : undefined;
  return {
    items: page,
    nextToken:
      next === undefined
        ? undefined
        : Buffer.from(JSON.stringify({ s: scope, o: next })).toString('base64url'),
  };
}
