// The registry (DESIGN §3): one DynamoDB table, single-table design. Items are told apart by
// their key prefixes (see docs/registry.md); three overloaded global secondary indexes serve
// every query of the mission without a Scan.
import { RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';

export const REGISTRY_INDEXES = ['GSI1', 'GSI2', 'GSI3'] as const;

export interface RegistryTableProps {
  removalPolicy: RemovalPolicy;
}

export class RegistryTable extends Construct {
  readonly table: dynamodb.TableV2;

  constructor(scope: Construct, id: string, props: RegistryTableProps) {
    super(scope, id);
    const str = dynamodb.AttributeType.STRING;
    this.table = new dynamodb.TableV2(this, 'Table', {
      partitionKey: { name: 'pk', type: str },
      sortKey: { name: 'sk', type: str },
      billing: dynamodb.Billing.onDemand(),
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      deletionProtection: props.removalPolicy === RemovalPolicy.RETAIN,
      removalPolicy: props.removalPolicy,
      timeToLiveAttribute: 'expiresAt',
      globalSecondaryIndexes: REGISTRY_INDEXES.map((name) => ({
        indexName: name,
        partitionKey: { name: `${name.toLowerCase()}pk`, type: str },
        sortKey: { name: `${name.toLowerCase()}sk`, type: str },
      })),
    });
    // Grants on the table also cover its indexes (table/<name>/index/*): the indexes are part
    // of the registry, and naming each one would change nothing but the policy's length.
    const logicalId = Stack.of(this).getLogicalId(this.table.node.defaultChild as dynamodb.CfnGlobalTable);
    Validations.of(Stack.of(this)).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${logicalId}.Arn>/index/*]`,
      reason: "Grants on the registry cover its own secondary indexes, which serve the registry's queries.",
    });
  }
}
