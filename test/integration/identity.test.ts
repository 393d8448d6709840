// Identity by configuration, end to end: tokens shaped like a Cognito user pool's ID tokens and
// like a generic OIDC provider's each drive a request from S501 to the key, the caller being the
// configured key claim; groups whose names contain spaces, commas or brackets grant nothing
// they do not name. The shared local cloud runs the dev stage (generic OIDC preset); the Cognito
// case starts a second cloud synthesized with `-c config='{"identity":{"preset":"cognito"}}'`.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type Endpoints, type LocalCloud, startLocalCloud } from '../../cdk/local/cloud.js';
import { cognitoSubOf, mintToken, type TokenShape } from '../../cdk/local/issuer/index.js';
import { SERVICES, type ServiceName } from '../../cdk/local/ports.js';
import { runPublish } from '../../cli/vendor/publish.js';
import { type DriverTokens, WorkflowDriver } from '../../scripts/workflow-driver.js';
import { writeTree } from '../fixtures/tree.js';

const work = mkdtempSync(join(tmpdir(), 'identity-it-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** People of one run: each has a login name and, under OIDC, an opaque `sub` (the key). */
function people(prefix: string) {
  const run = randomUUID().slice(0, 6);
  return { run, emp: `${prefix}emp-${run}`, boss: `${prefix}boss-${run}` };
}

/** S501 → S502 → finance → S505 mailed link → approve → S508: the key for the employee. */
async function driveToKey(
  d: WorkflowDriver,
  dataDir: string,
  key: (login: string) => string,
  prefix: string,
) {
  const { run, emp, boss } = people(prefix);
  const software = `${prefix}sw-${run}`;
  const clientId = `pc-${prefix}${run}`;
  await d.setUp({
    software,
    clientId,
    department: 'Engineering',
    // As people type them: login names, which the directory resolves to keys.
    users: [emp],
    approvers: [[emp, boss]],
    price: 40,
  });
  const admin = await d.token(`${prefix}vendor-${run}`, ['admins']);
  await runPublish(writeTree(join(work, `${prefix}${run}`), { 'bin/tool.js': 'v1\n', README: 'r1\n' }), {
    software,
    version: '1.0',
    revision: '1',
    catalog: true,
    token: admin,
    endpoints: join(dataDir, 'endpoints.json'),
    quiet: true,
  });
  const me = await d.api('GET', '/me', { user: emp });
  expect(me.status).toBe(200);
  expect(me.body.user).toBe(key(emp));

  const sent = await d.submit(emp, { clientId, software, reason: 'identity' }, `id-${run}`);
  expect(sent.status).toBe(202);
  const requestId = sent.body.requestId as string;
  await d.untilStep(emp, requestId, 'S502');
  expect((await d.closeNow()).status).toBe(200);
  const { batchId, line } = await d.lineOf(requestId);
  await d.answer(batchId, [{ lineId: line.lineId, available: true }]);
  await d.untilStatus(emp, requestId, 'AWAITING_APPROVAL');
  const [approval] = await d.mailsTo(boss, new RegExp(software));
  const link = WorkflowDriver.linkOf(approval!);
  const page = await d.open(link);
  // The approver signs in with their login name; the page names them by their key.
  expect((await d.decide(link, page.html, 'approve', 'ok', { as: boss })).status).toBe(200);
  const final = await d.untilStatus(emp, requestId, 'APPROVED');
  expect(final.requester).toBe(key(emp));
  expect(final.steps.find((s: { step: string }) => s.step === 'S508')).toMatchObject({
    revision: expect.any(Number),
  });
  const fresh = await d.api('POST', `/update-requests/${requestId}/key`, { user: emp, body: { clientId } });
  expect(fresh.status).toBe(200);
  expect(fresh.body.url).toMatch(/X-Amz-Signature=/);
}

/** Groups that contain a role's name only once split on spaces, commas or brackets. */
const CRAFTED = [
  ['Sales admins'],
  ['Finance,admins'],
  ['[admins]'],
  ['admins]', '[finance'],
  ['employees approvers', 'auditors,admins'],
];

async function expectNoRoleFromCraftedGroups(e: Endpoints, dataDir: string, shape: TokenShape) {
  const software = `crafted-${randomUUID().slice(0, 6)}`;
  const put = (token: string) =>
    fetch(`${e.api}/software/${software}`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        vendor: 'Contoso',
        latestVersion: '1.0',
        latestRevision: 1,
        licencePrice: 1,
        licenceModel: 'per-user',
      }),
    });
  const mint = (groups: string[]) =>
    mintToken({ dataDir, issuer: e.jwtIssuer, audience: e.audience, user: 'mallory', groups, shape });
  for (const groups of CRAFTED) {
    const token = await mint(groups);
    const me = await fetch(`${e.api}/me`, { headers: { authorization: `Bearer ${token}` } });
    expect(me.status).toBe(200);
    expect(((await me.json()) as { groups: string[] }).groups).toEqual([]);
    expect((await put(token)).status).toBe(403);
  }
  // The same route with the group that names the role: the refusals above were about the groups.
  expect((await put(await mint(['Sales admins', 'admins']))).status).toBe(201);
}

