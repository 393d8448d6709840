import { Match } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { RELEASE_ACCESS_LOG_PREFIX } from '../../cdk/constructs/vendor-log-access.js';
import { type SynthesizedApp, synthApp } from './synth.js';

let synth: SynthesizedApp;

beforeAll(() => {
  synth = synthApp();
});

type Resource = { Type: string; Properties: Record<string, any> };
const resources = (t: SynthesizedApp['managementTemplate']) =>
  t.toJSON().Resources as Record<string, Resource>;

describe('the download routes and functions', () => {
  it('adds the key, confirmation and revocation routes behind the JWT authorizer', () => {
    for (const route of [
      'POST /update-requests/{id}/key',
      'POST /grants/{grantId}/confirmation',
      'DELETE /grants/{grantId}',
    ]) {
      synth.managementTemplate.hasResourceProperties('AWS::ApiGatewayV2::Route', {
        RouteKey: route,
        AuthorizationType: 'JWT',
      });
    }
  });

  it('names every role that reads releases so the vendor bucket trusts exactly those', () => {
    const names = Object.values(resources(synth.managementTemplate))
      .filter((r) => r.Type === 'AWS::IAM::Role' && r.Properties.RoleName)
      .map((r) => JSON.stringify(r.Properties.RoleName));
    for (const name of ['Conclude', 'FreshKey', 'Confirmation', 'Evidence']) {
      expect(
        names.some((n) => n.includes(`-KeyIssuer-${name}`)),
        name,
      ).toBe(true);
    }
    const policy = Object.values(resources(synth.vendorTemplate)).find(
      (r) =>
        r.Type === 'AWS::S3::BucketPolicy' && JSON.stringify(r.Properties).includes('KeyIssuerReadsReleases'),
    );
    expect(JSON.stringify(policy)).toContain('role/upman-dev-management-KeyIssuer-*');
  });

  it('lets only the evidence processor read the access logs, under the release log prefix', () => {
    synth.vendorTemplate.hasResourceProperties('AWS::S3::Bucket', {
      LoggingConfiguration: Match.objectLike({ LogFilePrefix: RELEASE_ACCESS_LOG_PREFIX }),
    });
    const policy = Object.values(resources(synth.vendorTemplate)).find(
      (r) =>
        r.Type === 'AWS::S3::BucketPolicy' &&
        JSON.stringify(r.Properties).includes('DownloadEvidenceReadsLogs'),
    );
    const text = JSON.stringify(policy);
    expect(text).toContain('role/upman-dev-management-KeyIssuer-Evidence');
    expect(text).toContain(`/${RELEASE_ACCESS_LOG_PREFIX}*`);
  });

  it('runs the access-log processor every five minutes through its own scheduler role', () => {
    const schedules = Object.values(resources(synth.managementTemplate)).filter(
      (r) =>
        r.Type === 'AWS::Scheduler::Schedule' &&
        JSON.stringify(r.Properties.Target.Arn).includes('DownloadsEvidence'),
    );
    expect(schedules).toHaveLength(1);
    expect(schedules[0]!.Properties.ScheduleExpression).toBe('rate(5 minutes)');
  });

  it('gives only the confirmation the download-notice queue; the access-log processor gets none', () => {
    const functions = Object.values(resources(synth.managementTemplate)).filter(
      (r) => r.Type === 'AWS::Lambda::Function',
    );
    const variables = (r: (typeof functions)[number]) =>
      (r.Properties.Environment?.Variables ?? {}) as Record<string, unknown>;
    const withQueue = functions.filter((r) => variables(r).DOWNLOAD_NOTICE_QUEUE_URL !== undefined);
    expect(withQueue.map((r) => r.Properties.Description)).toEqual([
      "POST /grants/{grantId}/confirmation: the agent's evidence of a completed download",
    ]);
    expect(variables(withQueue[0]!).KEY_TTL_SECONDS).toBe(String(synth.config.keyTtlSeconds));
    const processor = functions.filter((r) => variables(r).ACCESS_LOG_PREFIX === RELEASE_ACCESS_LOG_PREFIX);
    expect(processor).toHaveLength(1);
  });
});

// The vendor site's TUF refresh: two asymmetric KMS keys, a function that may sign with those
// two only and touch tuf/ only, an hourly schedule with retries and a dead-letter queue.
const vendorResources = () => synth.vendorTemplate.toJSON().Resources as Record<string, Resource>;
const idOf = (type: string, prefix: string) => {
  const id = Object.keys(vendorResources()).find(
    (k) => vendorResources()[k]!.Type === type && k.startsWith(prefix),
  );
  expect(id, `${type} ${prefix}*`).toBeDefined();
  return id!;
};
const statementsOf = (roleId: string) =>
  Object.values(vendorResources())
    .filter((r) => r.Type === 'AWS::IAM::Policy' && r.Properties.Roles.some((x: any) => x.Ref === roleId))
    .flatMap((p) => p.Properties.PolicyDocument.Statement as Array<Record<string, any>>);

