// API Gateway invokes a route's function only when the function's resource policy
// (AWS::Lambda::Permission) allows apigateway.amazonaws.com for that source ARN; otherwise it
// answers 500 {"message":"Internal Server Error"}. The decision is the real evaluator's.
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalApi, startLocalApi } from '../../cdk/local/api/index.js';
import { LocalIam } from '../../cdk/local/iam/index.js';
import { LocalLambdaRuntime } from '../../cdk/local/lambda/runtime.js';
import { LOCAL_ACCOUNT, loadAssembly, TemplateResolver } from '../../cdk/local/template.js';

const FIXTURE = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'api-handler.mjs');
const HASH = 'c'.repeat(64);

let dir: string;
let runtime: LocalLambdaRuntime;
let api: LocalApi;
const log: string[] = [];

const sourceArn = (api: string, rest: string) => ({
  'Fn::Sub': `arn:\${AWS::Partition}:execute-api:\${AWS::Region}:\${AWS::AccountId}:${api}/${rest}`,
});

/** Three functions: one the API may invoke, one with no permission, one whose permission names another API. */
function writeAssembly(): void {
  const assetDir = join(dir, 'cdk.out', `asset.${HASH}`);
  mkdirSync(assetDir, { recursive: true });
  cpSync(FIXTURE, join(assetDir, 'index.mjs'));
  const resources: Record<string, unknown> = {
    Api: { Type: 'AWS::ApiGatewayV2::Api', Properties: { Name: 'Api', ProtocolType: 'HTTP' } },
    Stage: { Type: 'AWS::ApiGatewayV2::Stage', Properties: { ApiId: { Ref: 'Api' }, StageName: '$default' } },
  };
  const routes: Array<[string, string, unknown?]> = [
    ['Allowed', 'GET /allowed/{id}', sourceArn('${Api}', '*/*/allowed/{id}')],
    ['Missing', 'GET /missing'],
    ['Elsewhere', 'GET /elsewhere', sourceArn('otherapi', '*/*/elsewhere')],
    ['WrongMethod', 'GET /wrong-method', sourceArn('${Api}', '*/POST/wrong-method')],
  ];
  for (const [id, routeKey, source] of routes) {
    resources[`Fn${id}`] = {
      Type: 'AWS::Lambda::Function',
      Properties: {
        Code: { S3Bucket: 'assets', S3Key: `${HASH}.zip` },
        Handler: 'index.handler',
        Timeout: 3,
      },
    };
    resources[`Integration${id}`] = {
      Type: 'AWS::ApiGatewayV2::Integration',
      Properties: {
        ApiId: { Ref: 'Api' },
        IntegrationType: 'AWS_PROXY',
        IntegrationUri: { 'Fn::GetAtt': [`Fn${id}`, 'Arn'] },
        PayloadFormatVersion: '2.0',
      },
    };
    resources[`Route${id}`] = {
      Type: 'AWS::ApiGatewayV2::Route',
      Properties: {
        ApiId: { Ref: 'Api' },
        RouteKey: routeKey,
        AuthorizationType: 'NONE',
        Target: { 'Fn::Join': ['', ['integrations/', { Ref: `Integration${id}` }]] },
      },
    };
    if (source) {
      resources[`Permission${id}`] = {
        Type: 'AWS::Lambda::Permission',
        Properties: {
          Action: 'lambda:InvokeFunction',
          FunctionName: { 'Fn::GetAtt': [`Fn${id}`, 'Arn'] },
          Principal: 'apigateway.amazonaws.com',
          SourceArn: source,
        },
      };
    }
  }
  writeFileSync(join(dir, 'cdk.out', 'Api.template.json'), JSON.stringify({ Resources: resources }));
  writeFileSync(
    join(dir, 'cdk.out', 'manifest.json'),
    JSON.stringify({
      artifacts: {
        Api: { type: 'aws:cloudformation:stack', properties: { templateFile: 'Api.template.json' } },
      },
    }),
  );
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'upman-api-perm-'));
  writeAssembly();
  const resolver = new TemplateResolver(loadAssembly(join(dir, 'cdk.out')), {
    region: 'us-east-1',
    sqsEndpoint: 'http://127.0.0.1:1',
    apiEndpoint: 'http://127.0.0.1:2',
  });
  const iam = new LocalIam({
    resolver,
    region: 'us-east-1',
    account: LOCAL_ACCOUNT,
    developer: { accessKeyId: 'DEV', secretAccessKey: 'dev' },
  });
  runtime = LocalLambdaRuntime.fromTemplate(resolver, {}, { logDir: join(dir, 'logs') });
  api = await startLocalApi({
    port: 0,
    resolver,
    runtime,
    issuers: {},
    mayInvoke: (fn, source) => iam.mayInvokeFromApi(fn, source),
    log: (line) => log.push(line),
  });
});

afterAll(async () => {
  await api?.stop();
  await runtime?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe("API Gateway's permission to invoke a function", () => {
  it('invokes the function whose resource policy allows this API, route and method', async () => {
    const res = await fetch(`${api.url}/allowed/42`);
    expect(res.status).toBe(200);
    expect(((await res.json()) as { event: { pathParameters: unknown } }).event.pathParameters).toEqual({
      id: '42',
    });
  });

  it.each([
    ['no AWS::Lambda::Permission', '/missing'],
    ["a permission for another API's source ARN", '/elsewhere'],
    ['a permission for another method', '/wrong-method'],
  ])('answers 500 Internal Server Error as API Gateway does, with %s', async (_case, path) => {
    const res = await fetch(`${api.url}${path}`);
    expect(res.status).toBe(500);
    expect(await res.json()).toEqual({ message: 'Internal Server Error' });
    expect(log.some((line) => line.includes('integrationError') && line.includes(path.slice(1)))).toBe(true);
  });
});
