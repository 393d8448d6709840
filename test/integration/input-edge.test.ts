// Inputs are checked at the edge: what DynamoDB would refuse, or what a plain-object lookup
// would misread, answers 400 naming the field, or works, and never 500.
import { beforeAll, describe, expect, it } from 'vitest';
import { call, storeFingerprint, templateRoutes, tokenOf } from './api-support.js';

const run = Math.random().toString(36).slice(2, 7);
const ADMIN = () => tokenOf(`edge-admin-${run}`, ['admins', 'finance']);
const LONG = 'x'.repeat(3000);

beforeAll(async () => {
  const res = await call(await ADMIN(), 'POST', '/people/import', {
    people: [{ key: `edge-ando-${run}`, email: `edge-ando-${run}@upman.example` }],
  });
  expect(res.status).toBe(200);
});

describe('inputs at the edge', () => {
  it('answers 400 naming the path parameter for a 3,000-character id on every route, and writes nothing', async () => {
    const admin = await ADMIN();
    const before = await storeFingerprint();
    const routes = templateRoutes().filter((r) => r.path.includes('{'));
    expect(routes.length).toBeGreaterThan(20);
    for (const r of routes) {
      const path = r.path.replace(/\{(\w+)\}/g, LONG);
      const body = r.method === 'PUT' || r.method === 'POST' ? {} : undefined;
      const res = await call(admin, r.method, path, body);
      expect({ route: `${r.method} ${r.path}`, status: res.status }).toEqual({
        route: `${r.method} ${r.path}`,
        // The public approval page answers its own refusal page (403/404), never 500.
        status: r.path.startsWith('/approvals/') ? expect.any(Number) : 400,
      });
      expect(res.status).toBeLessThan(500);
      if (!r.path.startsWith('/approvals/')) expect(res.body.field).toMatch(/^[a-zA-Z]+$/);
    }
    expect(await storeFingerprint()).toBe(before);
  });

  it('refuses a client without users with 400 naming users', async () => {
    const res = await call(await ADMIN(), 'PUT', `/clients/edge-pc-${run}`, {
      name: 'PC',
      ipAddress: '10.0.0.1',
      osRegistrationId: 'OS-1',
      department: 'Sales',
      users: [],
    });
    expect(res).toMatchObject({ status: 400, body: { field: 'users' } });
    expect((await call(await ADMIN(), 'GET', `/clients/edge-pc-${run}`)).status).toBe(404);
  });

  it('takes catalog entries named constructor or toString and reports inventories with them', async () => {
    const admin = await ADMIN();
    const user = `edge-ando-${run}`;
    for (const name of ['constructor', 'toString', 'hasOwnProperty']) {
      const res = await call(admin, 'PUT', `/software/${name}`, {
        vendor: 'V',
        latestVersion: '1.0',
        latestRevision: 1,
        licencePrice: 1,
        licenceModel: 'per-user',
      });
      expect([200, 201]).toContain(res.status);
    }
    const client = `edge-proto-${run}`;
    const put = await call(admin, 'PUT', `/clients/${client}`, {
      name: 'PC',
      ipAddress: '10.0.0.2',
      osRegistrationId: 'OS-2',
      department: 'constructor',
      users: [user],
    });
    expect(put.status).toBe(201);
    const items = ['constructor', 'toString', 'hasOwnProperty'].map((software) => ({
      software,
      version: '1.0',
      revision: 1,
      installedAt: '2025-01-01T00:00:00Z',
      user,
    }));
    const first = await call(await tokenOf(user, ['employees']), 'PUT', `/clients/${client}/software`, {
      items,
    });
    expect(first).toMatchObject({ status: 200, body: { installed: 3 } });
    const again = await call(await tokenOf(user, ['employees']), 'PUT', `/clients/${client}/software`, {
      items: items.map((i) => ({ ...i, version: '1.1', revision: 2 })),
    });
    expect(again).toMatchObject({ status: 200, body: { updated: 3 } });
    const inventory = await call(admin, 'GET', `/clients/${client}/software`);
    expect(inventory.status).toBe(200);
    expect(inventory.body.items.map((i: { software: string }) => i.software).sort()).toEqual([
      'constructor',
      'hasOwnProperty',
      'toString',
    ]);
    const who = await call(admin, 'GET', '/software/constructor/installations');
    expect(who).toMatchObject({ status: 200, body: { items: [{ clientId: client, version: '1.1' }] } });
  });

  it('refuses a listing cursor that would carry 3,000 characters into a key, naming cursor', async () => {
    const state = { at: 'x'.repeat(3000), requestId: `r-${'A'.repeat(24)}` };
    const cursor = Buffer.from(JSON.stringify(state)).toString('base64url');
    const res = await call(
      await tokenOf(`edge-ando-${run}`, ['employees']),
      'GET',
      `/update-requests?cursor=${cursor}`,
    );
    expect(res).toMatchObject({ status: 400, body: { field: 'cursor' } });
    const batches = Buffer.from(
      JSON.stringify({ closedAt: 'x'.repeat(3000), batchId: 'b-20300101T000000-0a0b0c0d' }),
    ).toString('base64url');
    expect(await call(await ADMIN(), 'GET', `/budget-batches?cursor=${batches}`)).toMatchObject({
      status: 400,
      body: { field: 'cursor' },
    });
  });

  it('refuses __proto__ as a name with 400', async () => {
    const res = await call(await ADMIN(), 'PUT', '/software/__proto__', {
      vendor: 'V',
      latestVersion: '1.0',
      latestRevision: 1,
      licencePrice: 1,
      licenceModel: 'per-user',
    });
    expect(res).toMatchObject({ status: 400, body: { field: 'name' } });
  });
});
