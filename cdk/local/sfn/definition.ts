// Turns an ASL definition into what aws-local-stepfunctions runs. The runner has no service
// integrations, task tokens or heartbeats, defaults Task timeouts to 60 s and overwrites
// $$.Execution.Input/StartTime inside Parallel/Map branches, so the copy it gets is adjusted:
// context paths point at objects we own, timeouts are explicit, and (with a time scale)
// Wait states become local tasks that sleep for the scaled time.
import { SfnApiError } from './errors.js';

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

/** setTimeout's ceiling (~24.8 days): "no timeout" for the runner without overflowing its timer. */
export const NO_TIMEOUT_SECONDS = 2_147_483;
/** Resource of the local task that stands in for a Wait state when waits are time-scaled. */
export const LOCAL_WAIT_RESOURCE = 'arn:aws:states:::upman-local:wait';
/** Where rewritten context paths point: $$.Execution → $$.__upman.execution, $$.State → $$.__upman.states.<key>. */
export const CONTEXT_KEY = '__upman';

export type TaskResource =
  | { kind: 'lambda-arn'; arn: string }
  | {
      kind: 'integration';
      service: 'lambda' | 'dynamodb' | 'sqs';
      action: string;
      waitForTaskToken: boolean;
    };

export interface StateInfo {
  name: string;
  type: string;
  /** Key under $$.__upman.states for this state's $$.State object. */
  key: string;
  /** The state as written (before any rewriting). */
  definition: JsonObject;
  resource?: TaskResource;
}

export interface PreparedDefinition {
  /** Every state, nested ones included, by name (ASL names are unique per machine). */
  states: Map<string, StateInfo>;
  /** The definition handed to aws-local-stepfunctions. */
  runnerDefinition: JsonObject;
  /** States the runner should hand to our local handlers (Tasks, and time-scaled Waits). */
  localHandlerStates: string[];
}

const INTEGRATIONS: Record<string, { actions: string[]; waitForTaskToken: boolean }> = {
  lambda: { actions: ['invoke'], waitForTaskToken: true },
  dynamodb: { actions: ['putItem', 'getItem', 'updateItem', 'deleteItem'], waitForTaskToken: false },
  sqs: { actions: ['sendMessage'], waitForTaskToken: true },
};

/** Parses a Task's Resource; throws InvalidDefinition for what the local cloud cannot run. */
export function parseResource(resource: string, stateName = '?'): TaskResource {
  if (/^arn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{12}:function:[A-Za-z0-9_-]+(:[A-Za-z0-9_$-]+)?$/.test(resource)) {
    return { kind: 'lambda-arn', arn: resource };
  }
  const m = /^arn:aws[a-z-]*:states:::([a-z]+):([A-Za-z]+)(\.waitForTaskToken|\.sync(?::2)?)?$/.exec(
    resource,
  );
  const service = m?.[1];
  const action = m?.[2];
  const integration = service ? INTEGRATIONS[service] : undefined;
  if (!m || !integration || !action || !integration.actions.includes(action)) {
    throw new SfnApiError(
      'InvalidDefinition',
      `State '${stateName}': Resource '${resource}' is not supported by the local Step Functions (supported: a Lambda function ARN, lambda:invoke, dynamodb:putItem|getItem|updateItem|deleteItem, sqs:sendMessage)`,
    );
  }
  const suffix = m[3];
  if (suffix?.startsWith('.sync') || (suffix === '.waitForTaskToken' && !integration.waitForTaskToken)) {
    throw new SfnApiError(
      'InvalidDefinition',
      `State '${stateName}': Resource '${resource}' is not a valid integration pattern for ${service}`,
    );
  }
  return {
    kind: 'integration',
    service: service as 'lambda' | 'dynamodb' | 'sqs',
    action,
    waitForTaskToken: suffix === '.waitForTaskToken',
  };
}

/** Parses definition text, answering InvalidDefinition (as AWS does) for anything that is not an ASL object. */
export function parseDefinitionText(text: string): JsonObject {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new SfnApiError('InvalidDefinition', `Invalid State Machine Definition: ${(err as Error).message}`);
  }
  if (!isObject(parsed) || typeof parsed.StartAt !== 'string' || !isObject(parsed.States)) {
    throw new SfnApiError(
      'InvalidDefinition',
      'Invalid State Machine Definition: StartAt and States are required',
    );
  }
  if (parsed.QueryLanguage === 'JSONata') {
    throw new SfnApiError(
      'InvalidDefinition',
      'JSONata is not supported by the local Step Functions; use JSONPath',
    );
  }
  return parsed;
}

export interface PrepareOptions {
  /** >1 speeds up Wait states and task-token timeouts. */
  timeScale: number;
}

/** Collects the states, checks what the local runner supports and builds the runner's copy. */
export function prepareDefinition(definition: JsonObject, options: PrepareOptions): PreparedDefinition {
  const states = new Map<string, StateInfo>();
  const localHandlerStates: string[] = [];
  const runnerDefinition = prepareMachine(definition, states, localHandlerStates, options);
  return { states, runnerDefinition, localHandlerStates };
}

