import { describe, expect, it } from 'vitest';
import {
  buildEvent,
  collectHeaders,
  type IncomingRequest,
  isTextContentType,
  MalformedResponse,
  queryParameters,
  requestTime,
  toHttpResponse,
} from '../../cdk/local/api/event.js';
import { claimString, hasValidAudience, stringifyClaims } from '../../cdk/local/api/jwt.js';
import { type LocalRoute, parseRouteKey } from '../../cdk/local/api/routes.js';

const route: LocalRoute = {
  routeKey: 'GET /clients/{clientId}',
  ...parseRouteKey('GET /clients/{clientId}'),
  functionArn: 'arn:aws:lambda:us-east-1:000000000000:function:GetClient',
  timeoutMs: 30_000,
  authorization: { type: 'NONE' },
};

const request = (overrides: Partial<IncomingRequest> = {}): IncomingRequest => ({
  method: 'GET',
  url: '/clients/pc%201?x=1&y=a%20b&x=2',
  rawHeaders: [
    'Host',
    '127.0.0.1:4010',
    'User-Agent',
    'curl/8',
    'Accept',
    'text/html',
    'accept',
    'application/json',
    'Cookie',
    'a=1; b=2',
    'Connection',
    'keep-alive',
  ],
  body: Buffer.alloc(0),
  sourceIp: '127.0.0.1',
  serverPort: 4010,
  protocol: 'HTTP/1.1',
  ...overrides,
});

const ctx = {
  accountId: '000000000000',
  apiId: 'httpapi',
  requestId: 'Mc7UVioPPHcEKPA=',
  now: new Date(Date.UTC(2020, 2, 12, 19, 3, 58, 390)),
};

describe('buildEvent', () => {
  it('builds the payload format 2.0 event API Gateway sends', () => {
    const event = buildEvent(request(), { route, pathParameters: { clientId: 'pc 1' } }, ctx);
    expect(event).toMatchObject({
      version: '2.0',
      routeKey: 'GET /clients/{clientId}',
      rawPath: '/clients/pc%201',
      rawQueryString: 'x=1&y=a%20b&x=2',
      cookies: ['a=1', 'b=2'],
      queryStringParameters: { x: '1,2', y: 'a b' },
      pathParameters: { clientId: 'pc 1' },
      isBase64Encoded: false,
      requestContext: {
        accountId: '000000000000',
        apiId: 'httpapi',
        domainName: '127.0.0.1:4010',
        http: {
          method: 'GET',
          path: '/clients/pc%201',
          protocol: 'HTTP/1.1',
          sourceIp: '127.0.0.1',
          userAgent: 'curl/8',
        },
        requestId: 'Mc7UVioPPHcEKPA=',
        routeKey: 'GET /clients/{clientId}',
        stage: '$default',
        time: '12/Mar/2020:19:03:58 +0000',
        timeEpoch: 1584039838390,
      },
    });
    expect(event.headers).toMatchObject({
      host: '127.0.0.1:4010',
      accept: 'text/html,application/json',
      'x-forwarded-for': '127.0.0.1',
      'x-forwarded-port': '4010',
      'x-forwarded-proto': 'http',
    });
    expect(event.headers['x-amzn-trace-id']).toMatch(/^Root=1-[0-9a-f]{8}-[0-9a-f]{24}$/);
    expect(event.headers).not.toHaveProperty('cookie');
    expect(event.headers).not.toHaveProperty('connection');
    expect(event).not.toHaveProperty('body');
    expect(event.requestContext).not.toHaveProperty('authorizer');
  });

  it('leaves out query, path parameters and cookies when there are none', () => {
    const event = buildEvent(
      request({ url: '/me', rawHeaders: ['Host', 'h'] }),
      { route, pathParameters: {} },
      ctx,
    );
    expect(event.rawQueryString).toBe('');
    expect(event).not.toHaveProperty('queryStringParameters');
    expect(event).not.toHaveProperty('pathParameters');
    expect(event).not.toHaveProperty('cookies');
  });

  it('passes JSON bodies as text and other bodies base64-encoded', () => {
    const json = buildEvent(
      request({
        method: 'POST',
        body: Buffer.from('{"a":1}'),
        rawHeaders: ['Content-Type', 'application/json; charset=utf-8'],
      }),
      { route, pathParameters: {} },
      ctx,
    );
    expect(json).toMatchObject({ body: '{"a":1}', isBase64Encoded: false });
    const form = buildEvent(
      request({
        method: 'POST',
        body: Buffer.from('a=1&b=2'),
        rawHeaders: ['Content-Type', 'application/x-www-form-urlencoded'],
      }),
      { route, pathParameters: {} },
      ctx,
    );
    expect(form).toMatchObject({ body: Buffer.from('a=1&b=2').toString('base64'), isBase64Encoded: true });
  });

  it('carries the JWT claims and scopes of the authorizer', () => {
    const jwt = { claims: { sub: 'alice', groups: '[employees]' }, scopes: null };
    const event = buildEvent(request(), { route, pathParameters: {} }, { ...ctx, jwt });
    expect(event.requestContext).toMatchObject({ authorizer: { jwt } });
  });
});

