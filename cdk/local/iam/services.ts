// Request → IAM check mappings: which action on which resource ARN, with which condition keys,
// AWS authorises for each operation of DynamoDB, SQS, SES, Step Functions and STS (from each
// service's "Actions, resources, and condition keys" page), and each service's error shapes.
import { randomUUID } from 'node:crypto';
import type { AccessRequest } from './authorizer.js';
import { type ErrorReply, type GatewayRequest, MappingError, type ServiceMapping } from './gateway.js';
import type { SignatureError } from './sigv4.js';
import { errorXml } from './sts.js';

export interface Where {
  region: string;
  account: string;
}

function json(req: GatewayRequest): Record<string, unknown> {
  if (req.body.length === 0) return {};
  try {
    const parsed = JSON.parse(req.body.toString('utf8')) as unknown;
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed))
      return parsed as Record<string, unknown>;
  } catch {
    // falls through
  }
  throw new MappingError('The request body is not a JSON object');
}

function target(req: GatewayRequest, prefix: string): string | undefined {
  const t = String(req.headers['x-amz-target'] ?? '');
  return t.startsWith(prefix) ? t.slice(prefix.length) : undefined;
}

function jsonError(
  type: string,
  message: string,
  status: number,
  extra: Record<string, string> = {},
): ErrorReply {
  return {
    status,
    headers: { 'content-type': 'application/x-amz-json-1.0', 'x-amzn-requestid': randomUUID(), ...extra },
    body: JSON.stringify({ __type: type, message, Message: message }),
  };
}

const SIGNATURE_TYPES: Record<SignatureError['fault'], [string, number]> = {
  MissingAuthenticationToken: ['MissingAuthenticationTokenException', 400],
  IncompleteSignature: ['IncompleteSignatureException', 400],
  UnrecognizedClient: ['UnrecognizedClientException', 400],
  InvalidSignature: ['InvalidSignatureException', 400],
  ExpiredToken: ['ExpiredTokenException', 400],
};

function jsonSignatureFault(prefix: string) {
  return (e: SignatureError) => {
    const [type, status] = SIGNATURE_TYPES[e.fault];
    return jsonError(`${prefix}${type}`, e.message, status);
  };
}

// ---------- DynamoDB ----------
const PARTIQL_TABLE: Record<string, RegExp> = {
  SELECT: /\bFROM\s+"([^"]+)"/i,
  INSERT: /^\s*INSERT\s+INTO\s+"([^"]+)"/i,
  UPDATE: /^\s*UPDATE\s+"([^"]+)"/i,
  DELETE: /^\s*DELETE\s+FROM\s+"([^"]+)"/i,
};
const PARTIQL_ACTION: Record<string, string> = {
  SELECT: 'PartiQLSelect',
  INSERT: 'PartiQLInsert',
  UPDATE: 'PartiQLUpdate',
  DELETE: 'PartiQLDelete',
};

