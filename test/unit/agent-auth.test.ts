import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { homedir, hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeJwt, importJWK, jwtVerify, SignJWT } from 'jose';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { currentToken, describeToken, loginDeviceFlow, loginLocal, saveToken } from '../../agent/auth.js';
import { apiUrl, clientId, configDir, installRoot } from '../../agent/config.js';
import { loadOrCreateSigningKey, publicJwk, startLocalIssuer } from '../../cdk/local/issuer/index.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'upman-agent-auth-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const jwt = (claims: Record<string, unknown>, expSeconds: number) =>
  new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject('alice')
    .setExpirationTime(expSeconds)
    .sign(new TextEncoder().encode('k'.repeat(32)));

describe('configDir', () => {
  it('is $XDG_CONFIG_HOME/upman, or ~/.config/upman when the variable is unset or empty', () => {
    expect(configDir({ XDG_CONFIG_HOME: '/x/cfg' })).toBe('/x/cfg/upman');
    expect(configDir({})).toBe(join(homedir(), '.config', 'upman'));
    expect(configDir({ XDG_CONFIG_HOME: '' })).toBe(join(homedir(), '.config', 'upman'));
  });
});

describe('settings', () => {
  it('takes the flag first, then the environment variable', () => {
    expect(apiUrl({ api: 'https://a.example/' }, { UPMAN_API: 'https://b.example' })).toBe(
      'https://a.example',
    );
    expect(apiUrl({}, { UPMAN_API: 'https://b.example', UPMAN_LOCAL_DIR: '/nonexistent' })).toBe(
      'https://b.example',
    );
    expect(installRoot({}, { UPMAN_ROOT: '/opt/apps' })).toBe('/opt/apps');
    expect(clientId({ client: 'pc-1' }, { UPMAN_CLIENT: 'pc-2' })).toBe('pc-1');
    expect(clientId({}, { UPMAN_CLIENT: 'pc-2' })).toBe('pc-2');
  });

  it('defaults the client id to the host name and the API to the local cloud', async () => {
    expect(clientId({}, {})).toBe(hostname());
    const { writeFile } = await import('node:fs/promises');
    await writeFile(join(dir, 'endpoints.json'), JSON.stringify({ api: 'http://127.0.0.1:4567' }));
    expect(apiUrl({}, { UPMAN_LOCAL_DIR: dir })).toBe('http://127.0.0.1:4567');
  });

  it('refuses a plain-http API off loopback, a bad client id and a missing root, naming the option', () => {
    expect(() => apiUrl({ api: 'http://api.example.com' }, {})).toThrow(/--api must be an https URL/);
    expect(() => clientId({ client: 'bad id' }, {})).toThrow(/pass --client <id> or set UPMAN_CLIENT/);
    expect(() => installRoot({}, {})).toThrow(/pass --root <dir> or set UPMAN_ROOT/);
  });
});

describe('the token store', () => {
  it('keeps the token in a 0600 file and reads it back', async () => {
    const env = { XDG_CONFIG_HOME: dir };
    const token = await jwt({ groups: ['employees'] }, Math.floor(Date.now() / 1000) + 600);
    const file = await saveToken(describeToken(token, 'local'), env);
    expect(file).toBe(join(dir, 'upman', 'token.json'));
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect((await stat(join(dir, 'upman'))).mode & 0o777).toBe(0o700);
    expect(await currentToken(env)).toMatchObject({ token, user: 'alice', groups: ['employees'] });
  });

  it('says "not logged in" without a token and "expired" after its expiry', async () => {
    const env = { XDG_CONFIG_HOME: dir };
    await expect(currentToken(env)).rejects.toMatchObject({
      code: 'not-logged-in',
      message: expect.stringContaining('upman login'),
    });
    await saveToken(describeToken(await jwt({}, Math.floor(Date.now() / 1000) - 5), 'local'), env);
    await expect(currentToken(env)).rejects.toMatchObject({
      message: expect.stringContaining('Your login expired'),
    });
  });
});

