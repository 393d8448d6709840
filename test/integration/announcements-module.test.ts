// POST /announcements with `module` in the local cloud (issue 3, docs/registry.md
// "Announcements"): a release published to the vendor bucket by the vendor's publish use case,
// installations reported on the registry, and the announcements function narrowing by the
// release manifest it reads from that bucket.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { mintToken } from '../../cdk/local/issuer/index.js';
import { runPublish } from '../../cli/vendor/publish.js';
import { writeTree } from '../fixtures/tree.js';

const endpoints = inject('endpoints');
const dataDir = inject('dataDir');
const run = randomUUID().slice(0, 6);
const software = `am-${run}`;
const work = mkdtempSync(join(tmpdir(), 'announce-module-it-'));
const clientOf = (n: number) => `pc-am${n}-${run}`;
const userOf = (n: number) => `user${n}-${run}`;
let admin: string;

async function api(method: string, path: string, body?: unknown) {
  const res = await fetch(`${endpoints.api}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${admin}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  // biome-ignore lint/suspicious/noExplicitAny: answers of several shapes, checked by the assertions
  return { status: res.status, body: (text ? JSON.parse(text) : {}) as Record<string, any> };
}

const tree = (name: string, files: Record<string, string>) => writeTree(join(work, name), files);

async function publish(version: string, revision: number, files: Record<string, string>) {
  await runPublish(tree(`r${revision}`, files), {
    software,
    version,
    revision: String(revision),
    catalog: true,
    endpoints: join(dataDir, 'endpoints.json'),
    token: admin,
    quiet: true,
  });
}

async function install(n: number, version: string, revision: number) {
  const person = await api('PUT', `/people/${userOf(n)}`, {});
  expect(person.status, JSON.stringify(person.body)).toBeLessThan(300);
  const c = await api('PUT', `/clients/${clientOf(n)}`, {
    name: `PC ${n}`,
    ipAddress: `192.0.2.${n}`,
    osRegistrationId: `os-${n}-${run}`,
    department: 'Sales',
    users: [userOf(n)],
  });
  expect(c.status, JSON.stringify(c.body)).toBeLessThan(300);
  const inv = await api('PUT', `/clients/${clientOf(n)}/software`, {
    items: [{ software, version, revision, installedAt: '2025-01-01T00:00:00Z', user: userOf(n) }],
  });
  expect(inv.status, JSON.stringify(inv.body)).toBeLessThan(300);
}

const announcement = {
  software,
  subject: 'Spell checker fix',
  message: 'The spell checker plug-in had a bug; please update.',
  dryRun: true,
};

beforeAll(async () => {
  admin = await mintToken({
    dataDir,
    issuer: endpoints.jwtIssuer,
    audience: endpoints.audience,
    user: `am-admin-${run}`,
    groups: ['admins'],
  });
  const catalog = await api('PUT', `/software/${software}`, {
    vendor: 'Example Vendor',
    latestVersion: '0.1',
    latestRevision: 0,
    licencePrice: 10,
    licenceModel: 'per-user',
  });
  expect(catalog.status, JSON.stringify(catalog.body)).toBeLessThan(300);
  await publish('1.0', 1, { 'bin/app.js': 'app v1\n', README: 'v1\n' });
  await publish('1.1', 2, {
    'bin/app.js': 'app v2\n',
    'plugins/spell/spell.js': 'spell\n',
    'plugins/spell/en.dic': 'words\n',
    README: 'v2\n',
  });
  await install(1, '1.0', 1);
  await install(2, '1.1', 2);
}, 120_000);

afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('POST /announcements with module', () => {
  it('reaches only installations whose release holds a file under the module', async () => {
    const res = await api('POST', '/announcements', { ...announcement, module: 'plugins/spell/' });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toMatchObject({
      dryRun: true,
      recipients: 1,
      clients: 1,
      unverifiedClients: 0,
      clientList: [clientOf(2)],
    });
    expect(res.body.recipientList.map((r: { user: string }) => r.user)).toEqual([userOf(2)]);
  });

  it('reaches every installation without a module, and one of a prefix both releases hold', async () => {
    const all = await api('POST', '/announcements', announcement);
    expect(all.body).toMatchObject({ recipients: 2, clients: 2, clientList: [clientOf(1), clientOf(2)] });
    const bin = await api('POST', '/announcements', { ...announcement, module: 'bin/' });
    expect(bin.body).toMatchObject({ clients: 2, unverifiedClients: 0 });
  });

  it('keeps a revision the manifest does not list, counted as unverified', async () => {
    await install(3, '1.2', 9);
    const res = await api('POST', '/announcements', { ...announcement, module: 'plugins/spell/' });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toMatchObject({
      recipients: 2,
      clients: 2,
      unverifiedClients: 1,
      clientList: [clientOf(2), clientOf(3)],
    });
  });
});
