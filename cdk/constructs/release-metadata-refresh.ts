// The vendor site's online TUF keys and the schedule that uses them (docs/vendor.md "Signed
// release metadata"): two AWS KMS asymmetric keys (ECC_NIST_P256) for the snapshot and timestamp
// roles, and a function that EventBridge Scheduler runs every hour to sign a new timestamp (and
// snapshot) before the current one expires. The function may sign with those two keys only, and
// read and write under tuf/ only; the root and targets keys stay with the vendor, offline.
import { type CfnElement, Duration, type RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import type { Bucket } from 'aws-cdk-lib/aws-s3';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { AppFunction } from './app-function.js';

/** Where the TUF repository lives in the release bucket (lib/vendor/layout.ts TUF_PREFIX). */
const TUF_PREFIX = 'tuf/';

export interface ReleaseMetadataRefreshProps {
  releases: Bucket;
  /** How often the refresh runs; the timestamp lives a day and is renewed with half of it left. */
  schedule?: string;
  logRetentionDays: number;
  removalPolicy: RemovalPolicy;
}

export class ReleaseMetadataRefresh extends Construct {
  readonly snapshotKey: kms.Key;
  readonly timestampKey: kms.Key;
  readonly refresh: AppFunction;
  readonly schedule: scheduler.CfnSchedule;
  readonly deadLetterQueue: sqs.Queue;

  constructor(scope: Construct, id: string, props: ReleaseMetadataRefreshProps) {
    super(scope, id);
    const signingKey = (name: string) =>
      new kms.Key(this, `${name}Key`, {
        keySpec: kms.KeySpec.ECC_NIST_P256,
        keyUsage: kms.KeyUsage.SIGN_VERIFY,
        description: `upman release metadata: the ${name.toLowerCase()} role's signing key`,
        removalPolicy: props.removalPolicy,
      });
    this.snapshotKey = signingKey('Snapshot');
    this.timestampKey = signingKey('Timestamp');

    this.refresh = new AppFunction(this, 'Refresh', {
      entry: 'functions/schedule/refresh-release-metadata.ts',
      description:
        'Signs a new TUF timestamp (and snapshot) of the vendor site before the current one expires',
      timeout: Duration.seconds(60),
      logRetentionDays: props.logRetentionDays,
      removalPolicy: props.removalPolicy,
      environment: {
        RELEASE_BUCKET_NAME: props.releases.bucketName,
        TUF_SNAPSHOT_KEY_ID: this.snapshotKey.keyArn,
        TUF_TIMESTAMP_KEY_ID: this.timestampKey.keyArn,
      },
    });
    // GetPublicKey: the function checks that root.json names these keys before it signs anything.
    this.refresh.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['kms:GetPublicKey', 'kms:Sign'],
        resources: [this.snapshotKey.keyArn, this.timestampKey.keyArn],
      }),
    );
    this.refresh.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['s3:GetObject', 's3:PutObject'],
        resources: [props.releases.arnForObjects(`${TUF_PREFIX}*`)],
      }),
    );
    // A listing of tuf/ tells "not initialised yet" (404) from a refusal (403).
    this.refresh.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['s3:ListBucket'],
        resources: [props.releases.bucketArn],
        conditions: { StringLike: { 's3:prefix': [`${TUF_PREFIX}*`] } },
      }),
    );
    Validations.of(this.refresh.role!).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${Stack.of(this).getLogicalId(props.releases.node.defaultChild as CfnElement)}.Arn>/${TUF_PREFIX}*]`,
      reason:
        'The refresh reads targets, snapshot and timestamp and writes snapshot and timestamp: the TUF files under tuf/, nothing else.',
    });

    // Invocations the scheduler could not deliver, and runs that failed after Lambda's own
    // retries, are kept for two weeks instead of being lost.
    this.deadLetterQueue = new sqs.Queue(this, 'Dlq', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
      removalPolicy: props.removalPolicy,
    });
    Validations.of(this.deadLetterQueue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason: 'This queue is itself the dead-letter queue of the refresh schedule and of its function.',
    });
    this.refresh.configureAsyncInvoke({
      retryAttempts: 2,
      onFailure: {
        bind: () => ({ destination: this.deadLetterQueue.queueArn }),
      },
    });
    this.deadLetterQueue.grant(this.refresh, 'sqs:SendMessage');

    // L1 with its own role naming one function (the L2 target would grant "<arn>:*").
    const role = new iam.Role(this, 'ScheduleRole', {
      assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com'),
      description: 'EventBridge Scheduler: invoke the release-metadata refresh',
    });
    role.addToPolicy(
      new iam.PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: [this.refresh.functionArn] }),
    );
    role.addToPolicy(
      new iam.PolicyStatement({ actions: ['sqs:SendMessage'], resources: [this.deadLetterQueue.queueArn] }),
    );
    this.schedule = new scheduler.CfnSchedule(this, 'Schedule', {
      description:
        'Renews the TUF timestamp (1 day) and snapshot (7 days) of the vendor site before they expire',
      scheduleExpression: props.schedule ?? 'rate(1 hour)',
      flexibleTimeWindow: { mode: 'OFF' },
      target: {
        arn: this.refresh.functionArn,
        roleArn: role.roleArn,
        input: JSON.stringify({ source: 'schedule' }),
        retryPolicy: { maximumRetryAttempts: 3, maximumEventAgeInSeconds: 3600 },
        deadLetterConfig: { arn: this.deadLetterQueue.queueArn },
      },
    });
  }
}