function prepareMachine(
  machine: JsonObject,
  states: Map<string, StateInfo>,
  localHandlerStates: string[],
  options: PrepareOptions,
): JsonObject {
  const out: JsonObject = { ...machine, States: {} };
  const outStates = out.States as JsonObject;
  for (const [name, raw] of Object.entries(machine.States as JsonObject)) {
    if (!isObject(raw) || typeof raw.Type !== 'string') {
      throw new SfnApiError('InvalidDefinition', `State '${name}' must be an object with a Type`);
    }
    if (states.has(name)) {
      throw new SfnApiError('InvalidDefinition', `State name '${name}' is used more than once`);
    }
    const info: StateInfo = { name, type: raw.Type, key: `s${states.size}`, definition: raw };
    states.set(name, info);
    let state = rewriteContextPaths(raw, info.key) as JsonObject;

    if (raw.Type === 'Task') {
      if (typeof raw.Resource !== 'string')
        throw new SfnApiError('InvalidDefinition', `State '${name}' has no Resource`);
      info.resource = parseResource(raw.Resource, name);
      state = prepareTask(state, info.resource, name, options);
      localHandlerStates.push(name);
    } else if (raw.Type === 'Wait' && options.timeScale !== 1) {
      state = waitAsLocalTask(state);
      localHandlerStates.push(name);
    } else if (raw.Type === 'Parallel' && Array.isArray(raw.Branches)) {
      state.Branches = raw.Branches.map((branch) =>
        prepareMachine(branch as JsonObject, states, localHandlerStates, options),
      );
    } else if (raw.Type === 'Map') {
      for (const field of ['Iterator', 'ItemProcessor'] as const) {
        const inner = raw[field];
        if (isObject(inner)) state[field] = prepareMachine(inner, states, localHandlerStates, options);
      }
    }
    outStates[name] = state;
  }
  return out;
}

function prepareTask(
  state: JsonObject,
  resource: TaskResource,
  name: string,
  options: PrepareOptions,
): JsonObject {
  const waits = resource.kind === 'integration' && resource.waitForTaskToken;
  if (waits && !JSON.stringify(state.Parameters ?? null).includes('$$.Task.Token')) {
    throw new SfnApiError(
      'InvalidDefinition',
      `State '${name}': a .waitForTaskToken task must pass $$.Task.Token in its Parameters`,
    );
  }
  // The runner would read TimeoutSecondsPath from the evaluated Parameters, not the state input.
  for (const field of ['TimeoutSecondsPath', 'HeartbeatSecondsPath'] as const) {
    if (state[field] !== undefined) {
      throw new SfnApiError(
        'InvalidDefinition',
        `State '${name}': ${field} is not supported locally; use ${field.replace('Path', '')} (e.g. via a definition substitution)`,
      );
    }
  }
  const out: JsonObject = { ...state };
  delete out.HeartbeatSeconds;
  if (typeof state.TimeoutSeconds === 'number') {
    // Token waits are time-scaled; the runner accepts fractions since we skip its validator for this copy.
    out.TimeoutSeconds = waits ? state.TimeoutSeconds / options.timeScale : state.TimeoutSeconds;
  } else {
    out.TimeoutSeconds = NO_TIMEOUT_SECONDS; // AWS Standard: no task timeout unless one is set
  }
  if (waits && state.HeartbeatSeconds !== undefined) {
    // AWS: a Catch/Retry on States.Timeout also matches a missed heartbeat.
    for (const field of ['Retry', 'Catch'] as const) {
      const list = state[field];
      if (!Array.isArray(list)) continue;
      out[field] = list.map((entry) => {
        const e = entry as JsonObject;
        const names = (e.ErrorEquals as string[] | undefined) ?? [];
        return names.includes('States.Timeout') && !names.includes('States.HeartbeatTimeout')
          ? { ...e, ErrorEquals: [...names, 'States.HeartbeatTimeout'] }
          : e;
      });
    }
  }
  return out;
}

// Wait → Task whose local handler sleeps for the scaled time and hands its input back, so
// InputPath/OutputPath and the state's output stay what the Wait state would give.
function waitAsLocalTask(state: JsonObject): JsonObject {
  const parameters: JsonObject = { 'input.$': '$' };
  if (state.Seconds !== undefined) parameters.seconds = state.Seconds;
  if (state.Timestamp !== undefined) parameters.timestamp = state.Timestamp;
  if (typeof state.SecondsPath === 'string') parameters['seconds.$'] = state.SecondsPath;
  if (typeof state.TimestampPath === 'string') parameters['timestamp.$'] = state.TimestampPath;
  const out: JsonObject = { Type: 'Task', Resource: LOCAL_WAIT_RESOURCE, Parameters: parameters };
  for (const field of ['InputPath', 'OutputPath', 'Next', 'End', 'Comment'] as const) {
    if (state[field] !== undefined) out[field] = state[field];
  }
  out.TimeoutSeconds = NO_TIMEOUT_SECONDS;
  return out;
}

const NESTED_MACHINES = new Set(['Branches', 'Iterator', 'ItemProcessor']);

/**
 * Points $$.Execution and $$.State at objects we own (paths and intrinsic functions only:
 * keys ending in ".$" or "Path", and Choice "Variable"). Nested machines are left to their
 * own pass so each state gets its own $$.State.
 */
export function rewriteContextPaths(value: Json, stateKey: string, key = ''): Json {
  if (typeof value === 'string') {
    if (!(key.endsWith('.$') || key.endsWith('Path') || key === 'Variable')) return value;
    return value
      .replace(/\$\$\.Execution\b/g, `$$$$.${CONTEXT_KEY}.execution`)
      .replace(/\$\$\.State\b/g, `$$$$.${CONTEXT_KEY}.states.${stateKey}`);
  }
  if (Array.isArray(value)) return value.map((v) => rewriteContextPaths(v, stateKey, key));
  if (isObject(value)) {
    const out: JsonObject = {};
    for (const [k, v] of Object.entries(value)) {
      out[k] = NESTED_MACHINES.has(k) ? v : rewriteContextPaths(v, stateKey, k);
    }
    return out;
  }
  return value;
}

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