export function dynamoDbMapping(where: Where): ServiceMapping {
  const table = (name: unknown, index?: unknown) => {
    if (typeof name !== 'string' || !name) throw new MappingError('TableName is required');
    const base = `arn:aws:dynamodb:${where.region}:${where.account}:table/${name.split('/').pop()}`;
    return typeof index === 'string' && index ? `${base}/index/${index}` : base;
  };
  const check = (action: string, resource: string): AccessRequest => ({
    action: `dynamodb:${action}`,
    resource,
    resourceAccount: where.account,
  });
  const partiql = (statement: unknown): AccessRequest => {
    const text = String(statement ?? '');
    const verb = /^\s*(\w+)/.exec(text)?.[1]?.toUpperCase() ?? '';
    const name = PARTIQL_TABLE[verb]?.exec(text)?.[1];
    if (!name)
      throw new MappingError('Statement: expected SELECT, INSERT, UPDATE or DELETE naming a "table"');
    return check(PARTIQL_ACTION[verb]!, table(name));
  };
  return {
    signingName: 'dynamodb',
    accessRequests(req) {
      const op = target(req, 'DynamoDB_20120810.');
      if (!op) throw new MappingError(`Unknown operation ${String(req.headers['x-amz-target'])}`);
      const b = json(req);
      switch (op) {
        case 'ListTables':
          return [check('ListTables', '*')];
        case 'BatchGetItem':
        case 'BatchWriteItem':
          return Object.keys((b.RequestItems ?? {}) as object).map((t) => check(op, table(t)));
        case 'TransactWriteItems':
          return ((b.TransactItems ?? []) as Array<Record<string, { TableName?: string }>>).map((item) => {
            const [kind, body] = Object.entries(item)[0] ?? [];
            const action = {
              Put: 'PutItem',
              Update: 'UpdateItem',
              Delete: 'DeleteItem',
              ConditionCheck: 'ConditionCheckItem',
            }[kind ?? ''];
            if (!action || !body) throw new MappingError('TransactItems: unknown item');
            return check(action, table(body.TableName));
          });
        case 'TransactGetItems':
          return ((b.TransactItems ?? []) as Array<{ Get?: { TableName?: string } }>).map((i) =>
            check('GetItem', table(i.Get?.TableName)),
          );
        case 'ExecuteStatement':
          return [partiql(b.Statement)];
        case 'BatchExecuteStatement':
        case 'ExecuteTransaction':
          return ((b.Statements ?? b.TransactStatements ?? []) as Array<{ Statement?: string }>).map((s) =>
            partiql(s.Statement),
          );
        case 'Query':
        case 'Scan':
          return [check(op, table(b.TableName, b.IndexName))];
        default:
          return [check(op, table(b.TableName))];
      }
    },
    accessDenied: (m) => jsonError('com.amazon.coral.service#AccessDeniedException', m, 400),
    signatureFault: jsonSignatureFault('com.amazon.coral.service#'),
    malformed: (m) => jsonError('com.amazon.coral.validate#ValidationException', m, 400),
  };
}

// ---------- SQS (JSON protocol, and the query protocol of older clients) ----------
const SQS_BATCH: Record<string, string> = {
  SendMessageBatch: 'SendMessage',
  DeleteMessageBatch: 'DeleteMessage',
  ChangeMessageVisibilityBatch: 'ChangeMessageVisibility',
};

export function sqsMapping(
  where: Where,
  /** The account that owns a queue, by name, when the URL cannot say (fauxqs names one account). */
  queueAccounts: Map<string, string> = new Map(),
): ServiceMapping {
  const queueArn = (url: unknown, name?: unknown) => {
    const queueName =
      typeof name === 'string' && name ? name : typeof url === 'string' ? url.split('/').pop() : undefined;
    if (!queueName) throw new MappingError('QueueUrl is required');
    const inUrl = typeof url === 'string' ? url.split('/').slice(-2)[0] : undefined;
    const account = queueAccounts.get(queueName) ?? (inUrl && /^\d{12}$/.test(inUrl) ? inUrl : where.account);
    return `arn:aws:sqs:${where.region}:${account}:${queueName}`;
  };
  return {
    signingName: 'sqs',
    accessRequests(req) {
      let op = target(req, 'AmazonSQS.');
      let params: Record<string, unknown>;
      if (op) params = json(req);
      else {
        const form = new URLSearchParams(req.body.toString('utf8'));
        op = form.get('Action') ?? req.query.get('Action') ?? undefined;
        params = Object.fromEntries(form);
        if (!op) throw new MappingError('No Action');
      }
      const action = `sqs:${SQS_BATCH[op] ?? op}`;
      if (op === 'ListQueues') return [{ action, resource: '*', resourceAccount: where.account }];
      const resource = queueArn(
        params.QueueUrl ?? (req.path.length > 1 ? req.path : undefined),
        op === 'CreateQueue' || op === 'GetQueueUrl' ? params.QueueName : undefined,
      );
      return [{ action, resource, resourceAccount: resource.split(':')[4]! }];
    },
    accessDenied: (m) =>
      jsonError('com.amazonaws.sqs#AccessDenied', m, 403, { 'x-amzn-query-error': 'AccessDenied;Sender' }),
    signatureFault: jsonSignatureFault('com.amazon.coral.service#'),
    malformed: (m) => jsonError('com.amazonaws.sqs#InvalidParameterValue', m, 400),
  };
}

