// Fuzzing every write route over HTTP with a fixed seed (a few hundred requests; more in
// `npm run bench -- fuzz`): no 5xx, and inputs the edge refuses change nothing in the table
// or the queues.
import { beforeAll, describe, expect, it } from 'vitest';
import { fuzzOverHttp } from '../fixtures/http-fuzz.js';
import type { FuzzContext } from '../fixtures/write-inputs.js';
import { call, e, storeFingerprint, tokenOf } from './api-support.js';

const run = Math.random().toString(36).slice(2, 7);
const context: FuzzContext = {
  clientId: `fz-pc-${run}`,
  user: `fz-user-${run}`,
  otherUser: `fz-other-${run}`,
  software: `Fuzz-${run}`,
  department: `Fuzz ${run}`,
  requestId: `r-${'F'.repeat(24)}`,
  grantId: `g-${'F'.repeat(16)}`,
  batchId: 'b-20300101T000000-0f0f0f0f',
};
// Every role, so that no refusal is the role's and inputs reach the use cases.
const GROUPS = ['employees', 'approvers', 'finance', 'admins'];

beforeAll(async () => {
  const token = await tokenOf(context.user, GROUPS);
  const people = await call(token, 'POST', '/people/import', {
    people: [context.user, context.otherUser].map((key) => ({ key, email: `${key}@upman.example` })),
  });
  expect(people.status).toBe(200);
  const entry = {
    vendor: 'V',
    latestVersion: '1.0',
    latestRevision: 1,
    licencePrice: 1,
    licenceModel: 'per-user',
  };
  expect((await call(token, 'PUT', `/software/${context.software}`, entry)).status).toBe(201);
  const client = {
    name: 'PC',
    ipAddress: '10.9.0.1',
    osRegistrationId: 'OS',
    department: context.department,
    users: [context.user],
  };
  expect((await call(token, 'PUT', `/clients/${context.clientId}`, client)).status).toBe(201);
});

describe('fuzzing the write routes over HTTP', () => {
  it('answers no 5xx, refuses what the edge refuses, and writes nothing for it', async () => {
    const report = await fuzzOverHttp({
      api: e.api,
      token: await tokenOf(context.user, GROUPS),
      context,
      runsPerRoute: 18,
      fingerprint: storeFingerprint,
    });
    expect(report.faults).toEqual([]);
    expect(report.sent).toBeGreaterThan(250);
    expect(report.refusedAtEdge).toBeGreaterThan(100);
    expect(report.accepted).toBeGreaterThan(0);
  });
});