describe('loginLocal', () => {
  it("gets a token from the local issuer's token endpoint, with its issuer, audience and the user's groups", async () => {
    const issuer = await startLocalIssuer({
      port: 0,
      dataDir: dir,
      issuer: 'https://issuer.local/dev',
      audience: ['upman'],
    });
    const { writeFile } = await import('node:fs/promises');
    await writeFile(
      join(dir, 'endpoints.json'),
      JSON.stringify({
        api: 'http://127.0.0.1:1',
        issuer: issuer.url,
        jwtIssuer: 'https://issuer.local/dev',
        audience: ['upman'],
      }),
    );
    const stored = await loginLocal(
      { user: 'bob', groups: ['employees', 'admins'] },
      { UPMAN_LOCAL_DIR: dir },
    ).finally(() => issuer.stop());
    // Signed by the issuer's key, as the API's JWT check will verify it.
    const key = await importJWK(publicJwk(await loadOrCreateSigningKey(dir)), 'RS256');
    await expect(jwtVerify(stored.token, key, { issuer: 'https://issuer.local/dev' })).resolves.toBeDefined();
    const claims = decodeJwt(stored.token);
    expect(claims).toMatchObject({
      sub: 'bob',
      iss: 'https://issuer.local/dev',
      aud: 'upman',
      groups: ['employees', 'admins'],
    });
    expect(stored).toMatchObject({ user: 'bob', issuer: 'local' });
  });

  it('explains what to do when there is no local cloud, or it is not running', async () => {
    await expect(
      loginLocal({ user: 'bob', groups: [] }, { UPMAN_LOCAL_DIR: join(dir, 'none') }),
    ).rejects.toThrow(/holds no endpoints.json/);
    const { writeFile } = await import('node:fs/promises');
    await writeFile(join(dir, 'endpoints.json'), JSON.stringify({ issuer: 'http://127.0.0.1:9' }));
    await expect(loginLocal({ user: 'bob', groups: [] }, { UPMAN_LOCAL_DIR: dir })).rejects.toMatchObject({
      code: 'api-unreachable',
      message: expect.stringContaining('start the local cloud (npm start)'),
    });
  });
});

describe('loginDeviceFlow (RFC 8628)', () => {
  let server: Server;
  let issuer: string;
  const polls: Array<Record<string, string>> = [];
  let answers: Array<Record<string, unknown>>;

  beforeEach(async () => {
    polls.length = 0;
    server = createServer(async (req, res) => {
      let raw = '';
      for await (const chunk of req) raw += chunk;
      const send = (status: number, body: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
      };
      if (req.url === '/.well-known/openid-configuration') {
        return send(200, {
          issuer,
          device_authorization_endpoint: `${issuer}/device`,
          token_endpoint: `${issuer}/token`,
        });
      }
      const form = Object.fromEntries(new URLSearchParams(raw));
      if (req.url === '/device') {
        expect(form).toEqual({ client_id: 'agent-app', scope: 'openid profile email' });
        return send(200, {
          device_code: 'dev-1',
          user_code: 'ABCD-EFGH',
          verification_uri: `${issuer}/activate`,
          expires_in: 600,
          interval: 1,
        });
      }
      polls.push(form);
      const next = answers.shift()!;
      send(next.access_token ? 200 : 400, next);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterEach(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  it('shows the code, polls while pending, slows down when told, and returns the token', async () => {
    const token = await jwt({ groups: ['employees'] }, Math.floor(Date.now() / 1000) + 600);
    answers = [
      { error: 'authorization_pending' },
      { error: 'slow_down' },
      { access_token: token, token_type: 'Bearer' },
    ];
    const waits: number[] = [];
    const prompts: unknown[] = [];
    const stored = await loginDeviceFlow({
      issuer,
      clientId: 'agent-app',
      prompt: (p) => prompts.push(p),
      sleep: async (ms) => {
        waits.push(ms);
      },
    });
    expect(prompts).toEqual([
      { verificationUri: `${issuer}/activate`, userCode: 'ABCD-EFGH', expiresIn: 600 },
    ]);
    expect(waits).toEqual([1000, 1000, 6000]);
    expect(polls[0]).toEqual({
      grant_type: 'urn:ietf:params:oauth:grant-type:device_code',
      device_code: 'dev-1',
      client_id: 'agent-app',
    });
    expect(stored).toMatchObject({ token, user: 'alice', issuer });
  });

  it('stops with a clear message when the user denies the sign-in', async () => {
    answers = [{ error: 'access_denied' }];
    await expect(
      loginDeviceFlow({ issuer, clientId: 'agent-app', prompt: () => {}, sleep: async () => {} }),
    ).rejects.toThrow('The sign-in was denied');
  });
});

describe('the token file on disk', () => {
  it('is JSON with the token, user, groups and expiry', async () => {
    const env = { XDG_CONFIG_HOME: dir };
    const token = await jwt({ groups: ['employees'] }, 2_000_000_000);
    const file = await saveToken(describeToken(token, 'local'), env);
    expect(JSON.parse(await readFile(file, 'utf8'))).toEqual({
      token,
      user: 'alice',
      groups: ['employees'],
      expiresAt: new Date(2_000_000_000_000).toISOString(),
      issuer: 'local',
    });
  });
});
