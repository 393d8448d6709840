// Payload format 2.0, both ways, as API Gateway HTTP APIs build and read it: the event a
// Lambda integration receives, and how the function's result becomes the HTTP response.
import { randomBytes } from 'node:crypto';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import type { JwtContext } from './jwt.js';
import type { RouteMatch } from './routes.js';

export interface IncomingRequest {
  method: string;
  /** Path and query exactly as received, e.g. "/clients/a%20b?x=1&x=2". */
  url: string;
  /** Node's rawHeaders: name, value, name, value… */
  rawHeaders: string[];
  body: Buffer;
  sourceIp: string;
  /** The local port the request came in on (x-forwarded-port). */
  serverPort?: number;
  protocol: string;
}

export interface EventContext {
  accountId: string;
  apiId: string;
  requestId: string;
  now: Date;
  jwt?: JwtContext;
}

export type LocalApiEvent = APIGatewayProxyEventV2 & {
  requestContext: APIGatewayProxyEventV2['requestContext'] & { authorizer?: { jwt: JwtContext } };
};

/** Headers the gateway consumes rather than forwards. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'transfer-encoding',
  'upgrade',
  'proxy-connection',
  'te',
]);

/** Body types passed as text; anything else (forms and files included) arrives base64-encoded. */
export function isTextContentType(contentType: string | undefined): boolean {
  if (!contentType) return false;
  const type = contentType.split(';')[0]!.trim().toLowerCase();
  return (
    type.startsWith('text/') ||
    /^application\/([\w.-]+\+)?(json|xml)$/.test(type) ||
    type === 'application/javascript' ||
    type === 'application/graphql'
  );
}

/** Request headers lower-cased, repeated ones joined with commas; cookies taken out into their own list. */
export function collectHeaders(rawHeaders: string[]): { headers: Record<string, string>; cookies: string[] } {
  const headers: Record<string, string> = {};
  const cookies: string[] = [];
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!.toLowerCase();
    const value = rawHeaders[i + 1]!;
    if (HOP_BY_HOP.has(name)) continue;
    if (name === 'cookie') {
      cookies.push(
        ...value
          .split(';')
          .map((c) => c.trim())
          .filter(Boolean),
      );
      continue;
    }
    headers[name] = headers[name] === undefined ? value : `${headers[name]},${value}`;
  }
  return { headers, cookies };
}

/** Query parameters decoded, repeated ones joined with commas. */
export function queryParameters(rawQueryString: string): Record<string, string> | undefined {
  if (rawQueryString === '') return undefined;
  const out: Record<string, string> = {};
  for (const [key, value] of new URLSearchParams(rawQueryString)) {
    out[key] = out[key] === undefined ? value : `${out[key]},${value}`;
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

/** "12/Mar/2020:19:03:58 +0000", the format of requestContext.time. */
export function requestTime(date: Date): string {
  const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${pad(date.getUTCDate())}/${months[date.getUTCMonth()]}/${date.getUTCFullYear()}:${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())} +0000`;
}

/** An API Gateway style request id, e.g. "Mc7UVioPPHcEKPA=". */
export function newRequestId(): string {
  return randomBytes(11).toString('base64');
}

export function buildEvent(request: IncomingRequest, match: RouteMatch, ctx: EventContext): LocalApiEvent {
  const queryAt = request.url.indexOf('?');
  const rawPath = queryAt < 0 ? request.url : request.url.slice(0, queryAt);
  const rawQueryString = queryAt < 0 ? '' : request.url.slice(queryAt + 1);
  const { headers, cookies } = collectHeaders(request.rawHeaders);
  const domainName = headers.host ?? 'localhost';
  const epochSeconds = Math.floor(ctx.now.getTime() / 1000);
  headers['x-forwarded-for'] = headers['x-forwarded-for']
    ? `${headers['x-forwarded-for']},${request.sourceIp}`
    : request.sourceIp;
  headers['x-forwarded-proto'] = 'http';
  headers['x-forwarded-port'] = String(request.serverPort ?? 80);
  headers['x-amzn-trace-id'] = `Root=1-${epochSeconds.toString(16)}-${randomBytes(12).toString('hex')}`;
  const query = queryParameters(rawQueryString);
  const hasPathParameters = Object.keys(match.pathParameters).length > 0;
  const text = isTextContentType(headers['content-type']);

  return {
    version: '2.0',
    routeKey: match.route.routeKey,
    rawPath,
    rawQueryString,
    ...(cookies.length > 0 ? { cookies } : {}),
    headers,
    ...(query ? { queryStringParameters: query } : {}),
    requestContext: {
      accountId: ctx.accountId,
      apiId: ctx.apiId,
      ...(ctx.jwt ? { authorizer: { jwt: ctx.jwt } } : {}),
      domainName,
      domainPrefix: domainName.split('.')[0]!,
      http: {
        method: request.method,
        path: rawPath,
        protocol: request.protocol,
        sourceIp: request.sourceIp,
        userAgent: headers['user-agent'] ?? '',
      },
      requestId: ctx.requestId,
      routeKey: match.route.routeKey,
      stage: '$default',
      time: requestTime(ctx.now),
      timeEpoch: ctx.now.getTime(),
    },
    ...(hasPathParameters ? { pathParameters: match.pathParameters } : {}),
    ...(request.body.length > 0 ? { body: request.body.toString(text ? 'utf8' : 'base64') } : {}),
    isBase64Encoded: request.body.length > 0 && !text,
  } as LocalApiEvent;
}

export interface HttpResponse {
  statusCode: number;
  headers: Record<string, string | string[]>;
  body: Buffer;
}

/** Thrown when the function's answer is not a valid 2.0 response (API Gateway answers 500). */
export class MalformedResponse extends Error {}

/**
 * The function's result as API Gateway reads payload format 2.0: an object with statusCode is a
 * response (headers, cookies → set-cookie, body, isBase64Encoded); anything else is a 200 JSON body.
 */
export function toHttpResponse(result: unknown): HttpResponse {
  const isResponse =
    typeof result === 'object' && result !== null && !Array.isArray(result) && 'statusCode' in result;
  if (!isResponse) {
    const body = typeof result === 'string' ? result : JSON.stringify(result);
    return { statusCode: 200, headers: { 'content-type': 'application/json' }, body: Buffer.from(body) };
  }
  const response = result as Record<string, unknown>;
  const statusCode = Number(response.statusCode);
  if (!Number.isInteger(statusCode) || statusCode < 100 || statusCode > 599) {
    throw new MalformedResponse(`statusCode ${JSON.stringify(response.statusCode)} is not an HTTP status`);
  }
  const headers: Record<string, string | string[]> = {};
  const given = response.headers ?? {};
  if (typeof given !== 'object' || given === null) throw new MalformedResponse('headers is not an object');
  for (const [name, value] of Object.entries(given)) {
    if (value === undefined || value === null) continue;
    if (typeof value === 'object') throw new MalformedResponse(`header ${name} is not a string`);
    headers[name.toLowerCase()] = String(value);
  }
  if (response.cookies !== undefined) {
    if (!Array.isArray(response.cookies)) throw new MalformedResponse('cookies is not an array');
    headers['set-cookie'] = response.cookies.map(String);
  }
  let body = Buffer.alloc(0);
  if (response.body !== undefined && response.body !== null) {
    if (typeof response.body !== 'string') throw new MalformedResponse('body is not a string');
    body = Buffer.from(response.body, response.isBase64Encoded === true ? 'base64' : 'utf8');
  }
  return { statusCode, headers, body };
}
