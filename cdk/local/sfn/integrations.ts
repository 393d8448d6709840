// The service integrations a Task can name in its Resource, called with the Parameters the
// runner has already evaluated. Results and errors take the shapes Step Functions gives them.
import { randomUUID } from 'node:crypto';
import {
  DeleteItemCommand,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { TaskResource } from './definition.js';
import { lambdaTaskError, serviceTaskError, TaskError } from './errors.js';

export interface IntegrationDeps {
  invokeLambda(functionNameOrArn: string, payload: unknown): Promise<unknown>;
  clients: { dynamodb: DynamoDBClient; sqs: SQSClient };
}

/** Calls the resource with the evaluated Parameters; throws TaskError with the ASL error name. */
export async function callIntegration(
  deps: IntegrationDeps,
  resource: TaskResource,
  params: unknown,
): Promise<unknown> {
  if (resource.kind === 'lambda-arn') {
    try {
      return await deps.invokeLambda(resource.arn, params);
    } catch (err) {
      throw lambdaTaskError(err);
    }
  }
  const p = asParameters(params);
  switch (resource.service) {
    case 'lambda':
      return invokeLambda(deps, p);
    case 'dynamodb':
      return dynamodb(deps, resource.action, p);
    case 'sqs':
      return sendMessage(deps, p);
  }
}

async function invokeLambda(deps: IntegrationDeps, p: Record<string, unknown>): Promise<unknown> {
  const name = requireString(p, 'FunctionName');
  const qualified = typeof p.Qualifier === 'string' ? `${name}:${p.Qualifier}` : name;
  const payload = p.Payload ?? {};
  if (p.InvocationType === 'Event') {
    // Asynchronous invoke: Lambda answers 202 and runs the function on its own.
    deps.invokeLambda(qualified, payload).catch((err) => {
      console.error(`[sfn] asynchronous invoke of ${qualified} failed`, err);
    });
    return withSdkMetadata({ Payload: '', StatusCode: 202 }, 202);
  }
  if (p.InvocationType === 'DryRun') return withSdkMetadata({ Payload: '', StatusCode: 204 }, 204);
  let result: unknown;
  try {
    result = await deps.invokeLambda(qualified, payload);
  } catch (err) {
    throw lambdaTaskError(err);
  }
  return withSdkMetadata({ ExecutedVersion: '$LATEST', Payload: result ?? null, StatusCode: 200 }, 200);
}

async function dynamodb(deps: IntegrationDeps, action: string, p: Record<string, unknown>): Promise<unknown> {
  requireString(p, 'TableName');
  // The Parameters are the API's own input (TableName, Key, Item, UpdateExpression, …).
  // biome-ignore lint/suspicious/noExplicitAny: the SDK command inputs are exactly these JSON fields
  const input = p as any;
  const command =
    action === 'putItem'
      ? new PutItemCommand(input)
      : action === 'getItem'
        ? new GetItemCommand(input)
        : action === 'updateItem'
          ? new UpdateItemCommand(input)
          : action === 'deleteItem'
            ? new DeleteItemCommand(input)
            : undefined;
  if (!command) throw new TaskError('States.Runtime', `dynamodb:${action} is not supported`);
  try {
    // biome-ignore lint/suspicious/noExplicitAny: one send for four command types
    const out = await deps.clients.dynamodb.send(command as any);
    return withSdkMetadata(toPlainJson(out), 200);
  } catch (err) {
    throw serviceTaskError('DynamoDB', err);
  }
}

async function sendMessage(deps: IntegrationDeps, p: Record<string, unknown>): Promise<unknown> {
  const queueUrl = requireString(p, 'QueueUrl');
  if (p.MessageBody === undefined) throw new TaskError('States.Runtime', 'sqs:sendMessage needs MessageBody');
  // Step Functions serialises a JSON MessageBody for you.
  const body = typeof p.MessageBody === 'string' ? p.MessageBody : JSON.stringify(p.MessageBody);
  try {
    const out = await deps.clients.sqs.send(
      new SendMessageCommand({
        QueueUrl: queueUrl,
        MessageBody: body,
        ...(p.DelaySeconds !== undefined ? { DelaySeconds: Number(p.DelaySeconds) } : {}),
        ...(p.MessageAttributes !== undefined
          ? {
              MessageAttributes: p.MessageAttributes as NonNullable<
                SendMessageCommand['input']['MessageAttributes']
              >,
            }
          : {}),
        ...(typeof p.MessageGroupId === 'string' ? { MessageGroupId: p.MessageGroupId } : {}),
        ...(typeof p.MessageDeduplicationId === 'string'
          ? { MessageDeduplicationId: p.MessageDeduplicationId }
          : {}),
      }),
    );
    return withSdkMetadata(toPlainJson(out), 200);
  } catch (err) {
    throw serviceTaskError('SQS', err);
  }
}

function asParameters(params: unknown): Record<string, unknown> {
  if (typeof params !== 'object' || params === null || Array.isArray(params)) {
    throw new TaskError('States.Runtime', 'The Task needs Parameters that form a JSON object');
  }
  return params as Record<string, unknown>;
}

function requireString(p: Record<string, unknown>, field: string): string {
  const value = p[field];
  if (typeof value !== 'string' || value === '') {
    throw new TaskError('States.Runtime', `The Parameters field '${field}' must be a non-empty string`);
  }
  return value;
}

/** SDK output → JSON as the service sent it: no $metadata, binary as base64, sets as arrays. */
export function toPlainJson(value: unknown): unknown {
  if (value instanceof Uint8Array) return Buffer.from(value).toString('base64');
  if (value instanceof Set) return [...value].map(toPlainJson);
  if (Array.isArray(value)) return value.map(toPlainJson);
  if (typeof value === 'object' && value !== null) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      if (k === '$metadata' || v === undefined) continue;
      out[k] = toPlainJson(v);
    }
    return out;
  }
  return value;
}

function withSdkMetadata(result: unknown, status: number): Record<string, unknown> {
  return {
    ...(result as Record<string, unknown>),
    SdkHttpMetadata: { HttpHeaders: {}, HttpStatusCode: status },
    SdkResponseMetadata: { RequestId: randomUUID() },
  };
}
