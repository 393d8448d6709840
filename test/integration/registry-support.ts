// Helpers for the registry's integration tests and bench: a scratch registry table shaped like
// cdk/constructs/registry-table.ts (pk/sk + GSI1..3, all strings, ALL projection) in a DynamoDB.
import { CreateTableCommand, DeleteTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { REGISTRY_INDEXES } from '../../cdk/constructs/registry-table.js';
import { documentClient } from '../../lib/adapters/dynamodb/client.js';
import { DynamoPeopleStore } from '../../lib/adapters/dynamodb/people-store.js';
import { DynamoRegistryStore } from '../../lib/adapters/dynamodb/registry-store.js';

export interface DynamoTarget {
  dynamodb: string;
  region: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
}

export async function createRegistryTable(client: DynamoDBClient, tableName: string): Promise<void> {
  const attrs = [
    'pk',
    'sk',
    ...REGISTRY_INDEXES.flatMap((n) => [`${n.toLowerCase()}pk`, `${n.toLowerCase()}sk`]),
  ];
  await client.send(
    new CreateTableCommand({
      TableName: tableName,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: attrs.map((AttributeName) => ({ AttributeName, AttributeType: 'S' })),
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      GlobalSecondaryIndexes: REGISTRY_INDEXES.map((name) => ({
        IndexName: name,
        KeySchema: [
          { AttributeName: `${name.toLowerCase()}pk`, KeyType: 'HASH' },
          { AttributeName: `${name.toLowerCase()}sk`, KeyType: 'RANGE' },
        ],
        Projection: { ProjectionType: 'ALL' },
      })),
    }),
  );
}

/** A fresh, uniquely named registry table and a store on it; drop() deletes it. */
export async function scratchRegistry(target: DynamoTarget, prefix = 'registry-it') {
  const raw = new DynamoDBClient({
    endpoint: target.dynamodb,
    region: target.region,
    credentials: target.credentials,
  });
  const tableName = `${prefix}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 6)}`;
  await createRegistryTable(raw, tableName);
  const db = documentClient(raw);
  const store = new DynamoRegistryStore(db, tableName);
  const people = new DynamoPeopleStore(db, tableName);
  return {
    raw,
    db,
    store,
    people,
    tableName,
    /** Puts people in the directory (by key = login), so use cases can resolve them. */
    async addPeople(...keys: string[]) {
      for (const key of keys) {
        if (await people.getPerson(key)) continue;
        await people.savePerson(
          {
            key,
            login: key,
            active: true,
            revision: 1,
            updatedAt: new Date(0).toISOString(),
            updatedBy: 'test',
          },
          undefined,
        );
      }
    },
    async drop() {
      await raw.send(new DeleteTableCommand({ TableName: tableName }));
      raw.destroy();
    },
  };
}
