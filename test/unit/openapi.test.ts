// The OpenAPI document: generated from the handlers' schemas, OpenAPI 3.1, every route in it,
// and every example one the route's schema accepts.
import { describe, expect, it } from 'vitest';
import { openApiDocument } from '../../lib/http/openapi.js';
import { API_INPUTS, PUBLIC_INPUTS } from '../../lib/http/schemas/api.js';
import { API_EXAMPLES } from '../../lib/http/schemas/api-examples.js';

const doc = openApiDocument();
type Operation = {
  security?: unknown[];
  parameters: Array<{ name: string; in: string; required: boolean }>;
  requestBody?: { content: Record<string, { schema: unknown; example?: unknown }> };
};
const operation = (key: string) => {
  const [method, path] = key.split(' ') as [string, string];
  return (doc.paths[path] as Record<string, Operation> | undefined)?.[method.toLowerCase()];
};

describe('OpenAPI document', () => {
  it('is OpenAPI 3.1 with a bearer JWT scheme required by default', () => {
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.security).toEqual([{ jwt: [] }]);
    expect(doc.components.securitySchemes.jwt).toMatchObject({ type: 'http', scheme: 'bearer' });
  });

  it('describes every route, its path parameters and body; public routes need no token', () => {
    for (const [key, input] of Object.entries(API_INPUTS)) {
      const op = operation(key);
      expect(op, key).toBeDefined();
      expect(op!.security, key).toBeUndefined();
      const path = key.split(' ')[1]!;
      const names = [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]);
      expect(
        op!.parameters.filter((p) => p.in === 'path').map((p) => p.name),
        key,
      ).toEqual(names);
      expect(op!.requestBody !== undefined, key).toBe('body' in input && input.body !== undefined);
    }
    for (const key of Object.keys(PUBLIC_INPUTS)) expect(operation(key)?.security, key).toEqual([]);
  });

  it('has an example for every body, and each example passes its route’s schema', () => {
    const all = {
      ...API_INPUTS,
      ...Object.fromEntries(Object.entries(PUBLIC_INPUTS).map(([k, v]) => [k, v.input])),
    };
    const withBody = Object.entries(all).filter(([, input]) => 'body' in input && input.body);
    expect(Object.keys(API_EXAMPLES).sort()).toEqual(withBody.map(([k]) => k).sort());
    for (const [key, example] of Object.entries(API_EXAMPLES)) {
      const schema = (
        all as Record<string, { body?: { safeParse(v: unknown): { success: boolean; error?: unknown } } }>
      )[key]!.body!;
      const result = schema.safeParse(example);
      expect(result.success, `${key}: ${JSON.stringify(result.error)}`).toBe(true);
      const content = Object.values(operation(key)!.requestBody!.content)[0]!;
      expect(content.example).toEqual(example);
    }
  });

  it('holds no secret: no key, token or credential values', () => {
    const text = JSON.stringify(doc);
    expect(text).not.toMatch(
      /eyJ[A-Za-z0-9_-]{10,}|BEGIN [A-Z ]*PRIVATE KEY|AKIA[0-9A-Z]{16}|CURSOR_KEY|secretAccessKey/,
    );
  });
});
