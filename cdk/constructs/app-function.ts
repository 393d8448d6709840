// The one way this app makes a Lambda function: fixed runtime, architecture, bundling, logs
// and tracing, plus bind* helpers that grant access and set the env var in the same call, so
// a function can never hold a name it may not use, or a grant whose name it does not know.
import { dirname, join } from 'node:path';
import { AssetHashType, DockerImage, Duration, type RemovalPolicy } from 'aws-cdk-lib';
import type { ITableV2 } from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import type { IStateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import { PROJECT_ROOT } from '../project-root.js';
import { bundleInto } from './function-bundles.js';

/** Lambda runtime for every function (DESIGN §9: nodejs22.x or newer). */
export const FUNCTION_RUNTIME = lambda.Runtime.NODEJS_22_X;

export interface AppFunctionProps {
  /** Handler source, relative to the project root, e.g. "functions/http/whoami.ts". */
  entry: string;
  description: string;
  logRetentionDays: number;
  removalPolicy: RemovalPolicy;
  timeout?: Duration;
  memorySize?: number;
  environment?: Record<string, string>;
}

export type TableAccess = 'read' | 'write' | 'readWrite';

// The table actions the app's code calls (lib/adapters/dynamodb): never Scan, DescribeTable or
// stream reads, which grantReadWriteData would add. A function that needs more names it.
export const TABLE_READ = ['dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:Query'];
export const TABLE_WRITE = ['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:ConditionCheckItem'];
/** Closing a budget batch deletes its open marker (WorkflowStore.closeBatch). */
export const TABLE_DELETE = ['dynamodb:DeleteItem'];
/** The inventory journal: batch puts, deletes in change sets, its PartiQL commit. */
export const TABLE_JOURNAL = [
  'dynamodb:BatchWriteItem',
  'dynamodb:DeleteItem',
  'dynamodb:PartiQLInsert',
  'dynamodb:PartiQLUpdate',
];
/** The registry write function: inventory reports through the journal. */
export const INVENTORY_WRITER = [...TABLE_READ, ...TABLE_WRITE, ...TABLE_JOURNAL];
/** S605: a completed download's change set, one transaction that may delete items. */
export const CHANGE_SET_WRITER = [...TABLE_READ, ...TABLE_WRITE, ...TABLE_DELETE];
export type BucketAccess = 'read' | 'write' | 'readWrite';
export type QueueAccess = 'send' | 'consume';
export type StateMachineAccess = 'start' | 'respond' | 'read';

export class AppFunction extends lambda.Function {
  constructor(scope: Construct, id: string, props: AppFunctionProps) {
    const logGroup = new logs.LogGroup(scope, `${id}Logs`, {
      retention: retentionFor(props.logRetentionDays),
      removalPolicy: props.removalPolicy,
    });
    // An explicit role instead of AWSLambdaBasicExecutionRole: logs go to this function's own
    // log group only.
    const role = new iam.Role(scope, `${id}Role`, {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `Execution role of ${id}`,
    });
    logGroup.grantWrite(role);
    const entry = join(PROJECT_ROOT, props.entry);
    super(scope, id, {
      role,
      code: lambda.Code.fromAsset(dirname(entry), {
        // The asset is the bundle: its hash is the bundle's, so an unchanged bundle is not redeployed.
        assetHashType: AssetHashType.OUTPUT,
        bundling: {
          // Never pulled: local bundling (esbuild in this process) always succeeds.
          image: DockerImage.fromRegistry('public.ecr.aws/sam/build-nodejs22.x'),
          // Names the entry: CDK caches staged assets by source folder and bundling options, and
          // several handlers share a folder.
          command: ['esbuild', props.entry],
          local: {
            tryBundle(outputDir: string) {
              bundleInto(PROJECT_ROOT, entry, outputDir);
              return true;
            },
          },
        },
      }),
      handler: 'index.handler',
      description: props.description,
      runtime: FUNCTION_RUNTIME,
      architecture: lambda.Architecture.ARM_64,
      memorySize: props.memorySize ?? 512,
      timeout: props.timeout ?? Duration.seconds(10),
      tracing: lambda.Tracing.ACTIVE,
      logGroup,
      loggingFormat: lambda.LoggingFormat.JSON,
      environment: {
        POWERTOOLS_SERVICE_NAME: id,
        // Stack traces point into the TypeScript sources (the bundle ships its source map).
        NODE_OPTIONS: '--enable-source-maps',
        ...props.environment,
      },
    });
  }

  /** Grants the table actions of the access level, or exactly the actions listed. */
  bindTable(table: ITableV2, access: TableAccess | readonly string[], envName = 'TABLE_NAME'): this {
    const actions =
      typeof access !== 'string'
        ? access
        : access === 'read'
          ? TABLE_READ
          : access === 'write'
            ? TABLE_WRITE
            : [...TABLE_READ, ...TABLE_WRITE];
    table.grant(this, ...new Set(actions));
    this.addEnvironment(envName, table.tableName);
    return this;
  }

  bindBucket(bucket: IBucket, access: BucketAccess, envName = 'BUCKET_NAME'): this {
    if (access === 'read') bucket.grantRead(this);
    else if (access === 'write') bucket.grantPut(this);
    else bucket.grantReadWrite(this);
    this.addEnvironment(envName, bucket.bucketName);
    return this;
  }

  bindQueue(queue: IQueue, access: QueueAccess, envName = 'QUEUE_URL'): this {
    // Senders call SendMessage(Batch) only (grantSendMessages adds GetQueueAttributes/GetQueueUrl).
    if (access === 'send') queue.grant(this, 'sqs:SendMessage');
    else queue.grantConsumeMessages(this);
    this.addEnvironment(envName, queue.queueUrl);
    return this;
  }

  bindStateMachine(
    stateMachine: IStateMachine,
    access: StateMachineAccess,
    envName = 'STATE_MACHINE_ARN',
  ): this {
    if (access === 'start') {
      stateMachine.grantStartExecution(this);
      stateMachine.grantRead(this);
    } else if (access === 'respond') {
      // The app answers task tokens with SendTaskSuccess only (failures are answers too).
      stateMachine.grant(this, 'states:SendTaskSuccess');
    } else stateMachine.grantRead(this);
    this.addEnvironment(envName, stateMachine.stateMachineArn);
    return this;
  }

  /** Lets the function send mail from the sender identity through the configuration set. */
  bindMail(mail: {
    identityArn: string;
    configurationSetArn: string;
    configurationSetName: string;
    sender: string;
    replyTo?: string[];
  }): this {
    this.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['ses:SendEmail'],
        resources: [mail.identityArn, mail.configurationSetArn],
      }),
    );
    this.addEnvironment('MAIL_SENDER', mail.sender);
    this.addEnvironment('MAIL_CONFIGURATION_SET', mail.configurationSetName);
    if (mail.replyTo?.length) this.addEnvironment('MAIL_REPLY_TO', mail.replyTo.join(','));
    return this;
  }
}

/** CloudWatch Logs accepts only certain retention values; pick the next one up. */
export function retentionFor(days: number): logs.RetentionDays {
  const allowed = Object.values(logs.RetentionDays)
    .filter((v): v is number => typeof v === 'number' && v > 0)
    .sort((a, b) => a - b);
  const match = allowed.find((v) => v >= days) ?? logs.RetentionDays.INFINITE;
  return match as logs.RetentionDays;
}