// ---------- SES (v2 REST API; the v1 query API for SendEmail/SendRawEmail) ----------
export function sesMapping(where: Where): ServiceMapping {
  const identity = (from: unknown) => {
    if (typeof from !== 'string' || !from.includes('@'))
      throw new MappingError('FromEmailAddress is required');
    const address = /<([^>]+)>/.exec(from)?.[1] ?? from;
    return `arn:aws:ses:${where.region}:${where.account}:identity/${address.split('@')[1]!.trim()}`;
  };
  return {
    signingName: 'ses',
    // The mailbox viewer (GET /, /store, /emails…) is the local cloud's own page, not SES.
    isUnauthenticated: (req) => !req.path.startsWith('/v2/') && !(req.method === 'POST' && req.path === '/'),
    accessRequests(req, _caller) {
      if (req.path === '/v2/email/outbound-emails' && req.method === 'POST') {
        const b = json(req);
        const checks: AccessRequest[] = [
          { action: 'ses:SendEmail', resource: identity(b.FromEmailAddress), resourceAccount: where.account },
        ];
        if (typeof b.ConfigurationSetName === 'string') {
          checks.push({
            action: 'ses:SendEmail',
            resource: `arn:aws:ses:${where.region}:${where.account}:configuration-set/${b.ConfigurationSetName}`,
            resourceAccount: where.account,
          });
        }
        return checks;
      }
      if (req.path === '/') {
        const form = new URLSearchParams(req.body.toString('utf8'));
        const action = form.get('Action') ?? '';
        return [
          { action: `ses:${action}`, resource: identity(form.get('Source')), resourceAccount: where.account },
        ];
      }
      // The rest of the v2 API (account, identities): reads and settings, checked as such.
      return [
        {
          action: req.method === 'GET' ? 'ses:GetAccount' : 'ses:PutAccountDetails',
          resource: '*',
          resourceAccount: where.account,
        },
      ];
    },
    accessDenied: (m) => ({
      status: 403,
      headers: { 'content-type': 'application/json', 'x-amzn-errortype': 'AccessDeniedException' },
      body: JSON.stringify({ message: m }),
    }),
    signatureFault: (e) => ({
      status: 403,
      headers: { 'content-type': 'application/json', 'x-amzn-errortype': SIGNATURE_TYPES[e.fault][0] },
      body: JSON.stringify({ message: e.message }),
    }),
    malformed: (m) => ({
      status: 400,
      headers: { 'content-type': 'application/json', 'x-amzn-errortype': 'BadRequestException' },
      body: JSON.stringify({ message: m }),
    }),
  };
}

// ---------- Step Functions ----------
/** X-Amz-Target prefix of the local Step Functions' fault hook (sfn/server.ts). */
export const LOCAL_FAULTS_PREFIX = 'UpmanLocalFaults.';