describe('request helpers', () => {
  it('joins repeated headers and query parameters with commas', () => {
    expect(collectHeaders(['X-A', '1', 'x-a', '2']).headers).toEqual({ 'x-a': '1,2' });
    expect(queryParameters('a=1&a=2&b=')).toEqual({ a: '1,2', b: '' });
    expect(queryParameters('')).toBeUndefined();
  });

  it('tells text content types from binary ones', () => {
    expect(isTextContentType('application/json')).toBe(true);
    expect(isTextContentType('application/vnd.api+json')).toBe(true);
    expect(isTextContentType('text/plain; charset=utf-8')).toBe(true);
    expect(isTextContentType('application/octet-stream')).toBe(false);
    expect(isTextContentType('application/x-www-form-urlencoded')).toBe(false);
    expect(isTextContentType(undefined)).toBe(false);
  });

  it('formats requestContext.time in UTC', () => {
    expect(requestTime(new Date(Date.UTC(2024, 0, 5, 4, 5, 6)))).toBe('05/Jan/2024:04:05:06 +0000');
  });
});

describe('toHttpResponse', () => {
  it('treats a result without statusCode as a 200 JSON body', () => {
    const r = toHttpResponse({ user: 'alice' });
    expect(r).toMatchObject({ statusCode: 200, headers: { 'content-type': 'application/json' } });
    expect(r.body.toString()).toBe('{"user":"alice"}');
    expect(toHttpResponse('Hello from Lambda!').body.toString()).toBe('Hello from Lambda!');
  });

  it('reads status, headers, cookies and a base64 body', () => {
    const r = toHttpResponse({
      statusCode: 201,
      headers: { 'Content-Type': 'application/octet-stream', 'X-Count': 3 },
      cookies: ['a=1; HttpOnly', 'b=2'],
      body: Buffer.from([0, 1, 2]).toString('base64'),
      isBase64Encoded: true,
    });
    expect(r.statusCode).toBe(201);
    expect(r.headers).toEqual({
      'content-type': 'application/octet-stream',
      'x-count': '3',
      'set-cookie': ['a=1; HttpOnly', 'b=2'],
    });
    expect([...r.body]).toEqual([0, 1, 2]);
  });

  it('rejects a malformed response, which API Gateway answers with 500', () => {
    expect(() => toHttpResponse({ statusCode: 'abc' })).toThrow(MalformedResponse);
    expect(() => toHttpResponse({ statusCode: 200, body: { not: 'a string' } })).toThrow(MalformedResponse);
    expect(() => toHttpResponse({ statusCode: 200, headers: { a: { b: 1 } } })).toThrow(MalformedResponse);
  });
});

describe('claims as API Gateway passes them', () => {
  it('turns every claim into a string: arrays "[a b]", numbers and booleans as text, objects as map[]', () => {
    expect(
      stringifyClaims({
        sub: 'alice',
        groups: ['employees', 'approvers'],
        exp: 1700000000,
        email_verified: true,
        address: { region: 'Kanto', country: 'JP' },
      }),
    ).toEqual({
      sub: 'alice',
      groups: '[employees approvers]',
      exp: '1700000000',
      email_verified: 'true',
      address: 'map[country:JP region:Kanto]',
    });
    expect(claimString([])).toBe('[]');
  });

  it('checks aud, or client_id only when there is no aud', () => {
    expect(hasValidAudience({ aud: 'upman' }, ['upman'])).toBe(true);
    expect(hasValidAudience({ aud: ['x', 'upman'] }, ['upman'])).toBe(true);
    expect(hasValidAudience({ aud: 'other', client_id: 'upman' }, ['upman'])).toBe(false);
    expect(hasValidAudience({ client_id: 'upman' }, ['upman'])).toBe(true);
    expect(hasValidAudience({}, ['upman'])).toBe(false);
  });
});
