// Helpers for tests that drive the whole HTTP API of the local cloud: tokens per role, a call
// that never throws on a status, the routes of the synthesized template, and a fingerprint of
// the registry table and the queues to prove that a refused request wrote nothing.
import { createHash } from 'node:crypto';
import { DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import { GetQueueAttributesCommand, ListQueuesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { inject } from 'vitest';
import { mintToken } from '../../cdk/local/issuer/index.js';
import { loadAssembly } from '../../cdk/local/template.js';

export const e = inject('endpoints');
export const dataDir = inject('dataDir');

const tokens = new Map<string, string>();
/** A valid token of the development issuer for `user` in `groups` (cached per pair). */
export async function tokenOf(user: string, groups: string[]): Promise<string> {
  const key = `${user}|${groups.join(',')}`;
  if (!tokens.has(key)) {
    tokens.set(key, await mintToken({ dataDir, issuer: e.jwtIssuer, audience: e.audience, user, groups }));
  }
  return tokens.get(key)!;
}

export interface Answer {
  status: number;
  // biome-ignore lint/suspicious/noExplicitAny: answers are JSON of many shapes; tests check them
  body: any;
}

/** One request; the body is JSON unless `raw` is given (then sent as is, with its type). */
export async function call(
  token: string | undefined,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<Answer> {
  const res = await fetch(`${e.api}${path}`, {
    method,
    headers: {
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...headers,
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    // an HTML page or CSV: kept as text
  }
  return { status: res.status, body: parsed };
}

export interface TemplateRoute {
  method: string;
  path: string;
  /** JWT for routes behind the authorizer, NONE for public ones. */
  authorization: string;
}

/** Every route of the synthesized app, as API Gateway would serve it. */
export function templateRoutes(assemblyDir = 'cdk.out'): TemplateRoute[] {
  const routes: TemplateRoute[] = [];
  for (const stack of loadAssembly(assemblyDir)) {
    for (const resource of Object.values(stack.template.Resources ?? {})) {
      if (resource.Type !== 'AWS::ApiGatewayV2::Route') continue;
      const props = resource.Properties as { RouteKey: string; AuthorizationType?: string };
      const [method, path] = props.RouteKey.split(' ') as [string, string];
      routes.push({ method, path, authorization: props.AuthorizationType ?? 'NONE' });
    }
  }
  return routes.sort((a, b) => `${a.path} ${a.method}`.localeCompare(`${b.path} ${b.method}`));
}

const awsClients = () => ({
  dynamodb: new DynamoDBClient({ endpoint: e.dynamodb, region: e.region, credentials: e.credentials }),
  sqs: new SQSClient({ endpoint: e.sqs, region: e.region, credentials: e.credentials }),
});

/**
 * A digest of every item in the app's table and the message counts of every queue: equal
 * before and after a batch of refused requests means they wrote nothing.
 */
export async function storeFingerprint(): Promise<string> {
  const { dynamodb, sqs } = awsClients();
  try {
    const items: string[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await dynamodb.send(
        new ScanCommand({
          TableName: e.tables.registry,
          ...(start ? { ExclusiveStartKey: start as never } : {}),
        }),
      );
      for (const item of page.Items ?? []) items.push(JSON.stringify(item, Object.keys(item).sort()));
      start = page.LastEvaluatedKey;
    } while (start);
    const queues = (await sqs.send(new ListQueuesCommand({}))).QueueUrls ?? [];
    for (const url of queues.sort()) {
      const { Attributes } = await sqs.send(
        new GetQueueAttributesCommand({
          QueueUrl: url,
          AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
        }),
      );
      items.push(
        `${url} ${Attributes?.ApproximateNumberOfMessages} ${Attributes?.ApproximateNumberOfMessagesNotVisible}`,
      );
    }
    return createHash('sha256').update(items.sort().join('\n')).digest('hex');
  } finally {
    dynamodb.destroy();
    sqs.destroy();
  }
}
