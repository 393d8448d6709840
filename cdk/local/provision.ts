// Creates the template's tables and buckets in the emulators. Existing ones are kept (their
// data survives a restart); a table whose keys changed in the template is reported, not
// silently dropped.
import {
  CreateTableCommand,
  DescribeTableCommand,
  type DynamoDBClient,
  type GlobalSecondaryIndex,
  ResourceInUseException,
  UpdateTimeToLiveCommand,
} from '@aws-sdk/client-dynamodb';
import type { KeyPolicy, TemplateKey } from './kms.js';
import { accountOf, physicalName, type TemplateResolver } from './template.js';

export interface TableSpec {
  name: string;
  keySchema: Array<{ AttributeName: string; KeyType: 'HASH' | 'RANGE' }>;
  attributeDefinitions: Array<{ AttributeName: string; AttributeType: 'S' | 'N' | 'B' }>;
  globalSecondaryIndexes: GlobalSecondaryIndex[];
  ttlAttribute?: string;
}

export function templateTables(resolver: TemplateResolver): TableSpec[] {
  const types = ['AWS::DynamoDB::Table', 'AWS::DynamoDB::GlobalTable'];
  return types.flatMap((type) =>
    resolver.resourcesOfType(type).map(({ stack, logicalId, resource }) => {
      const p = resolver.resolve(stack, resource.Properties ?? {}) as Record<string, any>;
      const gsis = (p.GlobalSecondaryIndexes ?? []) as Array<Record<string, any>>;
      const ttl = p.TimeToLiveSpecification as { AttributeName?: string; Enabled?: boolean } | undefined;
      return {
        name: physicalName(type, logicalId, stack.stackName),
        keySchema: p.KeySchema,
        attributeDefinitions: p.AttributeDefinitions,
        globalSecondaryIndexes: gsis.map((g) => ({
          IndexName: g.IndexName,
          KeySchema: g.KeySchema,
          Projection: g.Projection ?? { ProjectionType: 'ALL' },
        })),
        ...(ttl?.AttributeName && ttl.Enabled !== false ? { ttlAttribute: ttl.AttributeName } : {}),
      } satisfies TableSpec;
    }),
  );
}

export async function provisionTables(client: DynamoDBClient, tables: TableSpec[]): Promise<void> {
  for (const table of tables) {
    try {
      await client.send(
        new CreateTableCommand({
          TableName: table.name,
          KeySchema: table.keySchema,
          AttributeDefinitions: table.attributeDefinitions,
          BillingMode: 'PAY_PER_REQUEST',
          ...(table.globalSecondaryIndexes.length
            ? { GlobalSecondaryIndexes: table.globalSecondaryIndexes }
            : {}),
        }),
      );
      if (table.ttlAttribute) {
        await client.send(
          new UpdateTimeToLiveCommand({
            TableName: table.name,
            TimeToLiveSpecification: { AttributeName: table.ttlAttribute, Enabled: true },
          }),
        );
      }
    } catch (error) {
      if (!(error instanceof ResourceInUseException)) throw error;
      await checkUnchanged(client, table);
    }
  }
}

async function checkUnchanged(client: DynamoDBClient, table: TableSpec): Promise<void> {
  const existing = (await client.send(new DescribeTableCommand({ TableName: table.name }))).Table;
  const have = new Set((existing?.GlobalSecondaryIndexes ?? []).map((g) => g.IndexName));
  const missing = table.globalSecondaryIndexes.filter((g) => !have.has(g.IndexName));
  const keys = (k: Array<{ AttributeName?: string; KeyType?: string }> | undefined) =>
    JSON.stringify((k ?? []).map((x) => [x.AttributeName, x.KeyType]));
  if (keys(existing?.KeySchema) !== keys(table.keySchema) || missing.length > 0) {
    throw new Error(
      `Table ${table.name} in .local/ no longer matches the template (keys or indexes changed). ` +
        'Delete .local/dynamodb to start from empty data, or keep the old template.',
    );
  }
}

export interface BucketSpec {
  name: string;
  accessLog?: { targetBucket: string; prefix: string };
}

export function templateBuckets(resolver: TemplateResolver): BucketSpec[] {
  return resolver.resourcesOfType('AWS::S3::Bucket').map(({ stack, logicalId, resource }) => {
    const p = resolver.resolve(stack, resource.Properties ?? {}) as Record<string, any>;
    const logging = p.LoggingConfiguration as
      | { DestinationBucketName?: string; LogFilePrefix?: string }
      | undefined;
    return {
      name: resolver.resolveString(stack, { Ref: logicalId }),
      ...(logging?.DestinationBucketName
        ? { accessLog: { targetBucket: logging.DestinationBucketName, prefix: logging.LogFilePrefix ?? '' } }
        : {}),
    };
  });
}

/** The templates' KMS keys, by the id their Ref resolves to (the logical id), with their key policies. */
export function templateKmsKeys(resolver: TemplateResolver): TemplateKey[] {
  return resolver.resourcesOfType('AWS::KMS::Key').map(({ stack, logicalId, resource }) => {
    const p = resolver.resolve(stack, resource.Properties ?? {}) as Record<string, any>;
    return {
      keyId: physicalName('AWS::KMS::Key', logicalId, stack.stackName),
      account: accountOf(stack),
      keySpec: String(p.KeySpec ?? 'SYMMETRIC_DEFAULT'),
      keyUsage: String(p.KeyUsage ?? 'ENCRYPT_DECRYPT'),
      description: String(p.Description ?? ''),
      ...(p.KeyPolicy ? { policy: p.KeyPolicy as KeyPolicy } : {}),
    };
  });
}
