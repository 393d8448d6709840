// The local Lambda service: every AWS::Lambda::Function of the synthesized templates, run
// from its bundled asset in cdk.out (the very bundle Lambda would run). Each function gets its
// own worker thread — its execution environment — with its own environment variables, started
// on the first invoke and kept warm. Logs go to stdout, each line prefixed "[FunctionName]", or
// to <logDir>/<FunctionName>.log when a log directory is given.
import { randomBytes, randomUUID } from 'node:crypto';
import {
  createWriteStream,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  type WriteStream,
} from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { Worker } from 'node:worker_threads';
import type { StackTemplate, TemplateResolver } from '../template.js';

export interface LocalFunction {
  logicalId: string;
  name: string;
  arn: string;
  /** Absolute path of the handler module inside the function's asset directory. */
  handlerFile: string;
  /** Export of the handler module, e.g. "handler" for Handler "index.handler". */
  exportName: string;
  timeoutMs: number;
  /** The function's own variables (template Environment.Variables, resolved to local names). */
  environment: Record<string, string>;
  memorySize: number;
  /** The asset directory, LAMBDA_TASK_ROOT. */
  taskRoot: string;
  runtime: string;
  logFormat?: string;
  logLevel?: string;
  /** Why this function cannot run locally (invoke rejects with it). */
  unsupported?: string;
}

export interface FunctionCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
  expiration: Date;
}

export interface LocalLambdaOptions {
  /** Write each function's log to <logDir>/<name>.log instead of the parent's stdout. */
  logDir?: string;
  /**
   * Temporary credentials of the function's execution role (from the local STS), given to each
   * new execution environment as Lambda does; an environment whose session would end before an
   * invocation could finish is replaced by a fresh one.
   */
  credentials?: (fn: LocalFunction) => Promise<FunctionCredentials>;
}

/** An error as Lambda reports it: name is the errorType, message the errorMessage. */
export class LambdaInvokeError extends Error {
  constructor(
    errorType: string,
    message: string,
    readonly trace: string[] = [],
  ) {
    super(message);
    this.name = errorType;
  }
}

interface Pending {
  resolve(value: unknown): void;
  reject(error: Error): void;
  timer: NodeJS.Timeout;
}

/** One execution environment: a worker thread and the invocations running in it. */
interface Environment {
  worker: Worker;
  /** When its role session ends (undefined: no session, the base environment's keys). */
  expiresAt?: number;
  /** How long that session was issued for. */
  sessionMs?: number;
  pending: Map<string, Pending>;
  /** No new invocations go here; it ends once the running ones settle. */
  retired: boolean;
}

/** How long a cold start may take before the first invocation counts as timed out (Lambda: 10 s). */
const INIT_BUDGET_MS = 10_000;
const HANDLER_EXTENSIONS = ['.js', '.mjs', '.cjs'];
const WORKER_FILE = new URL('./worker.mjs', import.meta.url);

export class LocalLambdaRuntime {
  private readonly environments = new Map<string, Environment>();
  private readonly live = new Set<Environment>();
  private readonly logStreams = new Map<string, WriteStream>();
  private stopped = false;

  constructor(
    readonly functions: LocalFunction[],
    private readonly region: string,
    private readonly baseEnv: Record<string, string>,
    private readonly options: LocalLambdaOptions = {},
  ) {}

  /** All functions of all stacks; their variables resolved now, so a bad template fails at start. */
  static fromTemplate(
    resolver: TemplateResolver,
    baseEnv: Record<string, string>,
    options: LocalLambdaOptions = {},
  ): LocalLambdaRuntime {
    const region = baseEnv.AWS_REGION ?? resolver.arn('lambda', 'x').split(':')[3]!;
    const functions = resolver
      .resourcesOfType('AWS::Lambda::Function')
      .map(({ stack, logicalId, resource }) =>
        functionOf(resolver, stack, logicalId, resource.Properties ?? {}),
      );
    return new LocalLambdaRuntime(functions, region, baseEnv, options);
  }

  /** By function name, ARN (qualified with $LATEST or not), partial ARN or logical id. */
  find(nameOrArnOrLogicalId: string): LocalFunction | undefined {
    const key = nameOrArnOrLogicalId.replace(/:\$LATEST$/, '');
    return this.functions.find(
      (f) => f.name === key || f.arn === key || f.logicalId === key || f.arn.endsWith(`:${key}`),
    );
  }

