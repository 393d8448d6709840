// Every registry route through the local HTTP API with JWTs of the development issuer:
// ordering, pagination across pages, version ranges, approver periods, and denials.
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { mintToken } from '../../cdk/local/issuer/index.js';

const e = inject('endpoints');
const dataDir = inject('dataDir');
// Names unique to this run: the local cloud's registry is shared with other test files.
const run = Math.random().toString(36).slice(2, 7);
const u = (name: string) => `${name}-${run}`;
const SW = `Office-${run}`;

const tokens = new Map<string, string>();
async function as(user: string, groups: string[]): Promise<string> {
  const key = `${user}|${groups.join(',')}`;
  if (!tokens.has(key)) {
    tokens.set(key, await mintToken({ dataDir, issuer: e.jwtIssuer, audience: e.audience, user, groups }));
  }
  return tokens.get(key)!;
}
const ADMIN = () => as(u('admin'), ['admins']);
const EMP = (name: string) => as(u(name), ['employees']);

async function call(
  token: string,
  method: string,
  path: string,
  body?: unknown,
  extraHeaders: Record<string, string> = {},
) {
  const res = await fetch(`${e.api}${path}`, {
    method,
    headers: {
      ...extraHeaders,
      authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined } as {
    status: number;
    body: Answer;
  };
}

// The people this file names, in the directory (as an admin imports them), so routes that take
// a typed name resolve them.
beforeAll(async () => {
  const admin = await ADMIN();
  const people = [
    'admin',
    'ando',
    'emp',
    'fin',
    'itou',
    'kaneda',
    'kojima',
    'mori',
    'okachi',
    'sato',
    'suzuki',
    'tanaka',
    'x',
    'yamada',
  ];
  const res = await call(admin, 'POST', '/people/import', {
    people: people.map((n) => ({ key: u(n), email: `${u(n)}@upman.example` })),
  });
  if (res.status !== 200) throw new Error(`import: ${res.status} ${JSON.stringify(res.body)}`);
});

// Answers are JSON of many shapes; the assertions check them.
// biome-ignore lint/suspicious/noExplicitAny: see above
type Answer = any;

async function allPages(token: string, path: string): Promise<{ items: Answer[]; pages: number }> {
  const items: Answer[] = [];
  let cursor: string | undefined;
  let pages = 0;
  do {
    const sep = path.includes('?') ? '&' : '?';
    const res = await call(
      token,
      'GET',
      `${path}${cursor ? `${sep}cursor=${encodeURIComponent(cursor)}` : ''}`,
    );
    expect(res.status).toBe(200);
    items.push(...res.body.items);
    cursor = res.body.cursor;
    pages++;
  } while (cursor);
  return { items, pages };
}

const client = (users: string[], department = 'Sales', n = 1) => ({
  name: `PC ${n}`,
  ipAddress: `10.0.${n % 250}.${(n % 200) + 1}`,
  osRegistrationId: `OS-${n}`,
  department,
  users,
});
const item = (version: string, user: string, extra: Record<string, unknown> = {}) => ({
  software: SW,
  version,
  revision: Number(version.replaceAll('.', '')),
  installedAt: '2025-01-01T00:00:00Z',
  user,
  ...extra,
});

describe('registry API', () => {
  const USERS = ['ando', 'suzuki', 'kaneda', 'yamada'].map(u);
  const DEPTS = ['Sales', 'Engineering', 'Accounting'];
  const VERSIONS = ['1.2', '1.9', '1.9.5', '1.10', '2.0'];
  const N = 24;
  const cid = (i: number) => `pc-${run}-${String(i).padStart(2, '0')}`;

  beforeAll(async () => {
    const admin = await ADMIN();
    for (const name of [SW, `Cad-${run}`]) {
      const res = await call(admin, 'PUT', `/software/${name}`, {
        vendor: 'Contoso',
        latestVersion: '2.0',
        latestRevision: 20,
        licencePrice: 100,
        licenceModel: name === SW ? 'per-user' : 'per-client',
      });
      expect(res.status).toBe(201);
    }
    for (let i = 0; i < N; i++) {
      const user = USERS[i % USERS.length]!;
      expect(
        (await call(admin, 'PUT', `/clients/${cid(i)}`, client([user], DEPTS[i % DEPTS.length], i))).status,
      ).toBe(201);
      const report = await call(await as(user, ['employees']), 'PUT', `/clients/${cid(i)}/software`, {
        items: [item(VERSIONS[i % VERSIONS.length]!, user)],
      });
      expect(report).toMatchObject({ status: 200, body: { installed: 1 } });
    }
  });

  describe('clients and inventories', () => {
    it('lets a client’s user read it, its software and its own client list; others get 403', async () => {
      const ando = await EMP('ando');
      expect((await call(ando, 'GET', `/clients/${cid(0)}`)).body).toMatchObject({
        clientId: cid(0),
        users: [u('ando')],
      });
      const software = await call(ando, 'GET', `/clients/${cid(0)}/software`);
      expect(software.body.items).toEqual([
        expect.objectContaining({
          clientId: cid(0),
          software: SW,
          version: '1.2',
          revision: 12,
          user: u('ando'),
          department: 'Sales',
        }),
      ]);
      const mine = await allPages(ando, `/users/${u('ando')}/clients?limit=2`);
      expect(mine.items.map((c) => c.clientId)).toEqual([0, 4, 8, 12, 16, 20].map(cid));
      expect(mine.pages).toBe(3);
      const suzuki = await EMP('suzuki');
      for (const path of [
        `/clients/${cid(0)}`,
        `/clients/${cid(0)}/software`,
        `/clients/${cid(0)}/history`,
        `/users/${u('ando')}/clients`,
      ]) {
        expect((await call(suzuki, 'GET', path)).status).toBe(403);
      }
      expect((await call(await ADMIN(), 'GET', `/clients/${cid(0)}/history`)).status).toBe(200);
      expect((await call(await ADMIN(), 'GET', `/clients/pc-${run}-none`)).status).toBe(404);
    });

    it('takes several clients’ reports in one POST /inventories, checked like one report each', async () => {
      const admin = await ADMIN();
      // Cad, not SW: the "who has X" and announcement tests count SW's installations.
      const cad = (version: string, user: string) => item(version, user, { software: `Cad-${run}` });
      const [a, b] = [u('bulk-a'), u('bulk-b')];
      for (const [id, user] of [
        [a, USERS[0]!],
        [b, USERS[1]!],
      ] as const) {
        expect((await call(admin, 'PUT', `/clients/${id}`, client([user]))).status).toBe(201);
      }
      // Bad input anywhere: 400 naming the report and field, and nothing is written.
      const bad = await call(admin, 'POST', '/inventories', {
        reports: [
          { clientId: a, items: [cad('2.0', USERS[0]!)] },
          { clientId: b, items: [cad('2.x', USERS[1]!)] },
        ],
      });
      expect(bad).toMatchObject({ status: 400, body: { field: 'reports[1].items[0].version' } });
      expect((await call(admin, 'GET', `/clients/${a}/software`)).body.items).toEqual([]);
      // An employee may report only for their own clients.
      const denied = await call(await as(USERS[0]!, ['employees']), 'POST', '/inventories', {
        reports: [{ clientId: b, items: [cad('2.0', USERS[1]!)] }],
      });
      expect(denied.status).toBe(403);
      const ok = await call(admin, 'POST', '/inventories', {
        reports: [
          { clientId: a, items: [cad('2.0', USERS[0]!)] },
          { clientId: b, items: [cad('1.9', USERS[1]!)] },
        ],
      });
      expect(ok).toMatchObject({
        status: 200,
        body: {
          items: [
            { clientId: a, installed: 1, updated: 0, removed: 0, unchanged: 0 },
            { clientId: b, installed: 1, updated: 0, removed: 0, unchanged: 0 },
          ],
        },
      });
      const history = await call(admin, 'GET', `/clients/${b}/history`);
      expect(history.body.items).toEqual([
        expect.objectContaining({
          clientId: b,
          software: `Cad-${run}`,
          change: 'installed',
          version: '1.9',
          user: USERS[1],
        }),
      ]);
      expect((await call(admin, 'POST', '/inventories', { reports: [] })).body).toMatchObject({
        field: 'reports',
      });
    });

    it('lets an employee enrol a new client for themselves, and keeps it theirs', async () => {
      const [mori, sato, admin] = [await EMP('mori'), await EMP('sato'), await ADMIN()];
      const id = `pc-${run}-enrol`;
      const enrolled = await call(mori, 'PUT', `/clients/${id}`, client([u('mori')], 'Sales', 7));
      expect(enrolled).toMatchObject({ status: 201, body: { clientId: id, users: [u('mori')] } });
      expect((await call(mori, 'GET', `/clients/${id}`)).status).toBe(200);
      const mine = await allPages(mori, `/users/${u('mori')}/clients`);
      expect(mine.items.map((c) => c.clientId)).toEqual([id]);

      // Another employee can neither take it over nor read it.
      const takeover = await call(sato, 'PUT', `/clients/${id}`, client([u('sato')], 'Sales', 7));
      expect(takeover).toMatchObject({ status: 403, body: { field: 'clientId' } });
      expect((await call(sato, 'GET', `/clients/${id}`)).status).toBe(403);
      // An enrolment is for the caller only: naming someone else writes nothing.
      for (const users of [[u('mori'), u('sato')], [u('sato')]]) {
        const forOthers = await call(mori, 'PUT', `/clients/${id}-2`, client(users));
        expect(forOthers).toMatchObject({ status: 403, body: { field: 'users' } });
      }
      expect((await call(admin, 'GET', `/clients/${id}-2`)).status).toBe(404);
      // Bad input is still 400 naming the field.
      const bad = await call(mori, 'PUT', `/clients/${id}-3`, {
        ...client([u('mori')]),
        ipAddress: 'nowhere',
      });
      expect(bad).toMatchObject({ status: 400, body: { field: 'ipAddress' } });
      expect((await call(admin, 'GET', `/clients/${id}`)).body.users).toEqual([u('mori')]);
    });

    it('lets a client’s user keep it current but not change its users; a shared client’s department is the admin’s', async () => {
      const [mori, admin] = [await EMP('mori'), await ADMIN()];
      const id = `pc-${run}-keep`;
      expect((await call(mori, 'PUT', `/clients/${id}`, client([u('mori')], 'Sales', 7))).status).toBe(201);
      const moved = await call(mori, 'PUT', `/clients/${id}`, {
        ...client([u('mori')], 'Engineering', 7),
        ipAddress: '10.9.9.9',
      });
      expect(moved).toMatchObject({
        status: 200,
        body: { ipAddress: '10.9.9.9', department: 'Engineering' },
      });
      const addUser = await call(
        mori,
        'PUT',
        `/clients/${id}`,
        client([u('mori'), u('sato')], 'Engineering', 7),
      );
      expect(addUser).toMatchObject({ status: 403, body: { field: 'users' } });
      expect(addUser.body.message).toContain('Only an admin may change the users');

      const shared = await call(
        admin,
        'PUT',
        `/clients/${id}`,
        client([u('mori'), u('sato')], 'Engineering', 7),
      );
      expect(shared).toMatchObject({ status: 200, body: { users: [u('mori'), u('sato')] } });
      const dept = await call(mori, 'PUT', `/clients/${id}`, client([u('mori'), u('sato')], 'Sales', 7));
      expect(dept).toMatchObject({ status: 403, body: { field: 'department' } });
      const leave = await call(mori, 'PUT', `/clients/${id}`, client([u('mori')], 'Engineering', 7));
      expect(leave).toMatchObject({ status: 403, body: { field: 'users' } });
      const renamed = await call(mori, 'PUT', `/clients/${id}`, {
        ...client([u('sato'), u('mori')], 'Engineering', 7),
        name: 'Shared PC 7',
      });
      expect(renamed).toMatchObject({ status: 200, body: { name: 'Shared PC 7' } });
      expect((await call(admin, 'GET', `/clients/${id}`)).body).toMatchObject({
        department: 'Engineering',
        users: [u('sato'), u('mori')],
      });
    });

    it('lets one of several agents racing to enrol the same id win; the others get 409 (or 403) naming clientId', async () => {
      const racers = await Promise.all(['r1', 'r2', 'r3', 'r4', 'r5', 'r6'].map((r) => EMP(r)));
      const admin = await ADMIN();
      const refusals: number[] = [];
      // Whether a loser read the id before or after the winner wrote it is up to timing: before,
      // the conditional create answers 409; after, the id is someone else's (403). Race again on
      // fresh ids until a 409 has been seen (usually within two rounds).
      for (let round = 0; round < 10 && !refusals.includes(409); round++) {
        const id = `pc-${run}-race-${round}`;
        const answers = await Promise.all(
          racers.map((token, i) =>
            call(token, 'PUT', `/clients/${id}`, client([u(`r${i + 1}`)], 'Sales', i)),
          ),
        );
        const won = answers.filter((a) => a.status === 201);
        expect(won).toHaveLength(1);
        for (const lost of answers.filter((a) => a.status !== 201)) {
          expect([409, 403]).toContain(lost.status);
          expect(lost.body.field).toBe('clientId');
          refusals.push(lost.status);
        }
        const stored = await call(admin, 'GET', `/clients/${id}`);
        expect(stored.body.users).toEqual(won[0]!.body.users);
      }
      expect(refusals).toContain(409);
    });

    it('records installs, updates and removals in history, newest first, across pages', async () => {
      const ando = await EMP('ando');
      const id = cid(4);
      const report = await call(ando, 'PUT', `/clients/${id}/software`, {
        items: [
          item('1.10', u('ando'), { revision: 110, updatedAt: '2025-03-01T00:00:00Z' }),
          {
            software: `Cad-${run}`,
            version: '5.0',
            revision: 'r5',
            installedAt: '2025-02-01T00:00:00Z',
            user: u('ando'),
          },
        ],
      });
      expect(report.body).toEqual({ clientId: id, installed: 1, updated: 1, removed: 0, unchanged: 0 });
      const removal = await call(ando, 'PUT', `/clients/${id}/software`, {
        items: [item('1.10', u('ando'), { revision: 110, updatedAt: '2025-03-01T00:00:00Z' })],
      });
      expect(removal.body).toMatchObject({ removed: 1, unchanged: 1 });
      const history = await allPages(ando, `/clients/${id}/history?limit=1`);
      expect(history.pages).toBe(4);
      expect(history.items.map((h) => [h.change, h.software])).toEqual([
        ['removed', `Cad-${run}`],
        ['updated', SW],
        ['installed', `Cad-${run}`],
        ['installed', SW],
      ]);
      expect(history.items[1]).toMatchObject({
        software: SW,
        revision: 110,
        at: '2025-03-01T00:00:00.000Z',
        clientId: id,
        user: u('ando'),
        previousVersion: '2.0',
      });
    });

    it('refuses bad reports with 400 naming the field and writes nothing', async () => {
      const ando = await EMP('ando');
      const id = cid(8);
      const before = await call(ando, 'GET', `/clients/${id}/software`);
      const cases: Array<[unknown, string]> = [
        [{ items: [item('1.2', u('ando')), item('1.3', u('ando'))] }, 'items[1].software'],
        [{ items: [{ ...item('1.2', u('ando')), software: `Nope-${run}` }] }, 'items[0].software'],
        [{ items: [item('1.2.x', u('ando'))] }, 'items[0].version'],
        [{ items: [item('1.2', u('suzuki'))] }, 'items[0].user'],
      ];
      for (const [body, field] of cases) {
        expect(await call(ando, 'PUT', `/clients/${id}/software`, body)).toMatchObject({
          status: 400,
          body: { field },
        });
      }
      expect(
        await call(await ADMIN(), 'PUT', `/clients/pc-${run}-none/software`, { items: [] }),
      ).toMatchObject({
        status: 400,
        body: { field: 'clientId' },
      });
      expect((await call(ando, 'GET', `/clients/${id}/software`)).body).toEqual(before.body);
      expect((await call(await EMP('suzuki'), 'PUT', `/clients/${id}/software`, { items: [] })).status).toBe(
        403,
      );
    });
  });

  describe('who has X', () => {
    it('pages through every installation sorted by user, then by department', async () => {
      const admin = await ADMIN();
      const byUser = await allPages(admin, `/software/${SW}/installations?limit=5`);
      expect(byUser.pages).toBe(5);
      expect(byUser.items).toHaveLength(N);
      const keys = byUser.items.map((i) => `${i.user}#${i.clientId}`);
      expect(keys).toEqual([...keys].sort());
      expect(new Set(byUser.items.map((i) => i.clientId)).size).toBe(N);
      const byDept = await allPages(admin, `/software/${SW}/installations?sort=department&limit=7`);
      expect(byDept.items.map((i) => i.department)).toEqual([
        ...Array(8).fill('Accounting'),
        ...Array(8).fill('Engineering'),
        ...Array(8).fill('Sales'),
      ]);
    });

    it('selects version ranges as versions (1.10 > 1.9) and sorts by version', async () => {
      const admin = await ADMIN();
      const range = await allPages(
        admin,
        `/software/${SW}/installations?sort=version&minVersion=1.9&maxVersion=1.10&limit=4`,
      );
      const versions = range.items.map((i) => i.version);
      expect(new Set(versions)).toEqual(new Set(['1.9', '1.9.5', '1.10']));
      expect(versions).toEqual(
        [...versions].sort((a, b) =>
          a === b ? 0 : ['1.9', '1.9.5', '1.10'].indexOf(a) - ['1.9', '1.9.5', '1.10'].indexOf(b),
        ),
      );
      const byUser = await allPages(admin, `/software/${SW}/installations?minVersion=1.10&limit=3`);
      expect(new Set(byUser.items.map((i) => i.version))).toEqual(new Set(['1.10', '2.0']));
    });

    it('answers 400 to a tampered cursor, a bad range or page size, and 403 to employees', async () => {
      const admin = await ADMIN();
      const first = await call(admin, 'GET', `/software/${SW}/installations?limit=2`);
      const cursor: string = first.body.cursor;
      const tampered = `${cursor.slice(0, 5)}${cursor[5] === 'a' ? 'b' : 'a'}${cursor.slice(6)}`;
      for (const path of [
        `/software/${SW}/installations?limit=2&cursor=${encodeURIComponent(tampered)}`,
        `/software/${SW}/installations?limit=2&sort=department&cursor=${encodeURIComponent(cursor)}`,
      ]) {
        expect(await call(admin, 'GET', path)).toMatchObject({ status: 400, body: { field: 'cursor' } });
      }
      expect(await call(admin, 'GET', `/software/${SW}/installations?limit=101`)).toMatchObject({
        status: 400,
        body: { field: 'limit' },
      });
      expect(await call(admin, 'GET', `/software/${SW}/installations?minVersion=1.x`)).toMatchObject({
        status: 400,
        body: { field: 'minVersion' },
      });
      expect((await call(await EMP('ando'), 'GET', `/software/${SW}/installations`)).status).toBe(403);
      expect((await call(admin, 'GET', `/software/Nope-${run}/installations`)).status).toBe(404);
    });

    it('forecasts licences per the model for finance, not for employees', async () => {
      const res = await call(
        await as(u('fin'), ['finance']),
        'GET',
        `/software/${SW}/forecast?targetVersion=1.10`,
      );
      expect(res.status).toBe(200);
      // Below 1.10: versions 1.2, 1.9, 1.9.5 on clients 0-3, 5-8, … minus client 4 (updated to 1.10).
      expect(res.body).toMatchObject({
        software: SW,
        targetVersion: '1.10',
        licenceModel: 'per-user',
        licencesNeeded: 4,
        requestsInFlight: 0,
      });
      expect(res.body.installationsBelowTarget).toBeGreaterThan(10);
      expect(
        (await call(await EMP('ando'), 'GET', `/software/${SW}/forecast?targetVersion=1.10`)).status,
      ).toBe(403);
      expect(await call(await ADMIN(), 'GET', `/software/${SW}/forecast`)).toMatchObject({
        status: 400,
        body: { field: 'targetVersion' },
      });
    });
  });

  describe('catalog', () => {
    it('lists the catalog in name order across pages; only admins write it', async () => {
      const admin = await ADMIN();
      const names = ['Zeta', 'Alpha', 'Mid'].map((n) => `${n}-${run}`);
      for (const name of names) {
        const body = {
          vendor: 'V',
          latestVersion: '1.0',
          latestRevision: 1,
          licencePrice: 5,
          licenceModel: 'per-client',
        };
        expect((await call(admin, 'PUT', `/software/${name}`, body)).status).toBe(201);
      }
      const all = await allPages(await EMP('ando'), '/software?limit=2');
      expect(all.pages).toBeGreaterThan(2);
      const mine = all.items.map((s) => s.name).filter((n: string) => n.endsWith(`-${run}`));
      expect(mine).toEqual([...mine].sort());
      expect(mine).toEqual(expect.arrayContaining(names));
      // A well-formed entry, so the refusal is the role's (a malformed one is refused at the edge first).
      const entry = {
        vendor: 'V',
        latestVersion: '1',
        latestRevision: 1,
        licencePrice: 1,
        licenceModel: 'per-user',
      };
      expect((await call(await EMP('ando'), 'PUT', `/software/X-${run}`, entry)).status).toBe(403);
      expect(
        await call(admin, 'PUT', `/software/X-${run}`, {
          vendor: 'V',
          latestVersion: '1',
          latestRevision: 1,
          licencePrice: 1,
          licenceModel: 'site',
        }),
      ).toMatchObject({
        status: 400,
        body: { field: 'licenceModel' },
      });
    });
  });

  describe('approver table', () => {
    const A = u('emp');
    beforeAll(async () => {
      const admin = await ADMIN();
      expect(
        (
          await call(admin, 'POST', `/approvers/${A}/periods`, {
            approver: u('okachi'),
            validFrom: '2024-01-01T00:00:00Z',
          })
        ).status,
      ).toBe(201);
    });
    const at = async (when: string) =>
      call(await ADMIN(), 'GET', `/approvers/${A}?at=${encodeURIComponent(when)}`);

    it('answers the approver in force at the validFrom boundary, and 404 before it', async () => {
      expect((await at('2023-12-31T23:59:59.999Z')).status).toBe(404);
      expect((await at('2024-01-01T00:00:00Z')).body).toMatchObject({
        user: A,
        approver: u('okachi'),
        validFrom: '2024-01-01T00:00:00.000Z',
      });
    });

    it('takes a change filed for the future from its validFrom, filed by the current approver', async () => {
      const future = new Date(Date.now() + 86_400_000).toISOString();
      const filed = await call(await as(u('okachi'), ['approvers']), 'POST', `/approvers/${A}/periods`, {
        approver: u('itou'),
        validFrom: future,
      });
      expect(filed).toMatchObject({
        status: 201,
        body: { kind: 'approver', approver: u('itou'), filedBy: u('okachi') },
      });
      expect((await at(new Date(Date.parse(future) - 1).toISOString())).body.approver).toBe(u('okachi'));
      expect((await at(future)).body).toMatchObject({ approver: u('itou'), validFrom: future });
      // The employee may look up their own approver (now: still okachi).
      expect((await call(await as(A, ['employees']), 'GET', `/approvers/${A}`)).body.approver).toBe(
        u('okachi'),
      );
    });

    it('resolves overlaps: the later validFrom wins, a bounded period ends at validTo', async () => {
      const admin = await ADMIN();
      await call(admin, 'POST', `/approvers/${A}/periods`, {
        approver: u('kojima'),
        validFrom: '2024-06-01T00:00:00Z',
        validTo: '2024-07-01T00:00:00Z',
      });
      await call(admin, 'POST', `/approvers/${A}/periods`, {
        approver: u('sato'),
        validFrom: '2024-03-01T00:00:00Z',
        validTo: '2024-12-01T00:00:00Z',
      });
      expect((await at('2024-06-15T00:00:00Z')).body.approver).toBe(u('kojima'));
      expect((await at('2024-07-01T00:00:00Z')).body.approver).toBe(u('sato'));
      expect((await at('2024-12-01T00:00:00Z')).body.approver).toBe(u('okachi'));
      await call(admin, 'POST', `/approvers/${A}/periods`, {
        approver: u('tanaka'),
        validFrom: '2024-06-01T00:00:00Z',
        validTo: '2024-06-10T00:00:00Z',
      });
      expect((await at('2024-06-05T00:00:00Z')).body.approver).toBe(u('tanaka'));
      const periods = await allPages(admin, `/approvers/${A}/periods?limit=2`);
      expect(periods.items.map((p) => p.validFrom)).toEqual(
        [...periods.items.map((p) => p.validFrom)].sort(),
      );
      expect(periods.items.length).toBeGreaterThanOrEqual(5);
    });

    it('names the delegate while the approver is away', async () => {
      const okachi = await as(u('okachi'), ['approvers']);
      const from = new Date(Date.now() + 3_600_000).toISOString();
      const to = new Date(Date.now() + 7_200_000).toISOString();
      expect(
        (
          await call(okachi, 'POST', `/approvers/${u('okachi')}/periods`, {
            delegate: u('kaneda'),
            validFrom: from,
            validTo: to,
          })
        ).status,
      ).toBe(201);
      expect((await at(from)).body).toMatchObject({
        approver: u('okachi'),
        delegate: u('kaneda'),
        decidedBy: u('kaneda'),
      });
      expect((await at(to)).body.delegate).toBeUndefined();
    });

    it('denies changes from anyone but that approver or an admin, and bad periods', async () => {
      const future = new Date(Date.now() + 86_400_000).toISOString();
      const itou = await as(u('itou'), ['approvers']);
      expect(
        (
          await call(itou, 'POST', `/approvers/${A}/periods`, {
            approver: u('itou'),
            validFrom: new Date(Date.now() + 60_000).toISOString(),
          })
        ).status,
      ).toBe(403);
      expect(
        (
          await call(itou, 'POST', `/approvers/${u('okachi')}/periods`, {
            delegate: u('itou'),
            validFrom: future,
            validTo: new Date(Date.parse(future) + 3_600_000).toISOString(),
          })
        ).status,
      ).toBe(403);
      expect(
        (
          await call(await as(A, ['employees']), 'POST', `/approvers/${A}/periods`, {
            approver: A,
            validFrom: future,
          })
        ).status,
      ).toBe(400);
      expect(
        (
          await call(await as(A, ['employees']), 'POST', `/approvers/${A}/periods`, {
            approver: u('x'),
            validFrom: future,
          })
        ).status,
      ).toBe(403);
      expect((await call(await EMP('suzuki'), 'GET', `/approvers/${A}`)).status).toBe(403);
      expect(
        await call(await ADMIN(), 'POST', `/approvers/${A}/periods`, {
          approver: u('x'),
          validFrom: future,
          validTo: future,
        }),
      ).toMatchObject({
        status: 400,
        body: { field: 'validTo' },
      });
    });
  });

  describe('announcements', () => {
    it('answers a dry run with recipients and clients, sending nothing', async () => {
      const res = await call(await ADMIN(), 'POST', '/announcements', {
        software: SW,
        maxVersion: '1.9.5',
        subject: `dry ${run}`,
        message: 'm',
        dryRun: true,
      });
      expect(res.status).toBe(200);
      // Versions 1.2, 1.9, 1.9.5 sit on clients i % 5 in {0,1,2} (client 4 moved to 1.10).
      const expected = Array.from({ length: N }, (_, i) => i)
        .filter((i) => i % 5 <= 2)
        .map(cid);
      expect(res.body.clients).toBe(expected.length);
      expect(res.body.clientList).toEqual(expected);
      expect(res.body.recipients).toBe(4);
      expect(res.body.recipientList.map((r: { user: string }) => r.user)).toEqual([...USERS].sort());
    });

    it('mails each affected user once through the queue, listing their clients', async () => {
      const subject = `Office fix ${run}`;
      const announcement = { software: SW, minVersion: '2.0', subject, message: 'Please update.' };
      const key = { 'Idempotency-Key': `office-fix-${run}` };
      const res = await call(await ADMIN(), 'POST', '/announcements', announcement, key);
      expect(res.status).toBe(202);
      // A resend (the admin's client timed out, say) answers the same announcement; nobody is
      // mailed twice (the mailbox check below counts every mail with this subject).
      const resend = await call(await ADMIN(), 'POST', '/announcements', announcement, key);
      expect(resend).toEqual(res);
      const affected = Array.from({ length: N }, (_, i) => i).filter((i) => i % 5 === 4 && i !== 4);
      const users = new Set(affected.map((i) => USERS[i % USERS.length]!));
      expect(res.body).toMatchObject({ recipients: users.size, clients: affected.length });
      let mails: Array<{
        destination: { to: string[] };
        subject: string;
        body: { text?: string; html?: string };
      }> = [];
      for (let i = 0; i < 180 && mails.length < users.size; i++) {
        await new Promise((r) => setTimeout(r, 500));
        const store = (await (await fetch(`${e.mail}/store`)).json()) as { emails: typeof mails };
        mails = store.emails.filter((m) => m.subject === subject);
      }
      expect(mails.map((m) => m.destination.to[0]).sort()).toEqual(
        [...users].map((x) => `${x}@upman.example`).sort(),
      );
      for (const m of mails) {
        expect(m.body.text).toContain('Please update.');
        expect(m.body.html).toContain('<li>');
      }
      const status = await call(await ADMIN(), 'GET', `/announcements/${res.body.announcementId}`);
      expect(status.body.delivery).toEqual({ sent: users.size, failed: 0, sending: 0 });
      expect(
        (
          await call(await EMP('ando'), 'POST', '/announcements', {
            software: SW,
            subject: 's',
            message: 'm',
          })
        ).status,
      ).toBe(403);
    });
  });
});
