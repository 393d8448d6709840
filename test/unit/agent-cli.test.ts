// The `upman` bin as a user runs it (a child process), against a small stand-in API: help on
// every command, and the error paths whose exit status and wording the issue names.
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initRepository } from '../../lib/vendor/tuf.js';
import { createKeyFile, fileSigner } from '../../lib/vendor/tuf-signers.js';
import { jsonOf, upman } from '../fixtures/agent/cli.js';
import { MemoryMetadata } from '../fixtures/memory-metadata.js';

let server: Server;
let api: string;
let work: string;
let env: Record<string, string>;
const seen: string[] = [];
const PACKAGE_VERSION = (
  JSON.parse(readFileSync(join(import.meta.dirname, '..', '..', 'package.json'), 'utf8')) as {
    version: string;
  }
).version;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'upman-agent-cli-'));
  server = createServer((req, res) => {
    seen.push(`${req.method} ${req.url}`);
    const send = (status: number, body: unknown, type = 'application/json') => {
      res.writeHead(status, { 'content-type': type });
      res.end(typeof body === 'string' ? body : JSON.stringify(body));
    };
    if (req.url === '/update-requests/r-approved') {
      return send(200, {
        requestId: 'r-approved',
        status: 'APPROVED',
        requester: 'alice',
        clientId: 'pc-1',
        software: 'demo-app',
        targetVersion: '1.1.0',
        createdAt: '2025-01-01T00:00:00Z',
        steps: [{ step: 'S501', at: '2025-01-01T00:00:00Z' }],
      });
    }
    if (req.url === '/update-requests/r-waiting') {
      return send(200, {
        requestId: 'r-waiting',
        status: 'AWAITING_APPROVAL',
        requester: 'alice',
        clientId: 'pc-1',
        software: 'demo-app',
        targetVersion: '1.1.0',
        createdAt: '2025-01-01T00:00:00Z',
        steps: [
          { step: 'S501', at: '2025-01-01T00:00:00Z' },
          { step: 'S505', at: '2025-01-01T00:01:00Z' },
        ],
      });
    }
    if (req.url === '/update-requests/r-approved/key') {
      return send(200, {
        grantId: 'g-1',
        url: `${api}/artifact?X-Amz-Expires=60`,
        kind: 'full',
        fromRevision: null,
        toRevision: 2,
        size: 10,
        sha256: 'a'.repeat(64),
        expiresAt: '2025-01-01T01:00:00Z',
      });
    }
    if (req.url?.startsWith('/artifact')) {
      return send(
        403,
        '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>',
        'application/xml',
      );
    }
    if (req.url === '/clients/pc-new/software' && req.method === 'GET') return send(200, { items: [] });
    if (req.url === '/clients/pc-new/software' && req.method === 'PUT') return send(200, { unchanged: 0 });
    if (req.url === '/clients/pc-busy/software' && req.method === 'GET') {
      return send(200, { items: [{ software: 'demo-app', version: '1.0.0', revision: 1 }] });
    }
    if (req.url === '/software' && req.method === 'GET') {
      return send(200, { items: [{ name: 'OfficeSuite' }, { name: 'demo-app' }, { name: 'PhotoStudio' }] });
    }
    if (req.url === '/update-requests' && req.method === 'POST') {
      let raw = '';
      req.on('data', (c: Buffer) => {
        raw += c.toString();
      });
      req.on('end', () => {
        const software = (JSON.parse(raw) as { software: string }).software;
        if (software !== 'demo-app')
          return send(404, { message: `No software ${software} in the catalog`, field: 'software' });
        send(400, { message: 'reason must be a non-empty string', field: 'reason' });
      });
      return;
    }
    send(404, { message: 'Not Found' });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  api = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const token = await new SignJWT({ groups: ['employees'] })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject('alice')
    .setExpirationTime('1h')
    .sign(new TextEncoder().encode('x'.repeat(32)));
  env = {
    UPMAN_API: api,
    UPMAN_ROOT: join(work, 'root'),
    UPMAN_CLIENT: 'pc-1',
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

describe('upman (the agent commands)', () => {
  it('prints help for every command, naming its options', async () => {
    const top = await upman(['--help'], env);
    expect(top.code).toBe(0);
    for (const name of [
      'login',
      'agent',
      'request',
      'status',
      'download',
      '--api',
      '--root',
      '--client',
      '--json',
    ]) {
      expect(top.stdout).toContain(name);
    }
    const download = await upman(['download', '--help'], env);
    expect(download.stdout).toMatch(/Usage: upman download \[options\] <requestId>/);
    expect(download.stdout).toContain('--json');
    const register = await upman(['agent', 'register', '--help'], env);
    expect(register.stdout).toContain('--department <d>');
  }, 60_000);

  it('says the API is unreachable and what to do, with exit status 6 (server or network)', async () => {
    const r = await upman(['status', 'r-1', '--json'], { ...env, UPMAN_API: 'http://127.0.0.1:9' });
    expect(r.code).toBe(6);
    expect(jsonOf<{ error: { code: string } }>(r).error.code).toBe('api-unreachable');
    expect(r.stderr).toContain('upman: The API at http://127.0.0.1:9 is unreachable');
    expect(r.stderr).toContain('start it (npm start)');
  }, 30_000);

  it('turns an expired key into S606 with how to get a new one (options also before the command)', async () => {
    const r = await upman(['--json', 'download', 'r-approved'], env);
    expect(r.code).toBe(1);
    const { error } = jsonOf<{ error: { code: string; message: string } }>(r);
    expect(error.code).toBe('key-expired');
    expect(error.message).toMatch(
      /^S606: the download key is not valid \(AccessDenied: Request has expired\)/,
    );
    expect(error.message).toContain('run "upman download r-approved" again to get a fresh key');
    expect(seen).toContain('POST /update-requests/r-approved/key');
  }, 30_000);

  it('with a pinned vendor root, refuses a key without signed metadata before downloading anything', async () => {
    const store = new MemoryMetadata();
    const one = async (name: string) => {
      await createKeyFile(join(work, 'vendor-keys', `${name}.pem`));
      return fileSigner(join(work, 'vendor-keys', `${name}.pem`));
    };
    await initRepository(store, {
      root: [await one('root')],
      targets: await one('targets'),
      snapshot: await one('snapshot'),
      timestamp: await one('timestamp'),
    });
    await writeFile(join(work, 'vendor-root.json'), store.files.get('root.json')!);
    const pinnedEnv = { ...env, UPMAN_ROOT: join(work, 'pinned-root') };
    await mkdir(pinnedEnv.UPMAN_ROOT, { recursive: true });
    const pinned = await upman(
      ['--json', 'agent', 'trust-vendor', join(work, 'vendor-root.json')],
      pinnedEnv,
    );
    expect(pinned.code, pinned.stderr).toBe(0);
    expect(jsonOf<{ version: number }>(pinned).version).toBe(1);
    const before = seen.filter((s) => s.startsWith('GET /artifact')).length;
    const r = await upman(['--json', 'download', 'r-approved'], pinnedEnv);
    expect(r.code).toBe(1);
    const { error } = jsonOf<{ error: { code: string; message: string } }>(r);
    expect(error.code).toBe('metadata-refused');
    expect(error.message).toMatch(/^S606: the vendor's release metadata was refused \(unsigned release:/);
    expect(seen.filter((s) => s.startsWith('GET /artifact')).length).toBe(before);
  }, 60_000);

  it('refuses to download a request that is not approved yet, and shows its timeline', async () => {
    const r = await upman(['download', 'r-waiting'], env);
    expect(r.code).toBe(5); // not in a state that allows it
    expect(r.stderr).toContain('Request r-waiting is AWAITING_APPROVAL: it can be downloaded once approved');
    const status = await upman(['status', 'r-waiting'], env);
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(/S501\s+request received/);
    expect(status.stdout).toMatch(/S505\s+sent to the approver/);
  }, 30_000);

  it("passes the API's message and field through", async () => {
    const r = await upman(['request', 'demo-app', '--json'], env);
    expect(r.code).toBe(2); // the input was refused: usage
    expect(jsonOf<{ error: { message: string; field: string } }>(r).error).toMatchObject({
      field: 'reason',
      message: expect.stringContaining('reason must be a non-empty string [field: reason]'),
    });
  }, 30_000);

  it('suggests the catalog names closest to an unknown software name, with exit status 4', async () => {
    const r = await upman(['request', 'officesuit', '--json'], env);
    expect(r.code).toBe(4);
    expect(jsonOf<{ error: Record<string, unknown> }>(r).error).toMatchObject({
      code: 'not-found',
      suggestions: ['OfficeSuite'],
    });
    expect(r.stderr).toContain(
      'officesuit is not in the catalog. Did you mean OfficeSuite? (upman request OfficeSuite)',
    );
    const far = await upman(['request', 'Spreadsheet'], env);
    expect(far.code).toBe(4);
    expect(far.stderr).toContain('Spreadsheet is not in the catalog. Ask IT to add it');
  }, 30_000);

  it('names the missing install root and a bad client id', async () => {
    const noRoot = await upman(['download', 'r-approved'], { ...env, UPMAN_ROOT: '' });
    expect(noRoot.code).toBe(2);
    expect(noRoot.stderr).toContain('No install root: pass --root <dir> or set UPMAN_ROOT');
    const badClient = await upman(['agent', 'inventory', '--client', 'no spaces'], env);
    expect(badClient.code).toBe(2);
    expect(badClient.stderr).toContain('pass --client <id> or set UPMAN_CLIENT');
  }, 30_000);

  it('reports an install root that does not exist yet as empty (and creates it), unless the registry lists software there', async () => {
    const fresh = join(work, 'not-yet');
    const ok = await upman(['agent', 'inventory', '--root', fresh, '--client', 'pc-new', '--json'], env);
    expect(ok.code, ok.stderr).toBe(0);
    expect(jsonOf(ok)).toMatchObject({ clientId: 'pc-new', items: [] });
    expect(seen).toContain('PUT /clients/pc-new/software');
    expect((await stat(fresh)).isDirectory()).toBe(true);

    const typo = join(work, 'typo');
    const refused = await upman(['agent', 'inventory', '--root', typo, '--client', 'pc-busy'], env);
    expect(refused.code).toBe(4); // not found
    expect(refused.stderr).toContain(
      `The install root ${typo} does not exist, yet the registry lists 1 software`,
    );
    expect(seen).not.toContain('PUT /clients/pc-busy/software');
    await expect(stat(typo)).rejects.toThrow();
  }, 30_000);

  it('answers --version with the package version, and a usage error with exit status 2', async () => {
    const version = await upman(['--version'], env);
    expect(version.code).toBe(0);
    expect(version.stdout.trim()).toBe(PACKAGE_VERSION);
    const unknown = await upman(['no-such-command'], env);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("unknown command 'no-such-command'");
    const missing = await upman(['finance', 'answer'], env);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("missing required argument 'batchId'");
  }, 30_000);
});
