// GET /openapi.json (public): the API's OpenAPI 3.1 description, built once per container from
// the schemas the handlers parse with. It names routes and shapes, never a secret.
import middy from '@middy/core';
import type { APIGatewayProxyResultV2 } from 'aws-lambda';
import { openApiDocument } from '../../lib/http/openapi.js';

const body = JSON.stringify(openApiDocument());

export const handler = middy<unknown, APIGatewayProxyResultV2>().handler(async () => ({
  statusCode: 200,
  headers: { 'content-type': 'application/json', 'cache-control': 'public, max-age=300' },
  body,
}));
