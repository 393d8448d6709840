// The AWS JSON 1.0 protocol of Step Functions (POST /, X-Amz-Target: AWSStepFunctions.<Op>),
// so @aws-sdk/client-sfn pointed at this URL works unmodified.
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { LOCAL_FAULTS_PREFIX } from '../iam/services.js';
import type { SfnEngine } from './engine.js';
import { SfnApiError } from './errors.js';

const MAX_BODY_BYTES = 2 * 1024 * 1024;
const TARGET_PREFIX = 'AWSStepFunctions.';

type Operation = (engine: SfnEngine, body: Record<string, unknown>) => unknown;

const OPERATIONS: Record<string, Operation> = {
  CreateStateMachine: (e, b) => e.createStateMachine(b),
  DeleteStateMachine: (e, b) => e.deleteStateMachine(b),
  DescribeStateMachine: (e, b) => e.describeStateMachine(b),
  ListStateMachines: (e, b) => e.listStateMachines(b),
  StartExecution: (e, b) => e.startExecution(b),
  DescribeExecution: (e, b) => e.describeExecution(b),
  GetExecutionHistory: (e, b) => e.getExecutionHistory(b),
  ListExecutions: (e, b) => e.listExecutions(b),
  StopExecution: (e, b) => e.stopExecution(b),
  SendTaskSuccess: (e, b) => e.sendTaskSuccess(b),
  SendTaskFailure: (e, b) => e.sendTaskFailure(b),
  SendTaskHeartbeat: (e, b) => e.sendTaskHeartbeat(b),
};

/**
 * The local cloud's fault hook (never in shipped code): while set, SendTaskSuccess calls whose
 * output contains `outputContains` are refused with ServiceUnavailable, as an outage would, so a
 * test can show what happens when a decision's hand-over fails. X-Amz-Target
 * `UpmanLocalFaults.RefuseSendTaskSuccess` {outputContains} sets one, `UpmanLocalFaults.Clear`
 * {outputContains} removes it; only the developer's key pair may call them (the gateway's IAM).
 */
const refusedOutputs = new Set<string>();
let refusedCalls = 0;

const FAULTS: Record<string, (body: Record<string, unknown>) => unknown> = {
  RefuseSendTaskSuccess: (b) => {
    const marker = faultMarker(b);
    refusedOutputs.add(marker);
    return { refusing: [...refusedOutputs] };
  },
  Clear: (b) => {
    refusedOutputs.delete(faultMarker(b));
    return { refusing: [...refusedOutputs], refusedCalls };
  },
};

function faultMarker(b: Record<string, unknown>): string {
  const marker = b.outputContains;
  if (typeof marker !== 'string' || marker.length < 8) {
    throw new SfnApiError('ValidationException', 'outputContains must be a string of at least 8 characters');
  }
  return marker;
}

function refused(op: string, body: Record<string, unknown>): boolean {
  if (op !== 'SendTaskSuccess' || refusedOutputs.size === 0) return false;
  const output = String(body.output ?? '');
  return [...refusedOutputs].some((marker) => output.includes(marker));
}

export async function startSfnServer(
  engine: SfnEngine,
  port: number,
): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    handle(engine, req, res).catch((err) => {
      console.error('[sfn] request failed', err);
      if (!res.headersSent) send(res, 500, { __type: 'InternalFailure', message: 'internal error' });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const { port: bound } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${bound}`, server };
}

async function handle(engine: SfnEngine, req: IncomingMessage, res: ServerResponse): Promise<void> {
  try {
    if (req.method !== 'POST')
      throw new SfnApiError('UnknownOperationException', 'Only POST / is served', 404);
    const target = String(req.headers['x-amz-target'] ?? '');
    const fault = target.startsWith(LOCAL_FAULTS_PREFIX)
      ? FAULTS[target.slice(LOCAL_FAULTS_PREFIX.length)]
      : undefined;
    if (fault) return send(res, 200, fault(await readJson(req)));
    const name = target.startsWith(TARGET_PREFIX) ? target.slice(TARGET_PREFIX.length) : '';
    const op = OPERATIONS[name];
    if (!op)
      throw new SfnApiError('UnknownOperationException', `Unknown or unsupported operation '${target}'`);
    const body = await readJson(req);
    if (refused(name, body)) {
      refusedCalls++;
      throw new SfnApiError('ServiceUnavailable', 'Refused by the local fault hook', 503);
    }
    send(res, 200, (await op(engine, body)) ?? {});
  } catch (err) {
    if (!(err instanceof SfnApiError)) throw err;
    send(res, err.statusCode, { __type: `com.amazonaws.states#${err.type}`, message: err.message }, err.type);
  }
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new SfnApiError('ValidationException', 'Request body is too large', 413);
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') return {};
  try {
    const parsed = JSON.parse(text) as unknown;
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
      throw new Error('not an object');
    return parsed as Record<string, unknown>;
  } catch {
    throw new SfnApiError('SerializationException', 'The request body is not a JSON object');
  }
}

function send(res: ServerResponse, status: number, body: unknown, errorType?: string): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/x-amz-json-1.0',
    'content-length': Buffer.byteLength(text),
    'x-amzn-requestid': randomUUID(),
    ...(errorType ? { 'x-amzn-errortype': errorType } : {}),
  });
  res.end(text);
}
