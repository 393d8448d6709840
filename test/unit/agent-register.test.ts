// `upman agent register` as the employee runs it (a child process) against a stand-in API that
// answers as the registry does: a fresh PC is enrolled for the caller alone, and each refusal
// (someone else's id, a race, a change only an admin may make) says what to do next.
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jsonOf, upman } from '../fixtures/agent/cli.js';

let server: Server;
let work: string;
let env: Record<string, string>;
const puts = new Map<string, Record<string, unknown>>();

const shared = {
  clientId: 'pc-shared',
  name: 'Shared PC',
  ipAddress: '10.0.0.5',
  osRegistrationId: 'OS-S',
  department: 'Sales',
  users: ['alice', 'bob'],
};

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'upman-agent-register-'));
  server = createServer((req, res) => {
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    let raw = '';
    req.on('data', (c: Buffer) => {
      raw += c.toString();
    });
    req.on('end', () => {
      const id = /^\/clients\/([^/]+)$/.exec(req.url ?? '')?.[1];
      if (!id) return send(404, { message: 'Not Found' });
      if (req.method === 'GET') {
        if (id === 'pc-taken')
          return send(403, { message: `Only the users of client ${id} or an admin may read it` });
        if (id === 'pc-shared') return send(200, shared);
        return send(404, { message: `No client ${id}`, field: 'clientId' });
      }
      const body = JSON.parse(raw) as Record<string, unknown>;
      puts.set(id, body);
      if (id === 'pc-raced') {
        return send(409, {
          message: `Client ${id} was registered by another request meanwhile; read it again`,
          field: 'clientId',
        });
      }
      if (id === 'pc-norole') {
        return send(403, {
          message: 'Only an employee (for their own PC) or an admin may register a client',
        });
      }
      if (id === 'pc-shared' && body.department !== shared.department) {
        return send(403, {
          message: `Client ${id} is shared by 2 users: only an admin may change its department`,
          field: 'department',
        });
      }
      const users = (body.users as string[]).join(',');
      if (users !== (id === 'pc-shared' ? shared.users.join(',') : 'alice')) {
        return send(403, {
          message: 'An employee registers a client for themselves only: users must be ["alice"]',
          field: 'users',
        });
      }
      send(id === 'pc-shared' ? 200 : 201, { clientId: id, ...body });
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const api = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const token = await new SignJWT({ groups: ['employees'] })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject('alice')
    .setExpirationTime('1h')
    .sign(new TextEncoder().encode('x'.repeat(32)));
  env = {
    UPMAN_API: api,
    UPMAN_TOKEN: token,
    UPMAN_LOCAL_DIR: work,
    XDG_CONFIG_HOME: join(work, 'config'),
  };
}, 60_000);

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
  await rm(work, { recursive: true, force: true });
});

type ErrorOut = { error: { code: string; message: string; status?: number; field?: string } };
const args = (client: string, ...more: string[]) => [
  'agent',
  'register',
  '--client',
  client,
  '--os-registration-id',
  'OS-1',
  '--ip',
  '10.0.0.7',
  ...more,
];

describe('upman agent register (the employee on their PC)', () => {
  it('enrols a fresh PC for the employee alone', async () => {
    const r = await upman(args('pc-new', '--department', 'Sales', '--name', 'Alice PC', '--json'), env);
    expect(r.code, r.stderr).toBe(0);
    expect(jsonOf(r)).toMatchObject({
      clientId: 'pc-new',
      users: ['alice'],
      department: 'Sales',
      created: true,
    });
    expect(puts.get('pc-new')).toEqual({
      name: 'Alice PC',
      ipAddress: '10.0.0.7',
      osRegistrationId: 'OS-1',
      department: 'Sales',
      users: ['alice'],
    });
  }, 30_000);

  it('says whose the id is when it belongs to other users (403), and how to go on', async () => {
    const r = await upman(args('pc-taken', '--department', 'Sales', '--json'), env);
    expect(r.code).toBe(3); // not allowed
    expect(puts.has('pc-taken')).toBe(false);
    const { error } = jsonOf<ErrorOut>(r);
    expect(error).toMatchObject({ code: 'forbidden', status: 403 });
    expect(error.message).toContain(
      'Cannot register: client pc-taken is registered to other users, not to you (alice)',
    );
    expect(error.message).toContain('ask IT to add you to it');
    expect(error.message).toContain('pass --client <id> (or set UPMAN_CLIENT)');
    expect(r.stderr).not.toMatch(/GET \/clients|failed \(403\)/); // what to do, not which call failed
  }, 30_000);

  it('explains a lost race (409 naming clientId): run it again', async () => {
    const r = await upman(args('pc-raced', '--department', 'Sales', '--json'), env);
    expect(r.code).toBe(5); // conflict
    const { error } = jsonOf<ErrorOut>(r);
    expect(error).toMatchObject({ code: 'conflict', status: 409, field: 'clientId' });
    expect(error.message).toContain('was registered or changed by another agent at the same moment');
    expect(error.message).toContain('Run "upman agent register" again');
  }, 30_000);

  it('refuses to enrol a PC for someone else (403 naming users)', async () => {
    const r = await upman(args('pc-other', '--department', 'Sales', '--users', 'bob', '--json'), env);
    expect(r.code).toBe(3);
    const { error } = jsonOf<ErrorOut>(r);
    expect(error).toMatchObject({ code: 'forbidden', status: 403, field: 'users' });
    expect(error.message).toContain('you (alice) register a PC for yourself only');
    expect(error.message).toContain('is done by an admin: ask IT');
  }, 30_000);

  it('tells a login without the employees group that registering needs one', async () => {
    const r = await upman(args('pc-norole', '--department', 'Sales'), env);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain(
      'Cannot register: registering a PC needs an employee\'s login (group "employees")',
    );
  }, 30_000);

  it('updates a shared PC with its registered users, but leaves its department to an admin', async () => {
    const ok = await upman(args('pc-shared', '--json'), env);
    expect(ok.code, ok.stderr).toBe(0);
    expect(jsonOf(ok)).toMatchObject({ users: ['alice', 'bob'], department: 'Sales', created: false });
    const moved = await upman(args('pc-shared', '--department', 'R&D'), env);
    expect(moved.code).toBe(3);
    expect(moved.stderr).toContain('[field: department]');
    expect(moved.stderr).toContain('client pc-shared is shared, so its department is changed by an admin');
  }, 30_000);
});