describe('generic OIDC tokens (the dev stage’s preset)', () => {
  const e = inject('endpoints');
  const dataDir = inject('dataDir');
  // As most IdPs issue it: an opaque, stable sub; the login name is preferred_username.
  const subjectOf = (login: string) => `oidc|${login}-7f3a`;
  const d = new WorkflowDriver(e, dataDir, { shape: 'oidc', subjectOf } satisfies DriverTokens);
  afterAll(() => d.destroy());

  it('drives a request from S501 to the key, the caller being the token’s sub', async () => {
    await driveToKey(d, dataDir, subjectOf, 'o');
  });

  it('grants no role for groups with spaces, commas or brackets', async () => {
    await expectNoRoleFromCraftedGroups(e, dataDir, 'oidc');
  });

  it('resolves typed names (login, e-mail) to keys, and answers 400 naming the field for nobody', async () => {
    const { emp, boss } = people('r');
    await d.addPeople([emp, boss]);
    const admin = { user: 'wf-admin', groups: ['admins'] };
    const validFrom = new Date(Date.now() - 60_000).toISOString();
    const nobody = await d.api('POST', `/approvers/${emp}/periods`, {
      ...admin,
      body: { approver: 'bucho', validFrom },
    });
    expect(nobody.status).toBe(400);
    expect(nobody.body.field).toBe('approver');
    // A typo of a person's login name: the answer says whom it may have meant.
    const typo = await d.api('POST', `/approvers/${emp}/periods`, {
      ...admin,
      body: { approver: `${boss}x`, validFrom },
    });
    expect([typo.status, typo.body.field]).toEqual([400, 'approver']);
    expect(typo.body.message).toMatch(new RegExp(`Did you mean (\\S+ or )*${boss}[ ?]`));
    const byMail = await d.api('POST', `/approvers/${encodeURIComponent(`${emp}@upman.example`)}/periods`, {
      ...admin,
      body: { approver: `${boss}@UPMAN.example`, validFrom },
    });
    expect(byMail.status).toBe(201);
    expect(byMail.body).toMatchObject({ user: subjectOf(emp), approver: subjectOf(boss) });
    const client = await d.api('PUT', `/clients/pc-r-${emp}`, {
      ...admin,
      body: {
        name: 'r',
        ipAddress: '10.0.0.1',
        osRegistrationId: 'os-r',
        department: 'Sales',
        users: [emp, 'bucho'],
      },
    });
    expect([client.status, client.body.field]).toEqual([400, 'users[1]']);
  });

  it('records the caller in the directory from their token, and admins read it', async () => {
    const login = `self-${randomUUID().slice(0, 6)}`;
    const me = await d.api('GET', '/me', { user: login });
    expect(me.body).toMatchObject({ user: subjectOf(login), login, email: `${login}@upman.example` });
    const entry = await d.api('GET', `/people/${encodeURIComponent(subjectOf(login))}`, {
      user: 'auditor',
      groups: ['auditors'],
    });
    expect(entry.status).toBe(200);
    expect(entry.body).toMatchObject({
      key: subjectOf(login),
      login,
      email: `${login}@upman.example`,
      active: true,
    });
  });
});

describe('Cognito ID tokens (a cloud synthesized with the cognito preset)', () => {
  let cloud: LocalCloud | undefined;
  const dataDir = mkdtempSync(join(tmpdir(), 'identity-cognito-'));

  beforeAll(async () => {
    cloud = await startLocalCloud({
      root: process.cwd(),
      dataDir,
      assemblyDir: join(dataDir, 'cdk.out'),
      stageConfig: JSON.stringify({ identity: { preset: 'cognito' } }),
      ports: Object.fromEntries(SERVICES.map((s) => [s, 0])) as Record<ServiceName, number>,
      inMemory: true,
    });
  }, 600_000);

  afterAll(async () => {
    await cloud?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('drives a request from S501 to the key, the caller being cognito:username, not the UUID sub', async () => {
    const d = new WorkflowDriver(cloud!.endpoints, dataDir, { shape: 'cognito' });
    try {
      await driveToKey(d, dataDir, (login) => login, 'c');
      const token = await d.token('cog-check', ['employees']);
      const payload = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as {
        sub: string;
      };
      expect(payload.sub).toBe(cognitoSubOf('cog-check'));
      expect(payload.sub).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-8[0-9a-f]{3}-[0-9a-f]{12}$/);
      expect((await d.api('GET', '/me', { user: 'cog-check' })).body).toMatchObject({
        user: 'cog-check',
        groups: ['employees'],
      });
    } finally {
      d.destroy();
    }
  });

  it('grants no role for cognito:groups with spaces, commas or brackets', async () => {
    await expectNoRoleFromCraftedGroups(cloud!.endpoints, dataDir, 'cognito');
  });
});
