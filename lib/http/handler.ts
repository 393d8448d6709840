// The HTTP adapter every API function uses: decode the API Gateway (HTTP API, payload 2.0)
// event, run the route's use case, encode the answer. Errors become statuses by type; an
// unexpected error is logged and answered 500 without its details.
import { Logger } from '@aws-lambda-powertools/logger';
import middy from '@middy/core';
import type { APIGatewayProxyEventV2WithJWTAuthorizer, APIGatewayProxyResultV2 } from 'aws-lambda';
import { AppError, BadRequest } from '../errors.js';
import { type Caller, callerFromToken, identityConfigFromEnv, verifiedTokenPayload } from './identity.js';

export const logger = new Logger();
/** Which claims say who the caller is: read once, at load, failing fast. */
const identity = identityConfigFromEnv();

export interface ApiRequest {
  caller: Caller;
  pathParameters: Record<string, string>;
  query: Record<string, string>;
  headers: Record<string, string>;
  /** Parsed JSON body, or undefined when there is none. */
  body: unknown;
  rawBody: string | undefined;
  event: APIGatewayProxyEventV2WithJWTAuthorizer;
}

export interface ApiResponse {
  statusCode: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export type RouteHandler = (request: ApiRequest) => Promise<ApiResponse>;

export function json(statusCode: number, body: unknown, headers: Record<string, string> = {}): ApiResponse {
  return { statusCode, body, headers };
}

export function decode(event: APIGatewayProxyEventV2WithJWTAuthorizer): ApiRequest {
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(event.headers ?? {})) if (v !== undefined) headers[k.toLowerCase()] = v;
  const rawBody =
    event.body === undefined || event.body === null
      ? undefined
      : event.isBase64Encoded
        ? Buffer.from(event.body, 'base64').toString('utf8')
        : event.body;
  let body: unknown;
  if (rawBody !== undefined && rawBody !== '') {
    const type = headers['content-type'] ?? 'application/json';
    if (type.startsWith('application/x-www-form-urlencoded')) {
      body = Object.fromEntries(new URLSearchParams(rawBody));
    } else if (type.startsWith('text/')) {
      // Text bodies (a CSV import) are read from rawBody by their route.
    } else {
      try {
        body = JSON.parse(rawBody);
      } catch {
        throw new BadRequest('The body is not valid JSON', 'body');
      }
    }
  }
  const query: Record<string, string> = {};
  for (const [k, v] of Object.entries(event.queryStringParameters ?? {})) if (v !== undefined) query[k] = v;
  const pathParameters: Record<string, string> = {};
  for (const [k, v] of Object.entries(event.pathParameters ?? {})) if (v !== undefined) pathParameters[k] = v;
  return {
    caller: callerFromToken(
      verifiedTokenPayload(headers, event.requestContext.authorizer?.jwt?.claims),
      identity,
    ),
    pathParameters,
    query,
    headers,
    body,
    rawBody,
    event,
  };
}

export function encode(response: ApiResponse): APIGatewayProxyResultV2 {
  const headers = { 'content-type': 'application/json', 'cache-control': 'no-store', ...response.headers };
  const body =
    response.body === undefined
      ? undefined
      : typeof response.body === 'string' && !headers['content-type'].includes('json')
        ? response.body
        : JSON.stringify(response.body);
  return { statusCode: response.statusCode, headers, ...(body === undefined ? {} : { body }) };
}

export function errorResponse(error: unknown): APIGatewayProxyResultV2 {
  if (error instanceof AppError) {
    if (error.statusCode >= 500) logger.error('request failed', { error });
    return encode(
      json(error.statusCode, { message: error.message, ...(error.field ? { field: error.field } : {}) }),
    );
  }
  logger.error('unexpected error', { error: error as Error });
  return encode(json(500, { message: 'Internal error' }));
}

export interface HttpHandlerOptions {
  /** Keeps the caller's directory entry in step with their token (functions that may write it). */
  directory?: { record(caller: Caller): Promise<void> };
}

/** Wraps a route's use-case call as a Lambda handler. */
export function httpHandler(route: RouteHandler, options: HttpHandlerOptions = {}) {
  return middy<APIGatewayProxyEventV2WithJWTAuthorizer, APIGatewayProxyResultV2>().handler(async (event) => {
    try {
      const request = decode(event);
      await options.directory?.record(request.caller);
      return encode(await route(request));
    } catch (error) {
      return errorResponse(error);
    }
  });
}
