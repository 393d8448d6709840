// The approval's trust pieces in the template: the sweep that hands stuck decisions over, on
// its own schedule and role; the sign-in settings of the approval page; the decision's route.
import { beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../cdk/config.js';
import { type SynthesizedApp, synthApp, TWO_ACCOUNT_PROD } from './synth.js';

let synth: SynthesizedApp;

beforeAll(() => {
  synth = synthApp();
});

type Resource = { Type: string; Properties: Record<string, any> };
const resourcesOf = (s: SynthesizedApp) =>
  s.managementTemplate.toJSON().Resources as Record<string, Resource>;

describe('the stuck-decision sweep', () => {
  it('runs every five minutes through a scheduler role that may invoke it and nothing else', () => {
    const all = resourcesOf(synth);
    const [id] = Object.entries(all).find(
      ([key, r]) => r.Type === 'AWS::Lambda::Function' && key.startsWith('WorkflowApiResumeDecisions'),
    )!;
    const schedules = Object.values(all).filter(
      (r) => r.Type === 'AWS::Scheduler::Schedule' && JSON.stringify(r.Properties.Target.Arn).includes(id),
    );
    expect(schedules).toHaveLength(1);
    const schedule = schedules[0]!;
    expect(schedule.Properties.ScheduleExpression).toBe('rate(5 minutes)');
    const roleId = schedule.Properties.Target.RoleArn['Fn::GetAtt'][0] as string;
    const policies = Object.values(all).filter(
      (r) =>
        r.Type === 'AWS::IAM::Policy' &&
        (r.Properties.Roles as Array<{ Ref: string }>).some((ref) => ref.Ref === roleId),
    );
    const statements = policies.flatMap((p) => p.Properties.PolicyDocument.Statement);
    expect(statements).toEqual([
      { Action: 'lambda:InvokeFunction', Effect: 'Allow', Resource: { 'Fn::GetAtt': [id, 'Arn'] } },
    ]);
  });
});

const COGNITO_SIGN_IN = {
  stage: 'prod',
  config: JSON.stringify({
    ...JSON.parse(TWO_ACCOUNT_PROD.config),
    auth: {
      issuer: 'https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Example',
      audience: ['4example0client0id'],
      signIn: {
        authorizeUrl: 'https://upman-corp.auth.eu-west-1.amazoncognito.com/oauth2/authorize',
        tokenUrl: 'https://upman-corp.auth.eu-west-1.amazoncognito.com/oauth2/token',
        clientId: '4example0client0id',
      },
    },
    identity: { preset: 'cognito' },
  }),
};

function approvalsFunction(s: SynthesizedApp) {
  return Object.entries(resourcesOf(s)).find(
    ([key, r]) => r.Type === 'AWS::Lambda::Function' && /^WorkflowApiApprovals[0-9A-F]{8}$/.test(key),
  )![1];
}

describe('signing in from the approval page', () => {
  it("gives the page the issuer's authorize and token endpoints and the client id (dev: the development issuer)", () => {
    const env = approvalsFunction(synth).Properties.Environment.Variables;
    expect(JSON.parse(env.SIGN_IN)).toEqual({
      authorizeUrl: 'https://issuer.upman.local/dev/oauth2/authorize',
      tokenUrl: 'https://issuer.upman.local/dev/oauth2/token',
      clientId: 'upman',
      scope: 'openid email profile',
    });
    expect(synth.managementTemplate.toJSON().Outputs.SignInRedirectUri).toBeDefined();
  });

  it("synthesizes a Cognito hosted UI's endpoints and app client from the stage config", () => {
    const cognito = synthApp(COGNITO_SIGN_IN);
    expect(cognito.synthError).toBeUndefined();
    const env = approvalsFunction(cognito).Properties.Environment.Variables;
    expect(JSON.parse(env.SIGN_IN)).toMatchObject({
      authorizeUrl: 'https://upman-corp.auth.eu-west-1.amazoncognito.com/oauth2/authorize',
      tokenUrl: 'https://upman-corp.auth.eu-west-1.amazoncognito.com/oauth2/token',
      clientId: '4example0client0id',
    });
    const output = JSON.stringify(cognito.managementTemplate.toJSON().Outputs.SignInRedirectUri.Value);
    expect(output).toContain('/signed-in');
  });

  it('refuses sign-in settings that are not https, or a client whose ID tokens the API would not accept', () => {
    const bad = (signIn: Record<string, string>) => () =>
      loadConfig({
        config: JSON.stringify({
          auth: { issuer: 'https://issuer.upman.local/dev', audience: ['upman'], signIn },
        }),
      });
    expect(bad({ authorizeUrl: 'http://login.example/authorize' })).toThrow(/auth\.signIn\.authorizeUrl/);
    expect(bad({ clientId: 'another-client' })).toThrow(
      /auth\.signIn\.clientId must be one of auth\.audience/,
    );
  });

  it('puts the decision behind the JWT authorizer; the page, its redirect URI and nothing else are public', () => {
    const routes = Object.values(resourcesOf(synth)).filter((r) => r.Type === 'AWS::ApiGatewayV2::Route');
    const byKey = new Map(routes.map((r) => [r.Properties.RouteKey as string, r.Properties]));
    expect(byKey.get('POST /approvals/{id}/decision')?.AuthorizationType).toBe('JWT');
    for (const key of ['GET /approvals/{id}', 'HEAD /approvals/{id}', 'GET /signed-in']) {
      expect(byKey.get(key)?.AuthorizationType ?? 'NONE').toBe('NONE');
    }
    expect(byKey.has('POST /approvals/{id}')).toBe(false);
  });
});
