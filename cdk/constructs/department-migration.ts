// Runs the department migration (lib/registry/departments.ts: departments compare
// case-insensitively and keep their first spelling) as part of a deploy: a CloudFormation custom
// resource whose function answers CloudFormation itself. CloudFormation calls it when the resource
// is created (the first deploy with it, onto whatever the table holds) and whenever MIGRATION
// changes; the migration is idempotent and stops in time on a registry too large for one run (the
// deploy fails and the next continues). It is the one function that may Scan the table (every
// client, once per deploy), and besides the registry writer the one that commits inventory change
// sets (re-filing a respelled client's installations).
import { CustomResource, Duration, type RemovalPolicy } from 'aws-cdk-lib';
import type { ITableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';
import { AppFunction, INVENTORY_WRITER } from './app-function.js';

/** Bump to run the migration again on the next deploy. */
export const DEPARTMENT_MIGRATION = 'departments-first-spelling-v1';

export interface DepartmentMigrationProps {
  table: ITableV2;
  logRetentionDays: number;
  removalPolicy: RemovalPolicy;
}

export class DepartmentMigration extends Construct {
  readonly function: AppFunction;

  constructor(scope: Construct, id: string, props: DepartmentMigrationProps) {
    super(scope, id);
    this.function = new AppFunction(this, 'Migration', {
      entry: 'functions/deploy/migrate-departments.ts',
      description: 'Deploy step: every client to its department’s first spelling (idempotent)',
      logRetentionDays: props.logRetentionDays,
      removalPolicy: props.removalPolicy,
      // Within half the inventory lease, as every function that writes inventories.
      timeout: Duration.seconds(60),
    }).bindTable(props.table, [...INVENTORY_WRITER, 'dynamodb:Scan']);
    new CustomResource(this, 'Run', {
      serviceToken: this.function.functionArn,
      resourceType: 'Custom::DepartmentMigration',
      properties: { Migration: DEPARTMENT_MIGRATION },
    });
  }
}
