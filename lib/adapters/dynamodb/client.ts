// One DynamoDB document client per container (DESIGN §9). The endpoint comes from the SDK's
// own AWS_ENDPOINT_URL_DYNAMODB in the local cloud.
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  DynamoDBDocumentClient,
  QueryCommand,
  type QueryCommandInput,
  type TransactWriteCommandInput,
} from '@aws-sdk/lib-dynamodb';
import { backoff } from './races.js';

/** One item of a TransactWriteItems call. */
export type TransactItem = NonNullable<TransactWriteCommandInput['TransactItems']>[number];

let shared: DynamoDBDocumentClient | undefined;

export function documentClient(client: DynamoDBClient = new DynamoDBClient({})): DynamoDBDocumentClient {
  return DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
}

export function sharedDocumentClient(): DynamoDBDocumentClient {
  shared ??= documentClient();
  return shared;
}

/** Every item of a query, following LastEvaluatedKey: for partitions read whole (a batch's lines). */
export async function queryAllItems(
  db: DynamoDBDocumentClient,
  input: Omit<QueryCommandInput, 'ExclusiveStartKey'>,
): Promise<Record<string, unknown>[]> {
  const items: Record<string, unknown>[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const out = await db.send(new QueryCommand({ ...input, ...(start ? { ExclusiveStartKey: start } : {}) }));
    items.push(...(out.Items ?? []));
    start = out.LastEvaluatedKey;
  } while (start);
  return items;
}

/**
 * The items of `keys` (up to 100, one table) in one BatchGetItem, reading again only what
 * DynamoDB leaves unprocessed (throttling). Absent items are simply not in the answer.
 */
export async function batchGetItems(
  db: DynamoDBDocumentClient,
  tableName: string,
  keys: Record<string, unknown>[],
  consistent: boolean,
): Promise<Record<string, unknown>[]> {
  const items: Record<string, unknown>[] = [];
  let rest: Record<string, unknown>[] | undefined = keys;
  for (let attempt = 0; rest && rest.length > 0; attempt++) {
    if (attempt >= 10) throw new Error('BatchGetItem left keys unprocessed after 10 attempts');
    if (attempt > 0) await backoff(attempt);
    const out = await db.send(
      new BatchGetCommand({
        RequestItems: { [tableName]: { Keys: rest, ...(consistent ? { ConsistentRead: true } : {}) } },
      }),
    );
    items.push(...(out.Responses?.[tableName] ?? []));
    rest = out.UnprocessedKeys?.[tableName]?.Keys as Record<string, unknown>[] | undefined;
  }
  return items;
}
