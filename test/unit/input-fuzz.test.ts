// Fuzzing at the edge, in process, with a fixed seed: every write route's schemas take any
// broken input without anything but a 400 naming a field, and what they accept fits DynamoDB;
// the registry's write routes, schemas and use cases on in-memory ports, never fail
// unexpectedly (no 5xx) and change nothing when they refuse.
import { serialize } from 'node:v8';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { registryWriteRoutes } from '../../functions/http/registry/write-routes.js';
import { AppError, BadRequest } from '../../lib/errors.js';
import type { ApiRequest } from '../../lib/http/handler.js';
import { parseInput } from '../../lib/http/input.js';
import { API_INPUTS } from '../../lib/http/schemas/api.js';
import {
  brokenInputs,
  FUZZ_SEED,
  type FuzzContext,
  type RouteInput,
  WRITE_EXAMPLES,
  WRITE_INPUTS,
} from '../fixtures/write-inputs.js';
import { memoryPorts } from './registry-fakes.js';

const context: FuzzContext = {
  clientId: 'pc-1',
  user: 'ando',
  otherUser: 'suzuki',
  software: 'Office',
  department: 'Sales',
  requestId: `r-${'A'.repeat(24)}`,
  grantId: `g-${'B'.repeat(16)}`,
  batchId: 'b-20250601T120000-0a1b2c3d',
};
const admin = { user: 'boss', groups: ['admins', 'finance'] };

function requestOf(input: RouteInput): ApiRequest {
  // As the wire delivers it: JSON in, JSON out (an own "__proto__" key stays a key).
  const body = input.body === undefined ? undefined : JSON.parse(JSON.stringify(input.body));
  return {
    caller: admin,
    pathParameters: input.params as Record<string, string>,
    query: input.query as Record<string, string>,
    headers: input.headers as Record<string, string>,
    body,
    rawBody: input.body === undefined ? undefined : JSON.stringify(input.body),
    event: {} as ApiRequest['event'],
  };
}

const utf8 = (s: string) => Buffer.byteLength(s, 'utf8');

/** What DynamoDB refuses: key parts over 1,024 bytes or empty, items over 400 KB. */
function fitsDynamoDb(parsed: { params: Record<string, unknown>; body: unknown }): boolean {
  const keyParts = Object.values(parsed.params).map(String);
  return (
    keyParts.every((p) => p.length > 0 && utf8(p) <= 200 && !p.includes('#')) &&
    utf8(JSON.stringify(parsed.body ?? null)) < 350_000
  );
}

/** The in-memory ports plus a pinned vendor root kept in a plain holder (part of the snapshot). */
function fakePorts() {
  const vendorState: { pinned?: unknown } = {};
  const vendorRoot = {
    getVendorRoot: async () => vendorState.pinned as never,
    putVendorRoot: async (pinned: unknown) => {
      vendorState.pinned = pinned;
    },
  };
  return { ports: { ...memoryPorts(), vendorRoot }, vendorState };
}

const registryInputs = registryWriteRoutes(fakePorts().ports);

/** In-memory ports holding the examples' catalog entry and client, so reports reach the use case. */
async function seeded() {
  const { ports, vendorState } = fakePorts();
  const routes = registryWriteRoutes(ports);
  for (const key of ['PUT /software/{name}', 'PUT /clients/{clientId}'] as const) {
    await routes[key](requestOf(WRITE_EXAMPLES[key]!(context)));
  }
  return { ports, routes, vendorState };
}

describe('fuzzing the edge in process', () => {
  it('covers every write route the fixtures list', () => {
    const writes = Object.keys(API_INPUTS).filter((key) => !key.startsWith('GET '));
    expect(Object.keys(WRITE_EXAMPLES).sort()).toEqual(writes.sort());
  });

  for (const [key, example] of Object.entries(WRITE_EXAMPLES)) {
    it(`${key}: the schemas answer 400 naming a field, or accept what DynamoDB takes`, () => {
      const schemas = WRITE_INPUTS[key]!;
      // The example itself is accepted: the fuzz breaks a valid input, not an invalid one.
      expect(() => parseInput(schemas, requestOf(example(context)))).not.toThrow();
      fc.assert(
        fc.property(brokenInputs(example(context)), (input) => {
          try {
            const parsed = parseInput(schemas, requestOf(input));
            expect(fitsDynamoDb(parsed as never)).toBe(true);
          } catch (error) {
            expect(error).toBeInstanceOf(BadRequest);
            expect((error as BadRequest).field).toEqual(expect.stringMatching(/./));
          }
        }),
        { seed: FUZZ_SEED, numRuns: 250 },
      );
    });
  }

  for (const key of Object.keys(registryInputs) as (keyof typeof registryInputs)[]) {
    it(`${key}: schemas and use case on in-memory ports never fail unexpectedly and change nothing when refusing`, async () => {
      const seen = { accepted: 0, refused: 0 };
      await fc.assert(
        fc.asyncProperty(brokenInputs(WRITE_EXAMPLES[key]!(context)), async (input) => {
          const { ports, routes, vendorState } = await seeded();
          const before = serialize([ports.store, ports.people, vendorState]);
          try {
            const answer = await routes[key](requestOf(input));
            expect(answer.statusCode).toBeLessThan(300);
            seen.accepted++;
          } catch (error) {
            if (!(error instanceof AppError)) throw error;
            seen.refused++;
            expect(error.statusCode).toBeLessThan(500);
            expect(serialize([ports.store, ports.people, vendorState]).equals(before)).toBe(true);
          }
        }),
        { seed: FUZZ_SEED, numRuns: 300 },
      );
      // Both sides were exercised: the examples pass, broken variants are refused.
      // A root the use case accepts needs the vendor's keys (tuf tests pin real ones).
      if (key !== 'PUT /vendor-root') expect(seen.accepted).toBeGreaterThan(0);
      expect(seen.refused).toBeGreaterThan(0);
    });
  }
});
