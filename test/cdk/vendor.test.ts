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