  /** Runs the function; rejects with a LambdaInvokeError on a function error or timeout. */
  invoke(nameOrArnOrLogicalId: string, event: unknown): Promise<unknown> {
    const fn = this.find(nameOrArnOrLogicalId);
    if (!fn) {
      return Promise.reject(
        new LambdaInvokeError('ResourceNotFoundException', `Function not found: ${nameOrArnOrLogicalId}`),
      );
    }
    if (fn.unsupported) {
      return Promise.reject(
        new LambdaInvokeError('ResourceConflictException', `${fn.name}: ${fn.unsupported}`),
      );
    }
    if (this.stopped)
      return Promise.reject(new LambdaInvokeError('ServiceException', 'The local Lambda runtime is stopped'));
    let payload: string;
    try {
      payload = JSON.stringify(event ?? null);
    } catch (error) {
      return Promise.reject(new LambdaInvokeError('InvalidRequestContentException', String(error)));
    }
    return this.environmentFor(fn).then((env) => this.run(fn, env, payload));
  }

  private run(fn: LocalFunction, env: Environment, payload: string): Promise<unknown> {
    const id = randomUUID();
    return new Promise((resolve, reject) => {
      // The function timeout runs from the handler's start; a cold start (module load) has its
      // own budget before that, as Lambda's init phase does.
      const timer = setTimeout(() => this.timeOut(fn, env, id), fn.timeoutMs + INIT_BUDGET_MS);
      env.pending.set(id, { resolve, reject, timer });
      env.worker.postMessage({ type: 'invoke', id, event: payload, timeoutMs: fn.timeoutMs });
    });
  }

  private timeOut(fn: LocalFunction, env: Environment, id: string): void {
    const pending = env.pending.get(id);
    if (!pending) return;
    env.pending.delete(id);
    const seconds = (fn.timeoutMs / 1000).toFixed(2);
    this.write(fn, `${new Date().toISOString()} ${id} Task timed out after ${seconds} seconds`);
    pending.reject(new LambdaInvokeError('Sandbox.Timedout', `Task timed out after ${seconds} seconds`));
    // Lambda discards an environment whose invocation timed out.
    this.retire(fn, env);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    const ending = [...this.live].map((env) => {
      this.failAll(env, new LambdaInvokeError('ServiceException', 'The local Lambda runtime stopped'));
      return env.worker.terminate();
    });
    await Promise.allSettled(ending);
    this.environments.clear();
    this.live.clear();
    await Promise.all(
      [...this.logStreams.values()].map((s) => new Promise<void>((resolve) => s.end(() => resolve()))),
    );
    this.logStreams.clear();
  }

  /** The variables a function sees: the local cloud's, the function's own, then Lambda's reserved ones. */
  environmentVariables(fn: LocalFunction): Record<string, string> {
    const date = new Date().toISOString().slice(0, 10).replaceAll('-', '/');
    return {
      ...this.baseEnv,
      ...fn.environment,
      AWS_REGION: this.region,
      AWS_DEFAULT_REGION: this.region,
      AWS_LAMBDA_FUNCTION_NAME: fn.name,
      AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(fn.memorySize),
      AWS_LAMBDA_LOG_GROUP_NAME: `/aws/lambda/${fn.name}`,
      AWS_LAMBDA_LOG_STREAM_NAME: `${date}/[$LATEST]${randomBytes(16).toString('hex')}`,
      AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand',
      AWS_EXECUTION_ENV: `AWS_Lambda_${fn.runtime}`,
      LAMBDA_TASK_ROOT: fn.taskRoot,
      ...(fn.logFormat ? { AWS_LAMBDA_LOG_FORMAT: fn.logFormat } : {}),
      ...(fn.logLevel ? { AWS_LAMBDA_LOG_LEVEL: fn.logLevel } : {}),
    };
  }

  private readonly starting = new Map<string, Promise<Environment>>();

  private async environmentFor(fn: LocalFunction): Promise<Environment> {
    const existing = this.environments.get(fn.logicalId);
    if (existing) {
      // Replaced once half its session is gone (and always before an invocation could outlive
      // it): keys it signs then keep at least half a session to live.
      const lifetimeNeeded = Math.max(fn.timeoutMs + INIT_BUDGET_MS, (existing.sessionMs ?? 0) / 2);
      if (existing.expiresAt === undefined || existing.expiresAt - Date.now() > lifetimeNeeded)
        return existing;
      this.retire(fn, existing);
    }
    let starting = this.starting.get(fn.logicalId);
    if (!starting) {
      starting = this.startEnvironment(fn).finally(() => this.starting.delete(fn.logicalId));
      this.starting.set(fn.logicalId, starting);
    }
    return starting;
  }

