// Claim 9 on a real deploy: the vendor site in its own account and region. Exports cross
// neither, so the management stack names the vendor's buckets from the stage config; the
// vendor's bucket policy trusts the management account by id; no ARN assumes the aws partition.
import { beforeAll, describe, expect, it } from 'vitest';
import { PROD_BASICS, type SynthesizedApp, synthApp, TWO_ACCOUNT_PROD } from './synth.js';

describe('a two-account, two-region prod synth', () => {
  let synth: SynthesizedApp;
  beforeAll(() => {
    synth = synthApp(TWO_ACCOUNT_PROD);
  });

  it('synthesizes, with no Fn::ImportValue in the management stack', () => {
    expect(synth.synthError).toBeUndefined();
    expect(JSON.stringify(synth.managementTemplate.toJSON())).not.toContain('Fn::ImportValue');
  });

  it("names the vendor's buckets from the config, in both stacks", () => {
    const names = [
      'upman-prod-releases-222222222222-us-east-2',
      'upman-prod-release-logs-222222222222-us-east-2',
    ];
    for (const name of names)
      synth.vendorTemplate.hasResourceProperties('AWS::S3::Bucket', { BucketName: name });
    const management = JSON.stringify(synth.managementTemplate.toJSON());
    for (const name of names) expect(management).toContain(name);
  });

  it("has the vendor's bucket policy trust the management account, not its own", () => {
    const policies = JSON.stringify(synth.vendorTemplate.findResources('AWS::S3::BucketPolicy'));
    expect(policies).toContain(':iam::111111111111:role/upman-prod-management-KeyIssuer-*');
    expect(policies).toContain(':iam::111111111111:role/upman-prod-management-ManifestReader-*');
    expect(policies).not.toContain(':iam::222222222222:role/');
  });

  it("gives every function that reads the vendor's buckets their region", () => {
    const fns = Object.values(synth.managementTemplate.findResources('AWS::Lambda::Function')) as Array<{
      Properties: { Environment?: { Variables?: Record<string, unknown> } };
    }>;
    const readers = fns.filter((f) => f.Properties.Environment?.Variables?.RELEASE_BUCKET_NAME !== undefined);
    expect(readers.length).toBeGreaterThanOrEqual(5);
    for (const f of readers)
      expect(f.Properties.Environment!.Variables!.RELEASE_BUCKET_REGION).toBe('us-east-2');
  });

  it('writes no policy ARN for the aws partition only', () => {
    for (const t of [synth.managementTemplate, synth.vendorTemplate]) {
      for (const type of [
        'AWS::IAM::Policy',
        'AWS::IAM::Role',
        'AWS::S3::BucketPolicy',
        'AWS::SQS::QueuePolicy',
      ]) {
        const text = JSON.stringify(t.findResources(type));
        expect(text.match(/"arn:aws:[^"]*"/g) ?? [], type).toEqual([]);
      }
    }
  });
});

describe('the stage config for a vendor site elsewhere', () => {
  it('fails the synth naming env.account when vendorEnv is set without it', () => {
    expect(() =>
      synthApp({
        stage: 'prod',
        config: JSON.stringify({
          ...PROD_BASICS,
          vendorEnv: { account: '222222222222', region: 'us-east-2' },
        }),
      }),
    ).toThrow(/env\.account must be set when vendorEnv is set/);
  });

  it('fails naming vendorEnv.account when it is not an account id', () => {
    expect(() =>
      synthApp({
        stage: 'prod',
        config: JSON.stringify({
          ...PROD_BASICS,
          env: { account: '111111111111', region: 'eu-west-1' },
          vendorEnv: { account: 'vendor', region: 'us-east-2' },
        }),
      }),
    ).toThrow(/vendorEnv\.account must be a 12-digit AWS account id/);
  });
});

describe('a synth for another partition (aws-cn, aws-us-gov)', () => {
  // The regions fix the partition at synth: CDK writes it where it knows it, and every ARN the
  // templates build must take it from there or from ${AWS::Partition}, never the aws literal.
  it.each([
    [
      'aws-cn',
      { account: '111111111111', region: 'cn-north-1' },
      { account: '222222222222', region: 'cn-northwest-1' },
    ],
    [
      'aws-us-gov',
      { account: '111111111111', region: 'us-gov-west-1' },
      { account: '222222222222', region: 'us-gov-east-1' },
    ],
  ])(
    '%s: no arn:aws: literal is left in either template, the state machine included',
    (_partition, env, vendorEnv) => {
      const synth = synthApp({
        stage: 'prod',
        config: JSON.stringify({ ...PROD_BASICS, env, vendorEnv }),
      });
      expect(synth.synthError).toBeUndefined();
      for (const t of [synth.managementTemplate, synth.vendorTemplate]) {
        const text = JSON.stringify(t.toJSON());
        expect(text.match(/arn:aws:[^"]{0,60}/g) ?? []).toEqual([]);
      }
      const [machine] = Object.values(
        synth.managementTemplate.findResources('AWS::StepFunctions::StateMachine'),
      );
      const definition = JSON.stringify(machine?.Properties?.DefinitionString);
      expect(definition).toContain('{"Ref":"AWS::Partition"},":states:::lambda:invoke');
      expect(definition).not.toContain('${Partition}');
    },
  );
});
