// The OpenAPI 3.1 description of the API, generated from the same zod schemas the handlers
// parse with (JSON Schema 2020-12 is OpenAPI 3.1's schema dialect, so zod's own converter
// serves). Served publicly at GET /openapi.json: it names routes and shapes, never a secret.
import { z } from 'zod';
import type { InputSchemas } from './input.js';
import { API_INPUTS, PUBLIC_INPUTS } from './schemas/api.js';
import { API_EXAMPLES } from './schemas/api-examples.js';

type JsonSchema = Record<string, unknown>;

const schemaOf = (schema: z.ZodType): JsonSchema => {
  const { $schema: _, ...rest } = z.toJSONSchema(schema, {
    io: 'input',
    unrepresentable: 'any',
  }) as JsonSchema;
  return rest;
};

/** Header names as people write them (the adapter lower-cases them). */
const headerName = (name: string) =>
  name.replace(/(^|-)([a-z])/g, (_, dash: string, c: string) => dash + c.toUpperCase());

function parametersOf(input: InputSchemas) {
  const parameters: JsonSchema[] = [];
  const from = (schema: z.ZodType | undefined, where: 'path' | 'query' | 'header') => {
    const object = schemaOf(schema ?? z.object({}));
    const properties = (object.properties ?? {}) as Record<string, JsonSchema>;
    const required = new Set((object.required ?? []) as string[]);
    for (const [name, property] of Object.entries(properties)) {
      parameters.push({
        name: where === 'header' ? headerName(name) : name,
        in: where,
        required: where === 'path' || required.has(name),
        schema: property,
      });
    }
  };
  from(input.params, 'path');
  from(input.query, 'query');
  from(input.headers, 'header');
  return parameters;
}

const ERROR = {
  type: 'object',
  properties: { message: { type: 'string' }, field: { type: 'string', description: 'The input at fault' } },
  required: ['message'],
};
const answer = (description: string) => ({
  description,
  content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
});

function operationOf(key: string, input: InputSchemas, publicBecause?: string) {
  const example = API_EXAMPLES[key as keyof typeof API_EXAMPLES];
  return {
    operationId: key.replace(/[^A-Za-z0-9]+/g, '_').replace(/_$/, ''),
    ...(publicBecause ? { security: [], description: publicBecause } : {}),
    parameters: parametersOf(input),
    ...(input.body
      ? {
          requestBody: {
            required: true,
            content: {
              [key.includes('/approvals/') ? 'application/x-www-form-urlencoded' : 'application/json']: {
                schema: schemaOf(input.body),
                ...(example ? { example } : {}),
              },
            },
          },
        }
      : {}),
    responses: {
      '200': { description: 'Done (201 created, 202 accepted where the route says so)' },
      '400': answer('An input is malformed: `field` names it'),
      ...(publicBecause
        ? {}
        : { '401': answer('No valid token'), '403': answer('Not allowed for the caller') }),
      '404': answer('Nothing by that name'),
      '409': answer('A conflicting change or request'),
    },
  };
}

/** The document: every route of API_INPUTS behind the JWT authorizer, and the public ones. */
export function openApiDocument(version = '0.1.0') {
  const paths: Record<string, Record<string, unknown>> = {};
  const add = (key: string, input: InputSchemas, publicBecause?: string) => {
    const [method, path] = key.split(' ') as [string, string];
    paths[path] ??= {};
    paths[path][method.toLowerCase()] = operationOf(key, input, publicBecause);
  };
  for (const [key, input] of Object.entries(API_INPUTS)) add(key, input);
  for (const [key, { input, because }] of Object.entries(PUBLIC_INPUTS)) add(key, input, because);
  return {
    openapi: '3.1.0',
    info: {
      title: 'upman',
      version,
      description: 'Software update management: the registry, update requests, approvals and download keys.',
    },
    security: [{ jwt: [] }],
    components: {
      securitySchemes: { jwt: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } },
      schemas: { Error: ERROR },
    },
    paths,
  };
}
