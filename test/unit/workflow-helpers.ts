// Shared by the workflow's handler tests: the functions' environment, API events, and a
// stored request item as DynamoDB would hold it.
import { BatchGetCommand } from '@aws-sdk/lib-dynamodb';
import type { APIGatewayProxyEventV2WithJWTAuthorizer, APIGatewayProxyResultV2 } from 'aws-lambda';
import type { AwsStub } from 'aws-sdk-client-mock';

export const ENV = {
  AWS_REGION: 'us-east-1',
  AWS_ACCESS_KEY_ID: 'test',
  AWS_SECRET_ACCESS_KEY: 'test',
  TABLE_NAME: 'registry',
  STATE_MACHINE_ARN: 'arn:aws:states:us-east-1:123456789012:stateMachine:UpdateRequest',
  BUDGET_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/123456789012/budget',
  API_URL: 'https://api.example.test',
  MAIL_SENDER: 'upman@upman.example',
  BUDGET_SCHEDULE: 'daily',
  APPROVAL_REMINDER_SECONDS: '172800',
  APPROVAL_ESCALATION_SECONDS: '172800',
  APPROVAL_EXPIRY_SECONDS: '259200',
  POWERTOOLS_LOG_LEVEL: 'SILENT',
  SIGN_IN: JSON.stringify({
    authorizeUrl: 'https://login.example.test/oauth2/authorize',
    tokenUrl: 'https://login.example.test/oauth2/token',
    clientId: 'upman',
    scope: 'openid',
  }),
  POLICY: JSON.stringify({
    currency: 'EUR',
    fiscalYearStartMonth: 1,
    approverMayOverrideBudget: false,
    twoStepAboveCost: 5000,
    departments: {},
  }),
};

/** Display names of the directory the workflow tests read (everyone else is not in it). */
export const DIRECTORY: Record<string, string> = {
  ando: 'Ando Taro',
  okachi: 'Okachi Masao',
  itou: 'Itou Kenji',
  kojima: 'Kojima Aya',
};

/** A person's directory item as DynamoDB holds it, or undefined for someone not in `people`. */
export function personItem(key: string, people: Record<string, string> = DIRECTORY) {
  if (people[key] === undefined) return undefined;
  return {
    pk: `PERSON#${key}`,
    sk: 'PERSON',
    key,
    login: key,
    name: people[key],
    email: `${key}@corp.example`,
    active: true,
    revision: 1,
  };
}

/** Answers the directory's BatchGetItem: the people of DIRECTORY, at <key>@corp.example. */
// biome-ignore lint/suspicious/noExplicitAny: any client's stub (the document client's, here)
export function mockDirectory(ddb: AwsStub<any, any, any>, people: Record<string, string> = DIRECTORY): void {
  ddb
    .on(BatchGetCommand)
    .callsFake((input: { RequestItems: Record<string, { Keys: Array<{ pk: string }> }> }) => {
      const [table, request] = Object.entries(input.RequestItems)[0]!;
      const items = request.Keys.map((k) => personItem(k.pk.replace(/^PERSON#/, ''), people)).filter(
        (item) => item !== undefined,
      );
      return { Responses: { [table]: items } };
    });
}

export function setEnv(extra: Record<string, string> = {}): void {
  Object.assign(process.env, ENV, extra);
}

/** An unsigned stand-in for the bearer token the JWT authorizer verified (the functions only decode it). */
export function bearerOf(payload: Record<string, unknown>): string {
  const part = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
  return `Bearer ${part({ alg: 'RS256', kid: 'test' })}.${part(payload)}.c2ln`;
}

export function apiEvent(
  routeKey: string,
  options: {
    user?: string;
    groups?: string[];
    path?: Record<string, string>;
    query?: Record<string, string>;
    headers?: Record<string, string>;
    body?: unknown;
    rawBody?: string;
    noAuth?: boolean;
  } = {},
): APIGatewayProxyEventV2WithJWTAuthorizer {
  const [method, path] = routeKey.split(' ') as [string, string];
  const payload = { sub: options.user ?? 'ando', groups: options.groups ?? ['employees'] };
  const auth = options.noAuth ? {} : { authorization: bearerOf(payload) };
  return {
    version: '2.0',
    routeKey,
    rawPath: path,
    rawQueryString: new URLSearchParams(options.query ?? {}).toString(),
    headers: { 'content-type': 'application/json', ...auth, ...options.headers },
    ...(options.query ? { queryStringParameters: options.query } : {}),
    ...(options.path ? { pathParameters: options.path } : {}),
    ...(options.rawBody !== undefined
      ? { body: options.rawBody }
      : options.body !== undefined
        ? { body: JSON.stringify(options.body) }
        : {}),
    isBase64Encoded: false,
    requestContext: {
      http: { method, path, protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'test' },
      routeKey,
      ...(options.noAuth
        ? {}
        : {
            authorizer: {
              jwt: {
                claims: { sub: payload.sub, groups: `[${payload.groups.join(' ')}]` },
                scopes: [],
              },
              principalId: '',
              integrationLatency: 0,
            },
          }),
    },
  } as unknown as APIGatewayProxyEventV2WithJWTAuthorizer;
}

type Result = Exclude<APIGatewayProxyResultV2, string>;

export function bodyOf(result: APIGatewayProxyResultV2): {
  status: number;
  body: any;
  headers: Record<string, unknown>;
} {
  const r = result as Result;
  const text = r.body ?? '';
  const type = String(r.headers?.['content-type'] ?? '');
  return {
    status: r.statusCode ?? 0,
    body: type.includes('json') && text ? JSON.parse(text) : text,
    headers: (r.headers ?? {}) as Record<string, unknown>,
  };
}

export const lambdaContext = {} as never;

export function storedRequest(overrides: Record<string, unknown> = {}) {
  return {
    pk: 'REQ#r-AAAAAAAAAAAAAAAAAAAAAAAA',
    sk: 'REQUEST',
    requestId: 'r-AAAAAAAAAAAAAAAAAAAAAAAA',
    requester: 'ando',
    clientId: 'pc-ando',
    department: 'Sales',
    software: 'editor',
    targetVersion: '2.0',
    reason: 'security fix',
    quantity: 1,
    unitPrice: 120,
    status: 'AWAITING_APPROVAL',
    createdAt: '2025-01-06T09:00:00.000Z',
    bodyHash: 'x',
    steps: {
      S501: { at: '2025-01-06T09:00:00.000Z' },
      S502: { at: '2025-01-06T09:00:01.000Z', lineId: 'l-AAAAAAAAAAAAAAAAAAAAAAAA' },
      S503: { at: '2025-01-06T17:00:05.000Z', available: true, note: 'ok', total: 120 },
      S504: { at: '2025-01-06T17:00:06.000Z', approver: 'okachi' },
      S505: { at: '2025-01-06T17:00:07.000Z', deciders: ['okachi'] },
    },
    deciderSet: new Set(['okachi']),
    ...overrides,
  };
}
