// GET /openapi.json: public, and it describes every route of the synthesized template with the
// authorizer the template gives it (JWT, or none for the public routes).
import { describe, expect, it } from 'vitest';
import { call, templateRoutes } from './api-support.js';

describe('GET /openapi.json', () => {
  it('answers the OpenAPI 3.1 document without a token, with every template route and its authorizer', async () => {
    const res = await call(undefined, 'GET', '/openapi.json');
    expect(res.status).toBe(200);
    expect(res.body.openapi).toBe('3.1.0');
    const missing: string[] = [];
    for (const r of templateRoutes()) {
      const op = res.body.paths[r.path]?.[r.method.toLowerCase()];
      if (!op) {
        missing.push(`${r.method} ${r.path}`);
        continue;
      }
      // JWT routes inherit the document's bearer requirement; public ones clear it.
      expect(op.security, `${r.method} ${r.path}`).toEqual(r.authorization === 'JWT' ? undefined : []);
    }
    expect(missing).toEqual([]);
  });
});
