import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { APIGatewayProxyEventV2WithJWTAuthorizer } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalApi, MAX_BODY_BYTES, startLocalApi } from '../../cdk/local/api/index.js';
import { type LocalIssuer, mintToken, startLocalIssuer } from '../../cdk/local/issuer/index.js';
import { LocalLambdaRuntime } from '../../cdk/local/lambda/runtime.js';
import { loadAssembly, TemplateResolver } from '../../cdk/local/template.js';

const FIXTURE = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'api-handler.mjs');
const HASH = 'b'.repeat(64);
const ISSUER = 'https://issuer.test.example/pool';

let dir: string;
let issuer: LocalIssuer;
let runtime: LocalLambdaRuntime;
let api: LocalApi;

/** A stack with one function behind routes of every kind the local API must handle. */
function writeAssembly(): void {
  const assetDir = join(dir, 'cdk.out', `asset.${HASH}`);
  mkdirSync(assetDir, { recursive: true });
  cpSync(FIXTURE, join(assetDir, 'index.mjs'));
  const resources: Record<string, unknown> = {
    Api: { Type: 'AWS::ApiGatewayV2::Api', Properties: { Name: 'Api', ProtocolType: 'HTTP' } },
    Fn: {
      Type: 'AWS::Lambda::Function',
      Properties: {
        Code: { S3Bucket: 'assets', S3Key: `${HASH}.zip` },
        Handler: 'index.handler',
        Timeout: 3,
      },
    },
    Jwt: {
      Type: 'AWS::ApiGatewayV2::Authorizer',
      Properties: {
        ApiId: { Ref: 'Api' },
        AuthorizerType: 'JWT',
        IdentitySource: ['$request.header.Authorization'],
        JwtConfiguration: { Audience: ['upman'], Issuer: ISSUER },
        Name: 'Jwt',
      },
    },
    Integration: {
      Type: 'AWS::ApiGatewayV2::Integration',
      Properties: {
        ApiId: { Ref: 'Api' },
        IntegrationType: 'AWS_PROXY',
        IntegrationUri: { 'Fn::GetAtt': ['Fn', 'Arn'] },
        PayloadFormatVersion: '2.0',
        TimeoutInMillis: 29000,
      },
    },
    ShortIntegration: {
      Type: 'AWS::ApiGatewayV2::Integration',
      Properties: {
        ApiId: { Ref: 'Api' },
        IntegrationType: 'AWS_PROXY',
        IntegrationUri: { 'Fn::GetAtt': ['Fn', 'Arn'] },
        PayloadFormatVersion: '2.0',
        TimeoutInMillis: 300,
      },
    },
  };
  const routes: Array<[string, string, string, string[]?]> = [
    ['Open', 'ANY /{proxy+}', 'NONE'],
    ['Slow', 'GET /slow', 'NONE'],
    ['Me', 'GET /me', 'JWT'],
    ['Admin', 'GET /admin', 'JWT', ['upman/admin']],
  ];
  for (const [id, routeKey, auth, scopes] of routes) {
    resources[`Route${id}`] = {
      Type: 'AWS::ApiGatewayV2::Route',
      Properties: {
        ApiId: { Ref: 'Api' },
        RouteKey: routeKey,
        AuthorizationType: auth,
        ...(auth === 'JWT' ? { AuthorizerId: { Ref: 'Jwt' } } : {}),
        ...(scopes ? { AuthorizationScopes: scopes } : {}),
        Target: {
          'Fn::Join': ['', ['integrations/', { Ref: id === 'Slow' ? 'ShortIntegration' : 'Integration' }]],
        },
      },
    };
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
  dir = mkdtempSync(join(tmpdir(), 'upman-api-'));
  writeAssembly();
  issuer = await startLocalIssuer({ port: 0, dataDir: dir, issuer: ISSUER, audience: ['upman'] });
  const resolver = new TemplateResolver(loadAssembly(join(dir, 'cdk.out')), {
    region: 'us-east-1',
    sqsEndpoint: 'http://127.0.0.1:1',
    apiEndpoint: 'http://127.0.0.1:2',
  });
  runtime = LocalLambdaRuntime.fromTemplate(resolver, {}, { logDir: join(dir, 'logs') });
  api = await startLocalApi({ port: 0, resolver, runtime, issuers: { [ISSUER]: issuer.jwksUrl } });
});

