// The vendor root at enrolment: an admin pinned the vendor's TUF root with the organisation;
// `upman agent register` (a child process, against a stand-in API) pins it on the PC, and a PC
// without it refuses to download while the organisation has one. The key request names the
// newest root the PC trusts, so the API can offer every root after it.
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { initRepository } from '../../lib/vendor/tuf.js';
import { createKeyFile, fileSigner } from '../../lib/vendor/tuf-signers.js';
import { jsonOf, upman } from '../fixtures/agent/cli.js';
import { MemoryMetadata } from '../fixtures/memory-metadata.js';

let server: Server;
let work: string;
let env: Record<string, string>;
let organisationRoot: Record<string, unknown> | undefined;
let vendorRoot: Record<string, unknown>;
const keyRequests: Array<Record<string, unknown>> = [];

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'upman-agent-vendor-root-'));
  const store = new MemoryMetadata();
  const signer = async (name: string) => {
    await createKeyFile(join(work, 'vendor-keys', `${name}.pem`));
    return fileSigner(join(work, 'vendor-keys', `${name}.pem`));
  };
  await initRepository(store, {
    root: [await signer('root')],
    targets: await signer('targets'),
    snapshot: await signer('snapshot'),
    timestamp: await signer('timestamp'),
  });
  vendorRoot = JSON.parse(store.files.get('root.json')!) as Record<string, unknown>;
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
      if (req.url === '/vendor-root') {
        if (!organisationRoot) return send(404, { message: 'The organisation has not pinned a vendor root' });
        return send(200, {
          root: organisationRoot,
          version: 1,
          sha256: createHash('sha256').update(JSON.stringify(organisationRoot)).digest('hex'),
          pinnedAt: '2026-01-01T00:00:00Z',
          pinnedBy: 'it-admin',
        });
      }
      if (req.url === '/clients/pc-1' && req.method === 'GET')
        return send(404, { message: 'No client pc-1' });
      if (req.url === '/clients/pc-1' && req.method === 'PUT')
        return send(201, { clientId: 'pc-1', ...JSON.parse(raw) });
      if (req.url === '/update-requests/r-1') {
        return send(200, {
          requestId: 'r-1',
          status: 'APPROVED',
          requester: 'alice',
          clientId: 'pc-1',
          software: 'demo-app',
          createdAt: '2026-01-01T00:00:00Z',
          steps: [],
        });
      }
      if (req.url === '/update-requests/r-1/key') {
        keyRequests.push(JSON.parse(raw) as Record<string, unknown>);
        // Ends the download here: what matters is whether, and with what, the key was asked for.
        return send(410, { message: 'The download grant expired' });
      }
      send(404, { message: 'Not Found' });
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const token = await new SignJWT({ groups: ['employees'] })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject('alice')
    .setExpirationTime('1h')
    .sign(new TextEncoder().encode('x'.repeat(32)));
  env = {
    UPMAN_API: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    UPMAN_TOKEN: token,
    UPMAN_CLIENT: 'pc-1',
    UPMAN_LOCAL_DIR: work,
    XDG_CONFIG_HOME: join(work, 'config'),
  };
  organisationRoot = vendorRoot;
}, 60_000);

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
  await rm(work, { recursive: true, force: true });
});

let pc: Record<string, string>;
beforeEach(async () => {
  const root = await mkdtemp(join(work, 'pc-'));
  await mkdir(root, { recursive: true });
  pc = { ...env, UPMAN_ROOT: root };
  keyRequests.length = 0;
});

const register = (e: Record<string, string>) =>
  upman(
    [
      '--json',
      'agent',
      'register',
      '--department',
      'Sales',
      '--os-registration-id',
      'OS-1',
      '--ip',
      '10.0.0.7',
    ],
    e,
  );
type ErrorOut = { error: { code: string; message: string; what?: string } };

describe('the vendor root at enrolment', () => {
  it('pins the root the organisation pinned when the PC registers, once', async () => {
    const first = await register(pc);
    expect(first.code, first.stderr).toBe(0);
    expect(jsonOf<{ vendorRoot: unknown }>(first).vendorRoot).toEqual({ status: 'pinned', version: 1 });
    const pinned = JSON.parse(
      await readFile(join(pc.UPMAN_ROOT!, '.upman', 'trust', 'vendor-root.json'), 'utf8'),
    );
    expect(pinned).toEqual(organisationRoot);
    // Registering again keeps what the PC has trusted since (no re-pin of the same root).
    const again = await register(pc);
    expect(jsonOf<{ vendorRoot: unknown }>(again).vendorRoot).toEqual({ status: 'unchanged', version: 1 });
  }, 60_000);

  it('refuses to download on a PC without the root while the organisation has one, before asking for a key', async () => {
    const r = await upman(['--json', 'download', 'r-1'], pc);
    expect(r.code).toBe(1);
    const { error } = jsonOf<ErrorOut>(r);
    expect(error.code).toBe('metadata-refused');
    expect(error.message).toMatch(/^S606: your organisation requires the vendor's signed release metadata/);
    expect(error.message).toContain('run "upman agent register"');
    expect(keyRequests).toEqual([]);
  }, 60_000);

  it('asks for a key naming the root version it trusts once the root is pinned', async () => {
    expect((await register(pc)).code).toBe(0);
    const r = await upman(['--json', 'download', 'r-1'], pc);
    expect(jsonOf<ErrorOut>(r).error.code).toBe('conflict');
    expect(keyRequests).toEqual([{ clientId: 'pc-1', currentRevision: null, trustedRootVersion: 1 }]);
  }, 60_000);

  it('downloads unchecked only while neither the PC nor the organisation has pinned a root', async () => {
    organisationRoot = undefined;
    try {
      const reg = await register(pc);
      expect(jsonOf<{ vendorRoot: unknown }>(reg).vendorRoot).toEqual({ status: 'none' });
      await upman(['--json', 'download', 'r-1'], pc);
      expect(keyRequests).toEqual([{ clientId: 'pc-1', currentRevision: null }]);
    } finally {
      organisationRoot = vendorRoot;
    }
  }, 60_000);
});
