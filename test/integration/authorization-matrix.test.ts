// The authorization matrix: every route of the synthesized template × every role × the
// caller's own resource and somebody else's, and every JWT route with invalid tokens, against
// the policy table of docs/authorization.md. A 2xx the table does not allow fails; so does a 5xx.
import { readFileSync } from 'node:fs';
import { generateKeyPair, SignJWT } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { mintToken } from '../../cdk/local/issuer/index.js';
import { type Answer, call, dataDir, e, templateRoutes, tokenOf } from './api-support.js';

const ROLES = ['employee', 'approver', 'finance', 'admin', 'auditor', 'none'] as const;
type Role = (typeof ROLES)[number];
const GROUPS: Record<Role, string[]> = {
  employee: ['employees'],
  approver: ['approvers'],
  finance: ['finance'],
  admin: ['admins'],
  auditor: ['auditors'],
  none: [],
};
type Rule = 'all' | 'own' | '—';

/** The policy table of docs/authorization.md: route → rule per role (public routes apart). */
function policyTable(): { rules: Map<string, Record<Role, Rule>>; publicRoutes: Set<string> } {
  const rules = new Map<string, Record<Role, Rule>>();
  const publicRoutes = new Set<string>();
  for (const line of readFileSync('docs/authorization.md', 'utf8').split('\n')) {
    const m = /^\| `([A-Z]+ \/[^`]*)` \|(.*)\|$/.exec(line);
    if (!m) continue;
    const cells = m[2]!.split('|').map((c) => c.trim());
    if (cells[0]!.startsWith('public')) {
      publicRoutes.add(m[1]!);
      continue;
    }
    rules.set(m[1]!, Object.fromEntries(ROLES.map((r, i) => [r, cells[i] as Rule])) as Record<Role, Rule>);
  }
  return { rules, publicRoutes };
}

const run = Math.random().toString(36).slice(2, 7);
const userOf = (who: Role | 'other' | 'setup') => `m-${who}-${run}`;
const clientOf = (who: Role | 'other') => `m-pc-${who}-${run}`;
const SW = `Matrix-${run}`;
const DEPT = `Matrix ${run}`;
const FAKE_GRANT = `g-${'M'.repeat(16)}`;
const FAKE_BATCH = 'b-20300101T000000-0a0b0c0d';
const FAKE_APPROVAL = `a-${'M'.repeat(16)}`;
const requests = new Map<string, string>();
const UNSIGNED_ROOT = {
  signed: {
    _type: 'root',
    spec_version: '1.0.31',
    version: 1,
    expires: '2030-01-01T00:00:00Z',
    keys: {},
    roles: {},
  },
  signatures: [],
};

interface Call {
  path: string;
  body?: unknown;
  headers?: Record<string, string>;
}
/** How to call a route on the resources of `owner` (the caller for "own", another user else). */
type Builder = (owner: Role | 'other', caller: Role) => Call | undefined;

let idempotency = 0;
const nextKey = () => `matrix-${run}-${++idempotency}`;
const entry = {
  vendor: 'V',
  latestVersion: '2.0',
  latestRevision: 2,
  licencePrice: 1,
  licenceModel: 'per-user',
};
const item = (owner: Role | 'other') => ({
  software: SW,
  version: '1.0',
  revision: 1,
  installedAt: '2025-01-01T00:00:00Z',
  user: userOf(owner),
});

const BUILDERS: Record<string, Builder> = {
  'GET /me': () => ({ path: '/me' }),
  'PUT /clients/{clientId}': (o) => ({
    path: `/clients/${clientOf(o)}`,
    body: { name: 'PC', ipAddress: '10.1.0.1', osRegistrationId: 'OS', department: DEPT, users: [userOf(o)] },
  }),
  'GET /clients/{clientId}': (o) => ({ path: `/clients/${clientOf(o)}` }),
  'PUT /clients/{clientId}/software': (o) => ({
    path: `/clients/${clientOf(o)}/software`,
    body: { items: [item(o)] },
  }),
  'POST /inventories': (o) => ({
    path: '/inventories',
    body: { reports: [{ clientId: clientOf(o), items: [item(o)] }] },
  }),
  'GET /clients/{clientId}/software': (o) => ({ path: `/clients/${clientOf(o)}/software` }),
  'GET /clients/{clientId}/history': (o) => ({ path: `/clients/${clientOf(o)}/history` }),
  'GET /users/{user}/clients': (o) => ({ path: `/users/${userOf(o)}/clients` }),
  'GET /software': () => ({ path: '/software' }),
  'GET /software/{name}': () => ({ path: `/software/${SW}` }),
  'PUT /software/{name}': () => ({ path: `/software/${SW}`, body: entry }),
  'GET /software/{name}/installations': () => ({ path: `/software/${SW}/installations` }),
  'GET /software/{name}/forecast': () => ({ path: `/software/${SW}/forecast?targetVersion=2.0` }),
  'PUT /software/{name}/licences': () => ({ path: `/software/${SW}/licences`, body: { owned: 1 } }),
  'GET /software/{name}/licences': () => ({ path: `/software/${SW}/licences` }),
  'GET /approvers/{user}': (o) => ({ path: `/approvers/${userOf(o)}` }),
  'GET /approvers/{user}/periods': (o) => ({ path: `/approvers/${userOf(o)}/periods` }),
  'POST /approvers/{user}/periods': (o) => ({
    path: `/approvers/${userOf(o)}/periods`,
    body: {
      kind: 'delegation',
      delegate: userOf('setup'),
      validFrom: '2031-01-01T00:00:00Z',
      validTo: '2031-01-15T00:00:00Z',
    },
  }),
  'GET /vendor-root': () => ({ path: '/vendor-root' }),
  'PUT /vendor-root': () => ({ path: '/vendor-root', body: UNSIGNED_ROOT }),
  'GET /people': () => ({ path: '/people' }),
  'GET /people/{key}': (o) => ({ path: `/people/${userOf(o)}` }),
  'PUT /people/{key}': (o) => ({ path: `/people/${userOf(o)}`, body: { name: `Matrix ${o}` } }),
  'POST /people/import': (o) => ({
    path: '/people/import?dryRun=true',
    body: { people: [{ key: userOf(o), email: `${userOf(o)}@upman.example` }] },
  }),
  'POST /announcements': () => ({
    path: '/announcements',
    body: { software: SW, subject: 'Matrix', message: 'Matrix', dryRun: true },
  }),
  'GET /announcements/{announcementId}': () => ({ path: '/announcements/0123456789abcdef' }),
  'POST /update-requests': (o) => ({
    path: '/update-requests',
    headers: { 'idempotency-key': nextKey() },
    body: { clientId: clientOf(o), software: SW, reason: 'Matrix' },
  }),
  'GET /update-requests': () => ({ path: '/update-requests' }),
  // Only employees file requests: the other roles have no own one to read.
  'GET /update-requests/{id}': (o) =>
    requests.has(o) ? { path: `/update-requests/${requests.get(o)}` } : undefined,
  'POST /update-requests/{id}/key': (o) =>
    requests.has(o)
      ? {
          path: `/update-requests/${requests.get(o)}/key`,
          body: { clientId: clientOf(o), currentRevision: 1 },
        }
      : undefined,
  // No approved request, so no grant: only somebody else's (unknown) grant is tried.
  'POST /grants/{grantId}/confirmation': (o) =>
    o === 'other'
      ? { path: `/grants/${FAKE_GRANT}/confirmation`, body: { sha256: 'a'.repeat(64) } }
      : undefined,
  'DELETE /grants/{grantId}': () => ({ path: `/grants/${FAKE_GRANT}` }),
  'POST /budget-batches/close': () => ({ path: '/budget-batches/close' }),
  'POST /budget-batches/{batchId}/answers': () => ({
    path: `/budget-batches/${FAKE_BATCH}/answers`,
    body: { answers: [{ lineId: `l-${'M'.repeat(24)}`, available: true }] },
  }),
  'GET /budget-batches': () => ({ path: '/budget-batches' }),
  'PUT /budgets/{department}/{period}': () => ({
    path: `/budgets/${encodeURIComponent(DEPT)}/2031-01`,
    body: { amount: 10 },
  }),
  'GET /budgets': () => ({ path: `/budgets?department=${encodeURIComponent(DEPT)}&period=2031-01` }),
  'GET /budgets/{department}/{period}/entries': () => ({
    path: `/budgets/${encodeURIComponent(DEPT)}/2031-01/entries`,
  }),
  'PUT /budget-settings/{department}': () => ({
    path: `/budget-settings/${encodeURIComponent(DEPT)}`,
    body: { automaticAnswers: true },
  }),
  'GET /budget-reports': () => ({ path: '/budget-reports?period=2031-01' }),
  'GET /approval-queue': () => ({ path: '/approval-queue' }),
  // No role decides as such: only a link's decider, signed in, with its secret (approval-trust.test.ts).
  'POST /approvals/{id}/decision': () => ({
    path: `/approvals/${FAKE_APPROVAL}/decision`,
    body: { decision: 'approve', k: 'x'.repeat(43) },
  }),
  'PUT /approval-queue/{requestId}': (o) =>
    requests.has(o)
      ? { path: `/approval-queue/${requests.get(o)}`, body: { approver: userOf('approver') } }
      : undefined,
};

/** Routes whose allowed calls cannot succeed here (nothing approved, ids that name nothing). */
const NO_SUCCESS_EXPECTED = new Set([
  // Whether a vendor root is pinned depends on other files; a root signed by nobody is refused.
  'GET /vendor-root',
  'PUT /vendor-root',
  'GET /approvers/{user}',
  'GET /announcements/{announcementId}',
  'POST /update-requests/{id}/key',
  'POST /grants/{grantId}/confirmation',
  'DELETE /grants/{grantId}',
  'POST /budget-batches/{batchId}/answers',
  // The matrix's requests wait for their approver (none is on record): none is in the admins' queue.
  'PUT /approval-queue/{requestId}',
  // No role decides as such (approval-trust.test.ts has the link's decider succeed).
  'POST /approvals/{id}/decision',
  // beforeAll's two requests succeed (202); a further one for the same software is in flight (409).
  'POST /update-requests',
]);

function send(token: string | undefined, routeKey: string, c: Call): Promise<Answer> {
  const method = routeKey.split(' ')[0]!;
  return call(token, method, c.path, c.body, c.headers);
}

const { rules, publicRoutes } = policyTable();
const routes = templateRoutes();

beforeAll(async () => {
  const admin = await tokenOf(userOf('setup'), ['admins']);
  const who = [...ROLES, 'other', 'setup'] as const;
  const people = await call(admin, 'POST', '/people/import', {
    people: who.map((w) => ({ key: userOf(w), email: `${userOf(w)}@upman.example` })),
  });
  expect(people.status).toBe(200);
  expect((await call(admin, 'PUT', `/software/${SW}`, entry)).status).toBe(201);
  for (const owner of [...ROLES, 'other'] as const) {
    const put = await call(
      admin,
      'PUT',
      `/clients/${clientOf(owner)}`,
      BUILDERS['PUT /clients/{clientId}']!(owner, 'admin')!.body,
    );
    expect(put.status).toBe(201);
  }
  // The employee's and the other user's own update requests (both employees).
  for (const owner of ['employee', 'other'] as const) {
    const token = await tokenOf(userOf(owner), ['employees']);
    const res = await send(
      token,
      'POST /update-requests',
      BUILDERS['POST /update-requests']!(owner, 'employee')!,
    );
    expect(res.status).toBe(202);
    requests.set(owner, res.body.requestId);
  }
});

describe('authorization matrix (docs/authorization.md)', () => {
  it('has a policy row for every route of the template, and no row for a route it lacks', () => {
    const keys = routes.map((r) => `${r.method} ${r.path}`).sort();
    expect([...rules.keys(), ...publicRoutes].sort()).toEqual(keys);
    expect(Object.keys(BUILDERS).sort()).toEqual([...rules.keys()].sort());
    for (const r of routes)
      expect(r.authorization).toBe(publicRoutes.has(`${r.method} ${r.path}`) ? 'NONE' : 'JWT');
  });

  it('answers 2xx only where the table allows, on own and others’ resources, and never 5xx', async () => {
    const unexpected: string[] = [];
    const succeeded = new Set<string>();
    let calls = 0;
    for (const [routeKey, rule] of rules) {
      const owned = Object.values(rule).includes('own');
      for (const role of ROLES) {
        const token = await tokenOf(userOf(role), GROUPS[role]);
        for (const owner of owned ? ([role, 'other'] as const) : (['other'] as const)) {
          const c = BUILDERS[routeKey]!(owner, role);
          if (!c) continue;
          const allowed = rule[role] === 'all' || (rule[role] === 'own' && owner === role);
          const res = await send(token, routeKey, c);
          calls++;
          const cell = `${routeKey} as ${role} on ${owner === role ? 'own' : 'other'}: ${res.status}`;
          if (res.status >= 500) unexpected.push(`${cell} (5xx)`);
          if (res.status < 300 && !allowed) unexpected.push(`${cell} (not allowed)`);
          if (res.status < 300) succeeded.add(routeKey);
          // A refusal that is not about the caller would hide a missing check.
          if (!allowed && res.status === 400)
            unexpected.push(`${cell} (input refused: the cell tests nothing)`);
        }
      }
    }
    expect(unexpected).toEqual([]);
    // Positive controls: the inputs are good enough that an allowed caller succeeds.
    const expected = [...rules.keys()].filter((k) => !NO_SUCCESS_EXPECTED.has(k));
    expect(expected.filter((k) => !succeeded.has(k))).toEqual([]);
    expect(calls).toBeGreaterThan(200);
  });

  it('answers 401 on every JWT route for a missing, expired, foreign, mis-addressed or forged token', async () => {
    const base = {
      dataDir,
      issuer: e.jwtIssuer,
      audience: e.audience,
      user: userOf('admin'),
      groups: ['admins'],
    };
    const now = Math.floor(Date.now() / 1000);
    const { privateKey } = await generateKeyPair('RS256');
    const jwks = (await (await fetch(`${e.issuer}/.well-known/jwks.json`)).json()) as {
      keys: Array<{ kid: string }>;
    };
    const invalid: Record<string, string | undefined> = {
      none: undefined,
      expired: await mintToken({ ...base, issuedAt: now - 7200, ttlSeconds: 3600 }),
      'wrong issuer': await mintToken({ ...base, issuer: 'https://issuer.example.org/elsewhere' }),
      'wrong audience': await mintToken({ ...base, audience: 'some-other-app' }),
      'bad signature': await new SignJWT({ groups: ['admins'] })
        .setProtectedHeader({ alg: 'RS256', kid: jwks.keys[0]!.kid })
        .setIssuer(e.jwtIssuer)
        .setAudience(e.audience)
        .setSubject(userOf('admin'))
        .setIssuedAt(now)
        .setExpirationTime(now + 600)
        .sign(privateKey),
    };
    const wrong: string[] = [];
    for (const routeKey of rules.keys()) {
      const c = BUILDERS[routeKey]!('other', 'admin');
      if (!c) continue;
      for (const [kind, token] of Object.entries(invalid)) {
        const res = await send(token, routeKey, c);
        if (res.status !== 401) wrong.push(`${routeKey} with ${kind} token: ${res.status}`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it('never answers 2xx on the public approval routes without the link’s secret', async () => {
    const wrong: string[] = [];
    for (const routeKey of [...publicRoutes].filter((k) => k.includes('/approvals/'))) {
      const [method] = routeKey.split(' ') as [string];
      for (const path of [`/approvals/${FAKE_APPROVAL}`, `/approvals/${FAKE_APPROVAL}?k=${'x'.repeat(43)}`]) {
        const res =
          method === 'POST'
            ? await call(undefined, method, path, `decision=approve&approver=${userOf('approver')}`, {
                'content-type': 'application/x-www-form-urlencoded',
              })
            : await call(undefined, method, path);
        if (res.status < 300 || res.status >= 500) wrong.push(`${routeKey} ${path}: ${res.status}`);
      }
    }
    expect(wrong).toEqual([]);
  });
});