  private async startEnvironment(fn: LocalFunction): Promise<Environment> {
    const session = this.options.credentials ? await this.options.credentials(fn) : undefined;
    const variables = this.environmentVariables(fn);
    if (session) {
      variables.AWS_ACCESS_KEY_ID = session.accessKeyId;
      variables.AWS_SECRET_ACCESS_KEY = session.secretAccessKey;
      variables.AWS_SESSION_TOKEN = session.sessionToken;
      // The SDK's environment provider reads the session's end from here (keys live no longer).
      variables.AWS_CREDENTIAL_EXPIRATION = session.expiration.toISOString();
    }
    const worker = new Worker(WORKER_FILE, {
      env: variables,
      // Lambda runs the bundle with plain node: no loader flags of the parent (tsx, vitest).
      execArgv: [],
      stdout: true,
      stderr: true,
      resourceLimits: { maxOldGenerationSizeMb: Math.max(fn.memorySize, 128) },
      workerData: {
        handlerFile: fn.handlerFile,
        exportName: fn.exportName,
        taskRoot: fn.taskRoot,
        functionName: fn.name,
        functionArn: fn.arn,
        memorySize: fn.memorySize,
        logGroupName: variables.AWS_LAMBDA_LOG_GROUP_NAME,
        logStreamName: variables.AWS_LAMBDA_LOG_STREAM_NAME,
      },
    });
    const env: Environment = {
      worker,
      pending: new Map(),
      retired: false,
      ...(session
        ? { expiresAt: session.expiration.getTime(), sessionMs: session.expiration.getTime() - Date.now() }
        : {}),
    };
    this.environments.set(fn.logicalId, env);
    this.live.add(env);
    this.pipe(fn, worker.stdout);
    this.pipe(fn, worker.stderr);
    worker.on('message', (message: WorkerMessage) => this.onMessage(fn, env, message));
    worker.on('error', (error) => {
      this.failAll(
        env,
        new LambdaInvokeError('Runtime.ExitError', `Runtime exited with error: ${error.message}`),
      );
      this.retire(fn, env);
    });
    worker.on('exit', (code) => {
      this.failAll(
        env,
        new LambdaInvokeError('Runtime.ExitError', `Runtime exited with error: exit status ${code}`),
      );
      env.retired = true;
      if (this.environments.get(fn.logicalId) === env) this.environments.delete(fn.logicalId);
      this.live.delete(env);
    });
    worker.unref();
    return env;
  }

  private onMessage(fn: LocalFunction, env: Environment, message: WorkerMessage): void {
    if (message.type === 'crash') {
      this.write(fn, `ERROR Uncaught ${message.errorType}: ${message.errorMessage}`);
      this.failAll(env, new LambdaInvokeError(message.errorType, message.errorMessage, message.trace));
      this.retire(fn, env);
      return;
    }
    const pending = env.pending.get(message.id);
    if (!pending) return; // timed out already
    if (message.type === 'start') {
      clearTimeout(pending.timer);
      pending.timer = setTimeout(() => this.timeOut(fn, env, message.id), fn.timeoutMs);
      return;
    }
    env.pending.delete(message.id);
    clearTimeout(pending.timer);
    if (message.type === 'result') {
      pending.resolve(JSON.parse(message.payload));
    } else {
      this.write(
        fn,
        `ERROR Invoke Error ${JSON.stringify({ errorType: message.errorType, errorMessage: message.errorMessage })}`,
      );
      pending.reject(new LambdaInvokeError(message.errorType, message.errorMessage, message.trace));
      if (message.fatal) this.retire(fn, env);
    }
    if (env.retired && env.pending.size === 0) void env.worker.terminate();
  }

  /** Sends no new work to this environment and ends it once nothing runs in it. */
  private retire(fn: LocalFunction, env: Environment): void {
    env.retired = true;
    if (this.environments.get(fn.logicalId) === env) this.environments.delete(fn.logicalId);
    if (env.pending.size === 0) void env.worker.terminate();
  }

  private failAll(env: Environment, error: Error): void {
    for (const [id, pending] of env.pending) {
      clearTimeout(pending.timer);
      env.pending.delete(id);
      pending.reject(error);
    }
  }

  private pipe(fn: LocalFunction, stream: Readable): void {
    createInterface({ input: stream, crlfDelay: Number.POSITIVE_INFINITY }).on('line', (line) =>
      this.write(fn, line),
    );
  }

