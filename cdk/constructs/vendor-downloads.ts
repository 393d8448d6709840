// The organisation's side of the download site (S508 keys on request, S604/S605): the key and
// confirmation routes, grant revocation, and the scheduled access-log processor (audit evidence
// only). It lives in the management stack because everything it writes is the organisation's
// (grants, registry history, finance's queue); from the vendor's account it only reads (release
// manifests, and the access logs the vendor's bucket policy lets it read). docs/vendor.md
// "Cross-account".
import { Aws, Duration, type RemovalPolicy } from 'aws-cdk-lib';
import type { ITableV2 } from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { AppFunction, CHANGE_SET_WRITER } from './app-function.js';
import type { UpmanHttpApi } from './http-api.js';
import { acknowledgeBucketObjects, nameAsKeyIssuer } from './key-issuer-role.js';

export interface VendorDownloadsProps {
  api: UpmanHttpApi;
  table: ITableV2;
  noticeQueue: IQueue;
  /** The vendor's buckets, by name: they may be in another account. */
  releaseBucketName: string;
  /** Region of the release and access-log buckets (the vendor site's). */
  releaseBucketRegion: string;
  accessLogBucketName: string;
  accessLogPrefix: string;
  keyTtlSeconds: number;
  grantTtlDays?: number;
  /** How often the access-log processor runs. */
  evidenceSchedule?: string;
  logRetentionDays: number;
  removalPolicy: RemovalPolicy;
}

export class VendorDownloads extends Construct {
  readonly freshKey: AppFunction;
  readonly confirmation: AppFunction;
  readonly revoke: AppFunction;
  readonly evidence: AppFunction;
  readonly evidenceSchedule: scheduler.CfnSchedule;

  constructor(scope: Construct, id: string, props: VendorDownloadsProps) {
    super(scope, id);
    const base = { logRetentionDays: props.logRetentionDays, removalPolicy: props.removalPolicy };
    const env = {
      RELEASE_BUCKET_NAME: props.releaseBucketName,
      RELEASE_BUCKET_REGION: props.releaseBucketRegion,
      KEY_TTL_SECONDS: String(props.keyTtlSeconds),
      GRANT_TTL_DAYS: String(props.grantTtlDays ?? 30),
    };
    const releases = `arn:${Aws.PARTITION}:s3:::${props.releaseBucketName}`;
    const readReleases = (fn: AppFunction, name: string) => {
      fn.addToRolePolicy(
        new iam.PolicyStatement({ actions: ['s3:GetObject'], resources: [`${releases}/*`] }),
      );
      nameAsKeyIssuer(fn, name, props.releaseBucketName);
      return fn;
    };

    this.freshKey = readReleases(
      new AppFunction(this, 'FreshKey', {
        ...base,
        entry: 'functions/http/keys/fresh-key.ts',
        description: 'POST /update-requests/{id}/key: a fresh presigned key for an approved request',
        environment: env,
      }).bindTable(props.table, 'readWrite'),
      'FreshKey',
    );
    this.confirmation = readReleases(
      new AppFunction(this, 'Confirmation', {
        ...base,
        entry: 'functions/http/grants/confirmation.ts',
        description: "POST /grants/{grantId}/confirmation: the agent's evidence of a completed download",
        environment: env,
      })
        .bindTable(props.table, CHANGE_SET_WRITER)
        .bindQueue(props.noticeQueue, 'send', 'DOWNLOAD_NOTICE_QUEUE_URL'),
      'Confirmation',
    );
    this.revoke = new AppFunction(this, 'Revoke', {
      ...base,
      entry: 'functions/http/grants/revoke.ts',
      description: 'DELETE /grants/{grantId}: an admin revokes a download grant',
      environment: env,
    }).bindTable(props.table, 'readWrite');

    // Audit evidence only: it reads the logs and writes its own evidence items and cursor; no
    // release, registry change set or finance queue. Named as a key issuer because the vendor's
    // log bucket policy trusts that role name (vendor-log-access.ts).
    this.evidence = new AppFunction(this, 'Evidence', {
      ...base,
      entry: 'functions/schedule/download-logs.ts',
      description: "Keeps the release bucket's access logs as audit evidence of each grant's keys",
      timeout: Duration.minutes(2),
      environment: {
        ...env,
        ACCESS_LOG_BUCKET_NAME: props.accessLogBucketName,
        ACCESS_LOG_PREFIX: props.accessLogPrefix,
      },
    }).bindTable(props.table, ['dynamodb:GetItem', 'dynamodb:PutItem']);
    nameAsKeyIssuer(this.evidence, 'Evidence');
    const logs = `arn:${Aws.PARTITION}:s3:::${props.accessLogBucketName}`;
    this.evidence.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['s3:GetObject'],
        resources: [`${logs}/${props.accessLogPrefix}*`],
      }),
    );
    this.evidence.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['s3:ListBucket'],
        resources: [logs],
        conditions: { StringLike: { 's3:prefix': [`${props.accessLogPrefix}*`] } },
      }),
    );
    acknowledgeBucketObjects(
      this.evidence.role!,
      props.accessLogBucketName,
      `${props.accessLogPrefix}*`,
      'The processor reads every access log object the release bucket delivers under its prefix.',
    );

    props.api.addRoute('POST /update-requests/{id}/key', this.freshKey);
    props.api.addRoute('POST /grants/{grantId}/confirmation', this.confirmation);
    props.api.addRoute('DELETE /grants/{grantId}', this.revoke);

    // L1 with its own role naming one function (the L2 target would grant "<arn>:*").
    const role = new iam.Role(this, 'EvidenceScheduleRole', {
      assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com'),
      description: 'EventBridge Scheduler: invoke the download access-log processor',
    });
    role.addToPolicy(
      new iam.PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: [this.evidence.functionArn] }),
    );
    this.evidenceSchedule = new scheduler.CfnSchedule(this, 'EvidenceSchedule', {
      description: 'Reads new release-bucket access logs (S3 delivers them within minutes)',
      scheduleExpression: props.evidenceSchedule ?? 'rate(5 minutes)',
      flexibleTimeWindow: { mode: 'OFF' },
      target: {
        arn: this.evidence.functionArn,
        roleArn: role.roleArn,
        input: JSON.stringify({ source: 'schedule' }),
        retryPolicy: { maximumRetryAttempts: 1 },
      },
    });
  }
}
