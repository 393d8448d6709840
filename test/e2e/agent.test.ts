// The update agent end to end against the local cloud (issue 6): the employee's agent enrols
// the PC (no admin involved) and reports the inventory, requests an update, finance
// answers the budget, the approver approves from the mail link, and `upman download` installs
// the full package, then (after a new release) the delta — through every fault the issue
// names, each leaving the old version intact and runnable, and each followed by a second try.
import { execFileSync } from 'node:child_process';
import { chmod, chown, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { mintToken } from '../../cdk/local/issuer/index.js';
import { verifyTree } from '../../lib/vendor/apply.js';
import { WorkflowDriver } from '../../scripts/workflow-driver.js';
import { type CliResult, jsonOf, upman } from '../fixtures/agent/cli.js';
import { type BuiltRelease, buildFixture, type Fixture } from '../fixtures/agent/releases.js';

const e = inject('endpoints');
const dataDir = inject('dataDir');
const tag = Math.random().toString(36).slice(2, 8);
const employee = `agent-emp-${tag}`;
const approver = `agent-boss-${tag}`;
const software = `agentdemo-${tag}`;
const other = `agentnote-${tag}`;
const clientId = `pc-agent-${tag}`;
const DEPARTMENT = 'Sales';

let fx: Fixture;
let work: string;
let root: string;
let config: string;
let env: Record<string, string>;
const driver = new WorkflowDriver(e, dataDir);
afterAll(() => driver.destroy());
const bucket = () => e.outputs.VendorSiteStack?.ReleaseBucketName ?? '';

const token = (user: string, groups: string[]) =>
  mintToken({ dataDir, issuer: e.jwtIssuer, audience: e.audience, user, groups });

async function api<T = Record<string, unknown>>(
  method: string,
  path: string,
  bearer: string,
  body?: unknown,
): Promise<{ status: number; json: T }> {
  const res = await fetch(`${e.api}${path}`, {
    method,
    headers: { authorization: `Bearer ${bearer}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, json: (text ? JSON.parse(text) : {}) as T };
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 90_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

const run = (args: string[], extra: Record<string, string> = {}, uid?: number) =>
  upman(args, { ...env, ...extra }, uid === undefined ? {} : { uid });

function ok(result: CliResult): CliResult {
  expect(result, `${result.stdout}\n${result.stderr}`).toMatchObject({ code: 0, signal: null });
  return result;
}

const app = () => execFileSync(join(root, software, 'bin', 'app'), { encoding: 'utf8' }).trim();

async function expectInstalled(release: BuiltRelease): Promise<void> {
  const problems = (await verifyTree(join(root, software), release.files)).filter(
    (p) => p.path !== '.upman.json',
  );
  expect(problems).toEqual([]);
}

async function publish(dir: string, version: string, revision: number, admin: string): Promise<void> {
  ok(
    await upman(
      [
        'vendor',
        'publish',
        '--software',
        software,
        '--version',
        version,
        '--revision',
        String(revision),
      ].concat(['--endpoints', join(dataDir, 'endpoints.json'), '--token', admin, dir]),
      {},
    ),
  );
}

/** Finance says yes to the request's budget line, the approver approves from the mail. */
async function approve(requestId: string): Promise<void> {
  const finance = await token(`agent-fin-${tag}`, ['finance']);
  const line = await waitFor('the budget line', async () => {
    await api('POST', '/budget-batches/close', finance);
    const { json } = await api<{
      items: Array<{ batchId: string; lines: Array<{ lineId: string; requestId: string }> }>;
    }>('GET', '/budget-batches?status=awaiting-answer', finance);
    for (const batch of json.items ?? []) {
      const found = batch.lines.find((l) => l.requestId === requestId);
      if (found) return { batchId: batch.batchId, lineId: found.lineId };
    }
    return undefined;
  });
  const answered = await api('POST', `/budget-batches/${line.batchId}/answers`, finance, {
    answers: [{ lineId: line.lineId, available: true, note: 'budget ok' }],
  });
  expect(answered.status).toBe(200);

  const link = await waitFor('the approval mail', async () => {
    const res = await fetch(`${e.mail}/store`);
    const { emails } = (await res.json()) as { emails: Array<{ html?: string; body?: { html?: string } }> };
    for (const mail of emails) {
      const html = mail.html ?? mail.body?.html ?? '';
      if (!html.includes(requestId)) continue;
      const m = /href="([^"]*\/approvals\/[^"?]+\?k=[^"]+)"/.exec(html);
      if (m) return m[1]!.replaceAll('&amp;', '&');
    }
    return undefined;
  });
  // As the approver does: opens the page, signs in (authorization code + PKCE) and decides.
  const page = await driver.open(link);
  expect(page.status).toBe(200);
  const decided = await driver.decide(link, page.html, 'approve', 'go ahead');
  expect(decided.status, decided.html).toBe(200);
  await waitFor('APPROVED', async () => {
    const status = jsonOf<{ status: string }>(ok(await run(['status', requestId, '--json']))).status;
    return status === 'APPROVED' ? status : undefined;
  });
}

async function registryRevision(): Promise<unknown> {
  const admin = await token(`agent-it-${tag}`, ['admins']);
  const { json } = await api<{ items: Array<{ software: string; revision: unknown }> }>(
    'GET',
    `/clients/${clientId}/software`,
    admin,
  );
  return json.items.find((i) => i.software === software)?.revision;
}

beforeAll(async () => {
  fx = await buildFixture();
  work = await mkdtemp(join(tmpdir(), 'upman-agent-e2e-'));
  root = join(work, 'root');
  config = join(work, 'config');
  await mkdir(root, { recursive: true });
  env = {
    UPMAN_API: e.api,
    UPMAN_ROOT: root,
    UPMAN_CLIENT: clientId,
    UPMAN_LOCAL_DIR: dataDir,
    XDG_CONFIG_HOME: config,
  };

  const admin = await token(`agent-it-${tag}`, ['admins']);
  for (const name of [software, other]) {
    const put = await api('PUT', `/software/${name}`, admin, {
      vendor: 'Demo Vendor',
      latestVersion: '1.0.0',
      latestRevision: 1,
      licencePrice: 120,
      licenceModel: 'per-user',
    });
    expect(put.status, JSON.stringify(put.json)).toBeLessThan(300);
  }
  // The two people in the directory, as an admin imports them.
  const people = await api('POST', '/people/import', admin, {
    people: [employee, approver].map((key) => ({ key, email: `${key}@upman.example` })),
  });
  expect(people.status, JSON.stringify(people.json)).toBe(200);
  const period = await api('POST', `/approvers/${employee}/periods`, admin, {
    approver,
    validFrom: new Date(Date.now() - 86_400_000).toISOString(),
  });
  expect(period.status, JSON.stringify(period.json)).toBeLessThan(300);
  await publish(fx.v1.dir, '1.0.0', 1, admin);
}, 180_000);

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
  await rm(fx.work, { recursive: true, force: true });
});

describe('upman, the update agent, against the local cloud', () => {
  it('refuses commands before login, with a clear message and exit status 3 (not signed in)', async () => {
    const r = await run(['status', '--json']);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('Not logged in: run "upman login" first');
    expect(jsonOf(r)).toEqual({
      error: { code: 'not-logged-in', message: 'Not logged in: run "upman login" first' },
    });
  });

  it("registers the PC from the employee's own agent (no admin) and reports the inventory", async () => {
    const login = jsonOf(ok(await run(['login', '--user', employee, '--json'])));
    expect(login).toMatchObject({
      user: employee,
      groups: ['employees'],
      tokenFile: join(config, 'upman', 'token.json'),
    });
    const created = jsonOf(ok(await run(['agent', 'register', '--department', DEPARTMENT, '--json'])));
    expect(created).toMatchObject({ clientId, department: DEPARTMENT, users: [employee], created: true });
    const again = jsonOf(ok(await run(['agent', 'register', '--name', 'Sales PC 7', '--json'])));
    expect(again).toMatchObject({ clientId, name: 'Sales PC 7', department: DEPARTMENT, created: false });

    // Another employee's agent cannot take the enrolled PC over.
    const intruder = await run(['agent', 'register', '--department', DEPARTMENT, '--json'], {
      UPMAN_TOKEN: await token(`agent-other-${tag}`, ['employees']),
    });
    expect(intruder.code).toBe(3); // not allowed
    expect(jsonOf<{ error: { status: number; message: string } }>(intruder).error).toMatchObject({
      status: 403,
      message: expect.stringContaining(`client ${clientId} is registered to other users`),
    });
    // An admin's typo in a user's name: nothing changes, and the answer says whom it may mean.
    const typo = await run(['agent', 'register', '--users', `${employee}x`, '--json'], {
      UPMAN_TOKEN: await token(`agent-it-${tag}`, ['admins']),
    });
    expect(typo.code).toBe(2); // usage: the name is wrong
    expect(jsonOf<{ error: { message: string } }>(typo).error.message).toMatch(
      new RegExp(`users\\[0\\].*Did you mean ${employee}[ ?]`),
    );

    await mkdir(join(root, other), { recursive: true });
    await writeFile(
      join(root, other, '.upman.json'),
      JSON.stringify({
        software: other,
        version: '1.0.0',
        revision: 1,
        installedAt: '2025-01-10T09:00:00Z',
        user: employee,
      }),
    );
    await mkdir(join(root, 'not-managed'), { recursive: true });
    const inv = jsonOf<{ items: unknown[]; skipped: Array<{ folder: string }> }>(
      ok(await run(['agent', 'inventory', '--json'])),
    );
    expect(inv.items).toEqual([
      { software: other, version: '1.0.0', revision: 1, installedAt: '2025-01-10T09:00:00Z', user: employee },
    ]);
    expect(inv.skipped).toEqual([{ folder: 'not-managed', reason: 'no .upman.json' }]);
    const { json } = await api<{ items: Array<{ software: string }> }>(
      'GET',
      `/clients/${clientId}/software`,
      await token(employee, ['employees']),
    );
    expect(json.items.map((i) => i.software)).toEqual([other]);
  });

  it('requests, is approved, and downloads the full package into an empty root', async () => {
    const requested = jsonOf<{ requestId: string }>(
      ok(await run(['request', software, '--reason', 'need the demo app', '--json'])),
    );
    expect(requested.requestId).toEqual(expect.any(String));
    const early = await run(['download', requested.requestId, '--json']);
    expect(early.code).toBe(5); // not in a state that allows it
    expect(jsonOf<{ error: { code: string } }>(early).error.code).toBe('not-approved');

    await approve(requested.requestId);
    const status = ok(await run(['status', requested.requestId]));
    expect(status.stdout).toMatch(/S501/);
    expect(status.stdout).toMatch(/S508/);

    const done = jsonOf(ok(await run(['download', requested.requestId, '--json'])));
    expect(done).toMatchObject({ software, fromRevision: null, toRevision: 1, kind: 'full' });
    await expectInstalled(fx.v1);
    expect(app()).toBe('demo-app 1.0.0');
    await waitFor('the registry to show revision 1', async () =>
      (await registryRevision()) === 1 ? 1 : undefined,
    );
  });

  it('updates with the delta through every fault: corrupted, killed mid-download, killed mid-apply, unwritable root', async () => {
    const admin = await token(`agent-it-${tag}`, ['admins']);
    await publish(fx.v2.dir, '1.1.0', 2, admin);
    const { requestId } = jsonOf<{ requestId: string }>(
      ok(await run(['request', software, '--version', '1.1.0', '--json'])),
    );
    await approve(requestId);

    // Find the delta in the vendor bucket (the key names it) to damage it for the first try.
    const s3 = new S3Client({
      endpoint: e.s3,
      region: e.region,
      credentials: e.credentials,
      forcePathStyle: true,
    });
    const deltaKey = `${software}/2/delta-from-1.zdelta`;
    const original = Buffer.from(
      await (
        await s3.send(new GetObjectCommand({ Bucket: bucket(), Key: deltaKey }))
      ).Body!.transformToByteArray(),
    );
    const damaged = Buffer.from(original);
    const middle = damaged.length >> 1;
    damaged[middle] = (damaged[middle] ?? 0) ^ 0xff;

    // 1. A corrupted download: checksum mismatch, nothing installed.
    await s3.send(new PutObjectCommand({ Bucket: bucket(), Key: deltaKey, Body: damaged }));
    const corrupt = await run(['download', requestId, '--json']);
    expect(corrupt.code).toBe(1);
    expect(jsonOf<{ error: { code: string } }>(corrupt).error.code).toBe('checksum-mismatch');
    expect(corrupt.stderr).toContain('Checksum mismatch');
    expect(app()).toBe('demo-app 1.0.0');
    await expectInstalled(fx.v1);
    await s3.send(new PutObjectCommand({ Bucket: bucket(), Key: deltaKey, Body: original }));
    s3.destroy();

    // 2. Killed midway through the download: the old version stays; the next try resumes.
    const cut = Math.floor(original.length / 3);
    const killed = await run(['download', requestId], { UPMAN_TEST_KILL_AT: `download:${cut}` });
    expect(killed.signal).toBe('SIGKILL');
    expect(app()).toBe('demo-app 1.0.0');
    const parts = await readdir(join(root, '.upman', 'downloads'));
    expect(parts.some((p) => p.endsWith('.part'))).toBe(true);

    // 3. Killed during the apply (between moving the old tree away and moving the new one in):
    //    that try resumes the download; the next run puts the old version back.
    const applyKilled = await run(['download', requestId], { UPMAN_TEST_KILL_AT: 'backed-up' });
    expect(applyKilled.signal).toBe('SIGKILL');
    expect(applyKilled.stderr).toMatch(/resuming at .+ \(\d+ of \d+ bytes\)/);
    const recovered = ok(await run(['agent', 'inventory', '--dry-run']));
    expect(recovered.stderr).toContain(`recovered an interrupted install of ${software}: rolled-back`);
    expect(app()).toBe('demo-app 1.0.0');
    await expectInstalled(fx.v1);

    // 4. An unwritable install root: a clear message, the old version intact.
    const asRoot = process.getuid?.() === 0;
    if (asRoot) {
      await chown(config, 65534, 65534);
      await chown(join(config, 'upman'), 65534, 65534);
      await chown(join(config, 'upman', 'token.json'), 65534, 65534);
      await chmod(work, 0o755);
    } else {
      await chmod(root, 0o555);
      await chmod(join(root, software), 0o555);
      await chmod(join(root, '.upman'), 0o555);
    }
    const denied = await run(['download', requestId, '--json'], {}, asRoot ? 65534 : undefined);
    expect(denied.code).toBe(1);
    expect(jsonOf<{ error: { code: string } }>(denied).error.code, denied.stderr).toBe('root-unwritable');
    expect(denied.stderr).toContain(`${root} is not writable`);
    expect(app()).toBe('demo-app 1.0.0');
    await expectInstalled(fx.v1);
    if (asRoot) await chown(join(config, 'upman', 'token.json'), 0, 0);
    else {
      await chmod(root, 0o755);
      await chmod(join(root, software), 0o755);
      await chmod(join(root, '.upman'), 0o755);
    }

    // The second try succeeds: the delta from revision 1, and the registry shows revision 2.
    const done = jsonOf<{ added: string[]; changed: string[]; deleted: string[] }>(
      ok(await run(['download', requestId, '--json'])),
    );
    expect(done).toMatchObject({ software, fromRevision: 1, toRevision: 2, kind: 'delta' });
    expect(done).toMatchObject({
      added: ['data/extra.bin', 'lib/new.txt'],
      changed: ['bin/app', 'lib/core.txt'],
      deleted: ['docs/old.txt'],
    });
    await expectInstalled(fx.v2);
    expect(app()).toBe('demo-app 1.1.0');
    await waitFor('the registry to show revision 2', async () =>
      (await registryRevision()) === 2 ? 2 : undefined,
    );
    expect(await readdir(join(root, '.upman', 'staging'))).toEqual([]);
  });
});