describe('the release-metadata refresh', () => {
  it('creates the snapshot and timestamp keys as ECC_NIST_P256 signing keys, exported for tuf init', () => {
    const keys = synth.vendorTemplate.findResources('AWS::KMS::Key');
    expect(Object.keys(keys)).toHaveLength(2);
    for (const key of Object.values(keys)) {
      expect(key.Properties).toMatchObject({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' });
    }
    const outputs = synth.vendorTemplate.toJSON().Outputs as Record<string, unknown>;
    expect(Object.keys(outputs)).toEqual(expect.arrayContaining(['TufSnapshotKeyArn', 'TufTimestampKeyArn']));
  });

  it('gives the function exactly: sign with those two keys, read and write tuf/*, list tuf/*, its logs and the DLQ', () => {
    const role = idOf('AWS::IAM::Role', 'ReleaseMetadataRefreshRole');
    const statements = statementsOf(role);
    const actions = [...new Set(statements.flatMap((s) => [s.Action].flat()))].sort();
    expect(actions).toEqual(
      [
        'kms:GetPublicKey',
        'kms:Sign',
        'logs:CreateLogStream',
        'logs:PutLogEvents',
        's3:GetObject',
        's3:ListBucket',
        's3:PutObject',
        'sqs:SendMessage',
        'xray:PutTelemetryRecords',
        'xray:PutTraceSegments',
      ].sort(),
    );
    const kms = statements.find((s) => [s.Action].flat().includes('kms:Sign'))!;
    const keyIds = Object.keys(synth.vendorTemplate.findResources('AWS::KMS::Key')).sort();
    expect(
      (kms.Resource as Array<{ 'Fn::GetAtt': [string, string] }>).map((r) => r['Fn::GetAtt'][0]).sort(),
    ).toEqual(keyIds);
    const objects = statements.find((s) => [s.Action].flat().includes('s3:PutObject'))!;
    expect(JSON.stringify(objects.Resource)).toMatch(/\/tuf\/\*"/);
    const list = statements.find((s) => [s.Action].flat().includes('s3:ListBucket'))!;
    expect(list.Condition).toEqual({ StringLike: { 's3:prefix': ['tuf/*'] } });
    // Nothing else in the vendor stack may sign with the TUF keys.
    const signers = Object.entries(vendorResources()).filter(
      ([, r]) =>
        r.Type === 'AWS::IAM::Policy' && JSON.stringify(r.Properties.PolicyDocument).includes('kms:Sign'),
    );
    expect(signers).toHaveLength(1);
  });

  it('runs every hour through its own scheduler role, with retries and a dead-letter queue', () => {
    const fn = idOf('AWS::Lambda::Function', 'ReleaseMetadataRefresh');
    const dlq = idOf('AWS::SQS::Queue', 'ReleaseMetadataDlq');
    synth.vendorTemplate.hasResourceProperties('AWS::Scheduler::Schedule', {
      ScheduleExpression: 'rate(1 hour)',
      Target: Match.objectLike({
        Arn: { 'Fn::GetAtt': [fn, 'Arn'] },
        RetryPolicy: { MaximumRetryAttempts: 3, MaximumEventAgeInSeconds: 3600 },
        DeadLetterConfig: { Arn: { 'Fn::GetAtt': [dlq, 'Arn'] } },
      }),
    });
    const scheduleRole = idOf('AWS::IAM::Role', 'ReleaseMetadataScheduleRole');
    expect(statementsOf(scheduleRole).map((s) => [s.Action, s.Resource])).toEqual([
      ['lambda:InvokeFunction', { 'Fn::GetAtt': [fn, 'Arn'] }],
      ['sqs:SendMessage', { 'Fn::GetAtt': [dlq, 'Arn'] }],
    ]);
    // A run that fails after Lambda's own retries lands in the same queue.
    synth.vendorTemplate.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      MaximumRetryAttempts: 2,
      DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': [dlq, 'Arn'] } } },
    });
    synth.vendorTemplate.hasResourceProperties('AWS::SQS::Queue', {
      SqsManagedSseEnabled: true,
      MessageRetentionPeriod: 14 * 24 * 3600,
    });
  });

  it('tells the function its bucket and key ARNs, and nothing else', () => {
    const fn = vendorResources()[idOf('AWS::Lambda::Function', 'ReleaseMetadataRefresh')]!;
    expect(Object.keys(fn.Properties.Environment.Variables).sort()).toEqual([
      'NODE_OPTIONS',
      'POWERTOOLS_SERVICE_NAME',
      'RELEASE_BUCKET_NAME',
      'TUF_SNAPSHOT_KEY_ID',
      'TUF_TIMESTAMP_KEY_ID',
    ]);
  });
});