  private write(fn: LocalFunction, line: string): void {
    if (!this.options.logDir) {
      process.stdout.write(`[${fn.name}] ${line}\n`);
      return;
    }
    let stream = this.logStreams.get(fn.name);
    if (!stream) {
      mkdirSync(this.options.logDir, { recursive: true });
      stream = createWriteStream(join(this.options.logDir, `${fn.name}.log`), { flags: 'a' });
      this.logStreams.set(fn.name, stream);
    }
    stream.write(`${line}\n`);
  }
}

type WorkerMessage =
  | { type: 'start'; id: string }
  | { type: 'result'; id: string; payload: string }
  | { type: 'error'; id: string; errorType: string; errorMessage: string; trace?: string[]; fatal?: boolean }
  | { type: 'crash'; errorType: string; errorMessage: string; trace?: string[] };

function functionOf(
  resolver: TemplateResolver,
  stack: StackTemplate,
  logicalId: string,
  props: Record<string, unknown>,
): LocalFunction {
  const name =
    props.FunctionName === undefined ? logicalId : resolver.resolveString(stack, props.FunctionName);
  const code = (props.Code ?? {}) as Record<string, unknown>;
  const handler = String(props.Handler ?? 'index.handler');
  // Inline code (some CDK custom resources) is listed but cannot run here; invoking it says so.
  const inline = code.ZipFile !== undefined;
  const taskRoot = inline
    ? ''
    : assetDirectory(stack.assemblyDir, resolver.resolveString(stack, code.S3Key), logicalId);
  const { handlerFile, exportName } = inline
    ? { handlerFile: '', exportName: handler.slice(handler.indexOf('.') + 1) }
    : handlerLocation(taskRoot, handler);
  const variables = resolver.resolve(
    stack,
    (props.Environment as { Variables?: unknown } | undefined)?.Variables ?? {},
  ) as Record<string, unknown>;
  const environment: Record<string, string> = {};
  for (const [key, value] of Object.entries(variables))
    if (value !== undefined) environment[key] = String(value);
  const logging = (props.LoggingConfig ?? {}) as { LogFormat?: string; ApplicationLogLevel?: string };
  return {
    logicalId,
    name,
    arn: resolver.arn('lambda', `function:${name}`, stack),
    handlerFile,
    exportName,
    timeoutMs: Number(props.Timeout ?? 3) * 1000,
    environment,
    memorySize: Number(props.MemorySize ?? 128),
    taskRoot,
    runtime: String(props.Runtime ?? 'nodejs22.x'),
    ...(logging.LogFormat ? { logFormat: logging.LogFormat } : {}),
    ...(logging.ApplicationLogLevel ? { logLevel: logging.ApplicationLogLevel } : {}),
    ...(inline ? { unsupported: 'inline Code.ZipFile is not supported by the local cloud' } : {}),
  };
}

/** The directory of a function's bundled asset: Code.S3Key "<hash>.zip" → the assets manifest's source path. */
export function assetDirectory(assemblyDir: string, s3Key: string, logicalId: string): string {
  const hash = /^([0-9a-f]{64})\.zip$/.exec(s3Key)?.[1];
  if (!hash) throw new Error(`${logicalId}: Code.S3Key ${s3Key} is not a CDK asset`);
  for (const file of readdirSync(assemblyDir).filter((f) => f.endsWith('.assets.json'))) {
    const manifest = JSON.parse(readFileSync(join(assemblyDir, file), 'utf8')) as {
      files?: Record<string, { source?: { path?: string; packaging?: string } }>;
    };
    const source = manifest.files?.[hash]?.source;
    if (source?.path) return join(assemblyDir, source.path);
  }
  return join(assemblyDir, `asset.${hash}`);
}

/** Handler "dir/file.export" → the module file (.js, .mjs, .cjs, in Lambda's order) and export name. */
export function handlerLocation(
  taskRoot: string,
  handler: string,
): { handlerFile: string; exportName: string } {
  const slash = handler.lastIndexOf('/');
  const dot = handler.indexOf('.', slash + 1);
  if (dot < 0) throw new Error(`Bad handler "${handler}": expected file.export`);
  const base = join(taskRoot, handler.slice(0, dot));
  const exportName = handler.slice(dot + 1);
  const handlerFile = HANDLER_EXTENSIONS.map((ext) => base + ext).find((f) => existsSync(f)) ?? `${base}.mjs`;
  return { handlerFile, exportName };
}
