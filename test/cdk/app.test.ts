import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Match } from 'aws-cdk-lib/assertions';
import { Bucket } from 'aws-cdk-lib/aws-s3';
import { beforeAll, describe, expect, it } from 'vitest';
import { type SynthesizedApp, synthApp } from './synth.js';

let synth: SynthesizedApp;

beforeAll(() => {
  synth = synthApp();
});

describe('the CDK app', () => {
  it('synthesizes with cdk-nag AwsSolutions checks passing on both stacks', () => {
    expect(synth.synthError).toBeUndefined();
    const report = JSON.parse(readFileSync(join(synth.app.outdir, 'validation-report.json'), 'utf8')) as {
      pluginReports: Array<{ violations?: unknown[] }>;
    };
    expect(report.pluginReports.flatMap((r) => r.violations ?? [])).toEqual([]);
  });

  it('fails synthesis when a resource breaks an AwsSolutions rule (the checks really run)', () => {
    const canary = synthApp({}, (built) => {
      new Bucket(built.vendor, 'CanaryUnloggedBucket', { enforceSSL: false });
    });
    expect(String(canary.synthError)).toMatch(/AwsSolutions-S1/);
    expect(String(canary.synthError)).toMatch(/AwsSolutions-S10/);
  });

  it('names no physical resources', () => {
    for (const template of [synth.managementTemplate, synth.vendorTemplate]) {
      const resources = template.toJSON().Resources as Record<
        string,
        { Type: string; Properties?: Record<string, unknown> }
      >;
      for (const [id, r] of Object.entries(resources)) {
        for (const key of [
          'TableName',
          'BucketName',
          'QueueName',
          'FunctionName',
          'StateMachineName',
          'RoleName',
        ]) {
          // References (Ref/GetAtt) are fine; a literal string would be a hard-coded name.
          expect(typeof r.Properties?.[key], `${id}.${key}`).not.toBe('string');
        }
      }
    }
  });
});

describe('the vendor site stack', () => {
  it('blocks all public access and versions and encrypts the release bucket', () => {
    synth.vendorTemplate.hasResourceProperties('AWS::S3::Bucket', {
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
      VersioningConfiguration: { Status: 'Enabled' },
      BucketEncryption: Match.objectLike({ ServerSideEncryptionConfiguration: Match.anyValue() }),
      LoggingConfiguration: Match.objectLike({ DestinationBucketName: Match.anyValue() }),
    });
  });

  it('denies every request that is not TLS, on every bucket', () => {
    const buckets = synth.vendorTemplate.findResources('AWS::S3::Bucket');
    const policies = Object.values(synth.vendorTemplate.findResources('AWS::S3::BucketPolicy'));
    expect(Object.keys(buckets).length).toBeGreaterThanOrEqual(2);
    for (const id of Object.keys(buckets)) {
      const policy = policies.find(
        (p) => JSON.stringify(p.Properties.Bucket) === JSON.stringify({ Ref: id }),
      );
      expect(policy, `policy for ${id}`).toBeDefined();
      expect(policy!.Properties.PolicyDocument.Statement).toEqual(
        expect.arrayContaining([
          expect.objectContaining({
            Effect: 'Deny',
            Action: 's3:*',
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          }),
        ]),
      );
    }
  });

  it('lets only the key issuer role of the organisation read releases', () => {
    synth.vendorTemplate.hasResourceProperties('AWS::S3::BucketPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Sid: 'KeyIssuerReadsReleases',
            Effect: 'Allow',
            Action: 's3:GetObject',
            Condition: { ArnLike: { 'aws:PrincipalArn': Match.anyValue() } },
          }),
        ]),
      },
    });
  });
});

