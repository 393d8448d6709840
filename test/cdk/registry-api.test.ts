import { Match } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { INVENTORY_LEASE_MS } from '../../lib/adapters/dynamodb/inventory-journal.js';
import { type SynthesizedApp, synthApp } from './synth.js';

let synth: SynthesizedApp;

beforeAll(() => {
  synth = synthApp();
});

const REGISTRY_ROUTES = [
  'PUT /clients/{clientId}',
  'GET /clients/{clientId}',
  'PUT /clients/{clientId}/software',
  'POST /inventories',
  'GET /clients/{clientId}/software',
  'GET /clients/{clientId}/history',
  'GET /users/{user}/clients',
  'GET /software',
  'GET /software/{name}',
  'PUT /software/{name}',
  'GET /software/{name}/installations',
  'GET /software/{name}/forecast',
  'GET /approvers/{user}',
  'GET /approvers/{user}/periods',
  'POST /approvers/{user}/periods',
  'POST /announcements',
  'GET /announcements/{announcementId}',
];

describe('RegistryApi', () => {
  it('lets only the registry write function (and the deploy-time department migration) commit inventory change sets with PartiQL', () => {
    const t = synth.managementTemplate;
    const partiql = Object.values(t.findResources('AWS::IAM::Policy')).filter((p) =>
      JSON.stringify(p).includes('PartiQL'),
    ) as Array<{
      Properties: { Roles: unknown[]; PolicyDocument: { Statement: Array<{ Action: string[] }> } };
    }>;
    expect(partiql).toHaveLength(2);
    for (const policy of partiql) {
      const actions = policy.Properties.PolicyDocument.Statement.flatMap((s) => s.Action);
      expect(actions.filter((a) => a.startsWith('dynamodb:PartiQL')).sort()).toEqual([
        'dynamodb:PartiQLInsert',
        'dynamodb:PartiQLUpdate',
      ]);
    }
    const roleOf = (description: string) => {
      const fns = Object.values(
        t.findResources('AWS::Lambda::Function', {
          Properties: { Description: Match.stringLikeRegexp(description) },
        }),
      ) as Array<{ Properties: { Role: { 'Fn::GetAtt': [string, string] } } }>;
      expect(fns).toHaveLength(1);
      return { Ref: fns[0]!.Properties.Role['Fn::GetAtt'][0] };
    };
    expect(partiql.flatMap((p) => p.Properties.Roles)).toEqual(
      expect.arrayContaining([roleOf('^Registry writes'), roleOf('department’s first spelling')]),
    );
  });

  it('times out every function well within the inventory lease, so a set is only taken over from a dead writer', () => {
    for (const template of [synth.managementTemplate, synth.vendorTemplate]) {
      const withTable = Object.values(template.findResources('AWS::Lambda::Function')).filter((fn) =>
        JSON.stringify(fn).includes('"TABLE_NAME"'),
      ) as Array<{ Properties: { Timeout?: number } }>;
      for (const fn of withTable)
        expect((fn.Properties.Timeout ?? 3) * 1000).toBeLessThan(INVENTORY_LEASE_MS / 2);
      if (template === synth.managementTemplate) expect(withTable.length).toBeGreaterThan(10);
    }
  });

  it('adds every registry route behind the JWT authorizer', () => {
    const t = synth.managementTemplate;
    for (const routeKey of REGISTRY_ROUTES) {
      t.hasResourceProperties('AWS::ApiGatewayV2::Route', { RouteKey: routeKey, AuthorizationType: 'JWT' });
    }
  });

  it('fans announcements out through a queue with a DLQ, consumed within the SES rate with partial batch failures', () => {
    const t = synth.managementTemplate;
    t.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      BatchSize: 1,
      ScalingConfig: { MaximumConcurrency: 2 },
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    });
    t.hasResourceProperties('AWS::SQS::Queue', {
      VisibilityTimeout: 360,
      RedrivePolicy: Match.objectLike({ maxReceiveCount: 5 }),
    });
    t.hasResourceProperties('AWS::Lambda::Function', {
      Description: Match.stringLikeRegexp('Sends announcement mail'),
      Environment: {
        Variables: Match.objectLike({ MAIL_SENDS_PER_SECOND: '5', MAIL_SENDER: Match.anyValue() }),
      },
    });
  });

  it('lets the announcements function read release manifests, and only those, under a role the vendor bucket trusts', () => {
    const t = synth.managementTemplate;
    const fns = t.findResources('AWS::Lambda::Function', {
      Properties: { Description: Match.stringLikeRegexp('^POST /announcements') },
    });
    const [fn] = Object.values(fns);
    expect(fn?.Properties.Environment.Variables.RELEASE_BUCKET_NAME).toEqual({
      'Fn::ImportValue': expect.stringMatching(/ReleaseBucketName$/),
    });
    const roleId = fn!.Properties.Role['Fn::GetAtt'][0] as string;
    const role = t.findResources('AWS::IAM::Role')[roleId]!;
    expect(JSON.stringify(role.Properties.RoleName)).toContain('-ManifestReader-Announcements');
    const policy = Object.values(t.findResources('AWS::IAM::Policy')).find((p) =>
      JSON.stringify(p.Properties.Roles).includes(roleId),
    );
    const s3 = (policy!.Properties.PolicyDocument.Statement as Array<Record<string, unknown>>).filter((st) =>
      JSON.stringify(st.Action).includes('s3:'),
    );
    // Reads manifests, and lists manifest keys only (whether one is published).
    expect(s3.map((st) => st.Action)).toEqual(['s3:GetObject', 's3:ListBucket']);
    expect(JSON.stringify(s3[0]!.Resource)).toMatch(/\/\*\/manifest\.json"/);
    expect(s3[1]!.Condition).toEqual({ StringLike: { 's3:prefix': ['*/manifest.json'] } });
  });

  it('gives the read function read-only access to the registry table', () => {
    const policies = synth.managementTemplate.findResources('AWS::IAM::Policy');
    const read = Object.entries(policies).find(([id]) => id.startsWith('RegistryApiReadRole'));
    expect(read).toBeDefined();
    const actions = JSON.stringify(read![1]);
    expect(actions).toContain('dynamodb:Query');
    expect(actions).not.toContain('dynamodb:PutItem');
    expect(actions).not.toContain('dynamodb:BatchWriteItem');
  });
});