export function stepFunctionsMapping(
  where: Where,
  /** The state machine a task token belongs to (AWS checks SendTask* against it). */
  stateMachineOfToken: (token: string) => string | undefined,
): ServiceMapping {
  const machineOfExecution = (arn: string) =>
    arn.replace(':execution:', ':stateMachine:').split(':').slice(0, 7).join(':');
  return {
    signingName: 'states',
    accessRequests(req) {
      // The local cloud's fault hook (sfn/server.ts): an action no policy grants, so only the
      // developer's all-powerful key pair may call it.
      const fault = target(req, LOCAL_FAULTS_PREFIX);
      if (fault) return [{ action: `upman-local:${fault}`, resource: '*', resourceAccount: where.account }];
      const op = target(req, 'AWSStepFunctions.');
      if (!op) throw new MappingError(`Unknown operation ${String(req.headers['x-amz-target'])}`);
      const b = json(req);
      const action = `states:${op}`;
      const on = (resource: unknown): AccessRequest[] => {
        if (typeof resource !== 'string' || !resource)
          throw new MappingError(`${op}: the resource ARN is required`);
        return [{ action, resource, resourceAccount: resource.split(':')[4] ?? where.account }];
      };
      switch (op) {
        case 'ListStateMachines':
        case 'CreateStateMachine':
          return [{ action, resource: '*', resourceAccount: where.account }];
        case 'SendTaskSuccess':
        case 'SendTaskFailure':
        case 'SendTaskHeartbeat': {
          const machine = stateMachineOfToken(String(b.taskToken ?? ''));
          // An unknown token is the service's own answer (TaskDoesNotExist), after authorisation.
          if (!machine) return [];
          return [
            {
              action,
              resource: machine,
              resourceAccount: machine.split(':')[4]!,
              resourceNotInReference: true,
            },
          ];
        }
        case 'DescribeExecution':
        case 'StopExecution':
        case 'GetExecutionHistory':
          return on(b.executionArn);
        case 'StartExecution':
        case 'ListExecutions':
        case 'DescribeStateMachine':
        case 'DeleteStateMachine':
          return on(b.stateMachineArn);
        default:
          return on(
            typeof b.executionArn === 'string' ? machineOfExecution(b.executionArn) : b.stateMachineArn,
          );
      }
    },
    accessDenied: (m) => jsonError('com.amazon.coral.service#AccessDeniedException', m, 400),
    signatureFault: jsonSignatureFault('com.amazon.coral.service#'),
    malformed: (m) => jsonError('com.amazonaws.states#ValidationException', m, 400),
  };
}

// ---------- KMS (JSON 1.1, TrentService.*) ----------
export function kmsMapping(
  where: Where,
  /** A key's ARN from its id or ARN; undefined for no such key (the service's NotFoundException, after authorisation). */
  keyArn: (keyIdOrArn: string) => string | undefined,
): ServiceMapping {
  const json11 = (type: string, message: string, status = 400): ErrorReply => ({
    status,
    headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-requestid': randomUUID() },
    body: JSON.stringify({ __type: type, message }),
  });
  return {
    signingName: 'kms',
    accessRequests(req) {
      const op = target(req, 'TrentService.');
      if (!op) throw new MappingError(`Unknown operation ${String(req.headers['x-amz-target'])}`);
      const action = `kms:${op}`;
      // CreateKey and the listings take no key; every other operation names one.
      if (op === 'CreateKey' || op.startsWith('List'))
        return [{ action, resource: '*', resourceAccount: where.account }];
      const keyId = json(req).KeyId;
      if (typeof keyId !== 'string' || !keyId) throw new MappingError('KeyId is required');
      const resource = keyId.startsWith('alias/')
        ? `arn:aws:kms:${where.region}:${where.account}:${keyId}`
        : keyArn(keyId);
      if (!resource) return [];
      return [{ action, resource, resourceAccount: resource.split(':')[4] ?? where.account }];
    },
    accessDenied: (m) => json11('AccessDeniedException', m),
    signatureFault: (e) => json11(SIGNATURE_TYPES[e.fault][0], e.message, SIGNATURE_TYPES[e.fault][1]),
    malformed: (m) => json11('ValidationException', m),
  };
}

// ---------- STS ----------
export function stsMapping(): ServiceMapping {
  const xml = (status: number, code: string, message: string): ErrorReply => ({
    status,
    headers: { 'content-type': 'text/xml' },
    body: errorXml(code, message),
  });
  return {
    signingName: 'sts',
    // STS itself decides AssumeRole (identity + trust policy); GetCallerIdentity needs no permission.
    accessRequests: () => [],
    accessDenied: (m) => xml(403, 'AccessDenied', m),
    signatureFault: (e) =>
      xml(
        e.fault === 'ExpiredToken' ? 400 : 403,
        e.fault === 'ExpiredToken'
          ? 'ExpiredToken'
          : e.fault === 'UnrecognizedClient'
            ? 'InvalidClientTokenId'
            : 'SignatureDoesNotMatch',
        e.message,
      ),
    malformed: (m) => xml(400, 'ValidationError', m),
  };
}
