// A route's input contract: the schemas of its path parameters, query, the headers it reads and
// its body. The adapter parses all four before any use case runs, so a use case sees typed
// values only; the first fault answers 400 naming its field (the error body the API always had).
import { z } from 'zod';
import { BadRequest, badRequestOf } from '../errors.js';
import type { ApiRequest, ApiResponse, RouteHandler } from './handler.js';

export interface InputSchemas {
  params?: z.ZodType;
  query?: z.ZodType;
  headers?: z.ZodType;
  body?: z.ZodType;
}

type Parsed<S, Fallback> = S extends z.ZodType ? z.output<S> : Fallback;

export interface Input<S extends InputSchemas> {
  params: Parsed<S['params'], Record<string, never>>;
  query: Parsed<S['query'], Record<string, never>>;
  headers: Parsed<S['headers'], Record<string, never>>;
  body: Parsed<S['body'], undefined>;
}

/** A route handler that carries its schemas (the OpenAPI document and the tests read them). */
export type ContractRoute<S extends InputSchemas = InputSchemas> = RouteHandler & { readonly input: S };

function parsePart<T extends z.ZodType>(schema: T, value: unknown, whole: string): z.output<T> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const error = badRequestOf(result.error, '', whole);
  if (whole !== 'headers') throw error;
  // Headers arrive lower-cased; the answer names them as people write them (Idempotency-Key).
  const name = (error.field ?? '').replace(
    /(^|-)([a-z])/g,
    (_, dash: string, c: string) => dash + c.toUpperCase(),
  );
  throw new BadRequest(error.message.replace(error.field ?? '', name), name);
}

/** A route without parameters or a body still refuses unexpected ones (nothing unread passes). */
const NOTHING = z.object({}).strict();

/** Parses a request's inputs by the route's schemas (path, query, headers, then body). */
export function parseInput<S extends InputSchemas>(schemas: S, request: ApiRequest): Input<S> {
  const params = parsePart(schemas.params ?? NOTHING, request.pathParameters, 'path');
  const query = parsePart(schemas.query ?? z.object({}), request.query, 'query');
  const headers = parsePart(schemas.headers ?? z.object({}), request.headers, 'headers');
  const body = schemas.body ? parsePart(schemas.body, request.body, 'body') : undefined;
  return { params, query, headers, body } as Input<S>;
}

/** A route: its input schemas and the use-case call that gets the parsed input. */
export function route<S extends InputSchemas>(
  input: S,
  run: (input: Input<S>, request: ApiRequest) => Promise<ApiResponse>,
): ContractRoute<S> {
  const handler = (request: ApiRequest) => run(parseInput(input, request), request);
  return Object.assign(handler, { input });
}