afterAll(async () => {
  await api?.stop();
  await runtime?.stop();
  await issuer?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const token = (extra: Partial<Parameters<typeof mintToken>[0]> = {}) =>
  mintToken({
    dataDir: dir,
    issuer: ISSUER,
    audience: 'upman',
    user: 'alice',
    groups: ['employees'],
    ...extra,
  });

const echo = async (res: Response) =>
  (await res.json()) as { event: APIGatewayProxyEventV2WithJWTAuthorizer; size: number };

describe('startLocalApi', () => {
  it('serves the routes of the template with the payload 2.0 event', async () => {
    const res = await fetch(`${api.url}/items/a%20b/c?x=1&x=2`, { headers: { cookie: 'a=1; b=2' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('apigw-requestid')).toMatch(/^[A-Za-z0-9+/]{15}=$/);
    const { event } = await echo(res);
    expect(event).toMatchObject({
      routeKey: 'ANY /{proxy+}',
      rawPath: '/items/a%20b/c',
      pathParameters: { proxy: 'items/a b/c' },
      queryStringParameters: { x: '1,2' },
      cookies: ['a=1', 'b=2'],
      requestContext: { apiId: 'api', stage: '$default', http: { method: 'GET', sourceIp: '127.0.0.1' } },
    });
  });

  it('passes the verified claims to a JWT route, with array claims as "[a b]"', async () => {
    const res = await fetch(`${api.url}/me`, {
      headers: { authorization: `Bearer ${await token({ groups: ['employees', 'approvers'] })}` },
    });
    expect(res.status).toBe(200);
    const { event } = await echo(res);
    expect(event.requestContext.authorizer.jwt).toMatchObject({
      claims: {
        sub: 'alice',
        groups: '[employees approvers]',
        iss: ISSUER,
        aud: 'upman',
        email: 'alice@upman.example',
      },
      scopes: null,
    });
    expect(event.requestContext.authorizer.jwt.claims.exp).toMatch(/^\d+$/);
  });

  it('accepts the token without the Bearer prefix, as API Gateway does', async () => {
    const res = await fetch(`${api.url}/me`, { headers: { authorization: await token() } });
    expect(res.status).toBe(200);
  });

  it('answers 401 with www-authenticate for a missing or bad token', async () => {
    const none = await fetch(`${api.url}/me`);
    expect(none.status).toBe(401);
    expect(await none.json()).toEqual({ message: 'Unauthorized' });
    expect(none.headers.get('www-authenticate')).toBe('Bearer');
    const wrongAudience = await fetch(`${api.url}/me`, {
      headers: { authorization: `Bearer ${await token({ audience: 'other' })}` },
    });
    expect(wrongAudience.status).toBe(401);
    expect(wrongAudience.headers.get('www-authenticate')).toBe(
      'Bearer scope="" error="invalid_token" error_description="the token does not have a valid audience"',
    );
    const garbage = await fetch(`${api.url}/me`, { headers: { authorization: 'Bearer not.a.jwt' } });
    expect(garbage.status).toBe(401);
  });

  it('answers 403 when the token lacks every scope the route requires', async () => {
    const res = await fetch(`${api.url}/admin`, { headers: { authorization: `Bearer ${await token()}` } });
    expect(res.status).toBe(403);
    expect(await res.json()).toEqual({ message: 'Forbidden' });
    expect(res.headers.get('www-authenticate')).toContain('error="insufficient_scope"');
  });

  it('turns a plain result into a 200 JSON answer and reads cookies and headers of a response', async () => {
    const plain = await fetch(`${api.url}/plain`);
    expect(plain.status).toBe(200);
    expect(plain.headers.get('content-type')).toBe('application/json');
    expect(await plain.text()).toBe('Hello from Lambda!');
    const cookies = await fetch(`${api.url}/cookies`);
    expect(cookies.status).toBe(204);
    expect(cookies.headers.get('x-answer')).toBe('42');
    expect(cookies.headers.getSetCookie()).toEqual(['session=abc; HttpOnly', 'theme=dark']);
  });

  it('answers 500 Internal Server Error for a function error or a malformed response', async () => {
    for (const path of ['/fail', '/malformed']) {
      const res = await fetch(`${api.url}${path}`, { method: 'POST' });
      expect(res.status).toBe(500);
      expect(await res.json()).toEqual({ message: 'Internal Server Error' });
    }
  });

  it('answers 503 when the integration times out', async () => {
    const res = await fetch(`${api.url}/slow`);
    expect(res.status).toBe(503);
    expect(await res.json()).toEqual({ message: 'Service Unavailable' });
  });

  it('sends binary bodies base64-encoded and refuses bodies over 10 MB with 413', async () => {
    const ok = await fetch(`${api.url}/upload`, {
      method: 'PUT',
      body: Buffer.alloc(1024, 7),
      headers: { 'content-type': 'application/octet-stream' },
    });
    const { event, size } = await echo(ok);
    expect(event.isBase64Encoded).toBe(true);
    expect(size).toBe(1024);
    const big = await fetch(`${api.url}/upload`, { method: 'PUT', body: Buffer.alloc(MAX_BODY_BYTES + 1) });
    expect(big.status).toBe(413);
  });

  it('answers HEAD with the headers of the response and no body', async () => {
    const res = await fetch(`${api.url}/items/1`, { method: 'HEAD' });
    expect(res.status).toBe(200);
    expect(Number(res.headers.get('content-length'))).toBeGreaterThan(0);
    expect(await res.text()).toBe('');
    // HEAD is a method of its own: a GET-only route does not serve it.
    // Without a token, GET /me would answer 401; HEAD /me reaches the open ANY /{proxy+} instead.
    const me = await fetch(`${api.url}/me`, { method: 'HEAD' });
    expect(me.status).toBe(200);
  });

  it('answers 404 Not Found when no route matches', async () => {
    const res = await fetch(`${api.url}/`);
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ message: 'Not Found' });
  });
});
