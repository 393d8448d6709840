import {
  ConditionalCheckFailedException,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  TransactionCanceledException,
  TransactWriteItemsCommand,
} from '@aws-sdk/client-dynamodb';
import { afterAll, describe, expect, inject, it } from 'vitest';

const e = inject('endpoints');
const client = new DynamoDBClient({ endpoint: e.dynamodb, region: e.region, credentials: e.credentials });
const table = e.tables.registry;

afterAll(() => client.destroy());

describe('DynamoDB Local in the local cloud', () => {
  it('has the registry table of the template', () => {
    expect(table).toMatch(/^Registry/);
  });

  it('writes nothing when one condition of a transaction fails', async () => {
    const id = `tx-${Date.now()}`;
    await client.send(
      new PutItemCommand({
        TableName: table,
        Item: { pk: { S: `TEST#${id}` }, sk: { S: 'existing' }, v: { N: '1' } },
      }),
    );
    const attempt = client.send(
      new TransactWriteItemsCommand({
        TransactItems: [
          { Put: { TableName: table, Item: { pk: { S: `TEST#${id}` }, sk: { S: 'new' }, v: { N: '2' } } } },
          {
            Update: {
              TableName: table,
              Key: { pk: { S: `TEST#${id}` }, sk: { S: 'existing' } },
              UpdateExpression: 'SET v = :two',
              ConditionExpression: 'v = :zero',
              ExpressionAttributeValues: { ':two': { N: '2' }, ':zero': { N: '0' } },
            },
          },
        ],
      }),
    );
    const error = await attempt.catch((err: unknown) => err);
    expect(error).toBeInstanceOf(TransactionCanceledException);
    expect((error as TransactionCanceledException).CancellationReasons?.map((r) => r.Code)).toEqual([
      'None',
      'ConditionalCheckFailed',
    ]);
    const fresh = await client.send(
      new GetItemCommand({
        TableName: table,
        Key: { pk: { S: `TEST#${id}` }, sk: { S: 'new' } },
        ConsistentRead: true,
      }),
    );
    expect(fresh.Item).toBeUndefined();
    const existing = await client.send(
      new GetItemCommand({
        TableName: table,
        Key: { pk: { S: `TEST#${id}` }, sk: { S: 'existing' } },
        ConsistentRead: true,
      }),
    );
    expect(existing.Item?.v).toEqual({ N: '1' });
  });

  it('refuses a conditional put on an existing item', async () => {
    const Item = { pk: { S: `TEST#cond-${Date.now()}` }, sk: { S: 'x' } };
    await client.send(new PutItemCommand({ TableName: table, Item }));
    await expect(
      client.send(
        new PutItemCommand({ TableName: table, Item, ConditionExpression: 'attribute_not_exists(pk)' }),
      ),
    ).rejects.toBeInstanceOf(ConditionalCheckFailedException);
  });
});