describe('the update management stack', () => {
  it('gives every queue a dead-letter queue, except the dead-letter queues themselves', () => {
    const queues = synth.managementTemplate.findResources('AWS::SQS::Queue');
    const dlqIds = new Set<string>();
    for (const q of Object.values(queues)) {
      const target = q.Properties?.RedrivePolicy?.deadLetterTargetArn?.['Fn::GetAtt']?.[0];
      if (target) dlqIds.add(target);
    }
    const ids = Object.keys(queues);
    expect(ids.length).toBeGreaterThanOrEqual(6);
    for (const id of ids) {
      if (dlqIds.has(id)) continue;
      const target = queues[id]!.Properties?.RedrivePolicy?.deadLetterTargetArn?.['Fn::GetAtt']?.[0];
      expect(target, `${id} has a DLQ`).toBeDefined();
      expect(ids, `${id}'s DLQ is in the stack`).toContain(target);
    }
    // Every DLQ is a queue of this stack, and every non-DLQ points at one.
    expect(ids.filter((id) => !dlqIds.has(id)).length).toBe(dlqIds.size);
  });

  it('encrypts every queue and refuses non-TLS access', () => {
    synth.managementTemplate.allResourcesProperties('AWS::SQS::Queue', { SqsManagedSseEnabled: true });
    const policies = synth.managementTemplate.findResources('AWS::SQS::QueuePolicy');
    expect(Object.keys(policies).length).toBe(
      Object.keys(synth.managementTemplate.findResources('AWS::SQS::Queue')).length,
    );
  });

  it('logs ALL events of the state machine without execution data (tokens, comments), and traces it', () => {
    synth.managementTemplate.hasResourceProperties('AWS::StepFunctions::StateMachine', {
      StateMachineType: 'STANDARD',
      LoggingConfiguration: Match.objectLike({ Level: 'ALL', IncludeExecutionData: false }),
      TracingConfiguration: { Enabled: true },
    });
  });

  it('runs every function on nodejs22.x or newer, arm64, traced, with its own log group', () => {
    const functions = synth.managementTemplate.findResources('AWS::Lambda::Function');
    expect(Object.keys(functions).length).toBeGreaterThan(0);
    for (const [id, fn] of Object.entries(functions)) {
      const runtime = String(fn.Properties.Runtime);
      if (id.startsWith('CustomResource') || id.includes('AutoDeleteObjects')) continue;
      expect(
        Number(/^nodejs(\d+)\.x$/.exec(runtime)?.[1]),
        `${id} runtime ${runtime}`,
      ).toBeGreaterThanOrEqual(22);
      expect(fn.Properties.Architectures).toEqual(['arm64']);
      expect(fn.Properties.TracingConfig).toEqual({ Mode: 'Active' });
      expect(fn.Properties.LoggingConfig?.LogGroup, `${id} log group`).toBeDefined();
    }
  });

  it('authorizes every route with the JWT authorizer unless it is public on purpose', () => {
    const routes = synth.managementTemplate.findResources('AWS::ApiGatewayV2::Route');
    expect(Object.keys(routes).length).toBeGreaterThan(0);
    const publicRoutes = Object.values(routes).filter((r) => r.Properties.AuthorizationType !== 'JWT');
    // The approval page (it decides nothing), the sign-in's redirect URI, the OpenAPI document.
    expect(publicRoutes.map((r) => String(r.Properties.RouteKey)).sort()).toEqual([
      'GET /approvals/{id}',
      'GET /openapi.json',
      'GET /signed-in',
      'HEAD /approvals/{id}',
    ]);
    synth.managementTemplate.hasResourceProperties('AWS::ApiGatewayV2::Authorizer', {
      AuthorizerType: 'JWT',
      JwtConfiguration: { Issuer: synth.config.auth.issuer, Audience: synth.config.auth.audience },
    });
  });

  it('keeps the registry table recoverable', () => {
    synth.managementTemplate.hasResourceProperties('AWS::DynamoDB::GlobalTable', {
      Replicas: Match.arrayWith([
        Match.objectLike({ PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true } }),
      ]),
    });
  });
});
