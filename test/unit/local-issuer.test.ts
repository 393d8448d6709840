import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createRemoteJWKSet, decodeJwt, jwtVerify } from 'jose';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cognitoSubOf, keyFile, mintToken, startLocalIssuer } from '../../cdk/local/issuer/index.js';

const run = promisify(execFile);
const ISSUER = 'https://issuer.upman.local/dev';

let dataDir: string;
beforeEach(() => {
  dataDir = mkdtempSync(join(tmpdir(), 'upman-issuer-'));
});
afterEach(() => rmSync(dataDir, { recursive: true, force: true }));

describe('startLocalIssuer', () => {
  it('serves discovery and a JWKS with the public key only', async () => {
    const issuer = await startLocalIssuer({ port: 0, dataDir, issuer: ISSUER, audience: ['upman'] });
    try {
      const discovery = (await (
        await fetch(`${issuer.url}/.well-known/openid-configuration`)
      ).json()) as Record<string, unknown>;
      expect(discovery).toMatchObject({ issuer: ISSUER, jwks_uri: issuer.jwksUrl });
      // Also under the issuer's own path, where a client appends /.well-known/… to the iss.
      expect((await fetch(`${issuer.url}/dev/.well-known/openid-configuration`)).status).toBe(200);
      const jwks = (await (await fetch(issuer.jwksUrl)).json()) as { keys: Array<Record<string, unknown>> };
      expect(jwks.keys).toHaveLength(1);
      expect(jwks.keys[0]).toMatchObject({ kty: 'RSA', alg: 'RS256', use: 'sig' });
      for (const member of ['d', 'p', 'q', 'dp', 'dq', 'qi']) expect(jwks.keys[0]).not.toHaveProperty(member);
      expect((await fetch(`${issuer.url}/other`)).status).toBe(404);
    } finally {
      await issuer.stop();
    }
  });

  it('grants any demo person and groups a verifiable token at its token endpoint, and refuses bad grants', async () => {
    const issuer = await startLocalIssuer({ port: 0, dataDir, issuer: ISSUER, audience: ['upman'] });
    try {
      const discovery = (await (await fetch(`${issuer.url}/.well-known/openid-configuration`)).json()) as {
        token_endpoint: string;
        grant_types_supported: string[];
      };
      expect(discovery.token_endpoint).toBe(`${issuer.url}/oauth2/token`);
      const grant = (fields: Record<string, string>, groups: string[] = []) => {
        const body = new URLSearchParams(fields);
        for (const g of groups) body.append('groups', g);
        return fetch(discovery.token_endpoint, { method: 'POST', body });
      };
      const ok = await grant(
        { grant_type: discovery.grant_types_supported[0]!, username: 'kojima', expires_in: '600' },
        ['finance', 'approvers'],
      );
      expect(ok.status).toBe(200);
      const body = (await ok.json()) as { access_token: string; token_type: string; expires_in: number };
      expect(body).toMatchObject({ token_type: 'Bearer', expires_in: 600 });
      const { payload } = await jwtVerify(body.access_token, createRemoteJWKSet(new URL(issuer.jwksUrl)), {
        issuer: ISSUER,
        audience: 'upman',
      });
      expect(payload).toMatchObject({ sub: 'kojima', groups: ['finance', 'approvers'] });
      expect(payload.exp! - payload.iat!).toBe(600);
      expect(body).not.toHaveProperty('did_you_mean');

      // Anyone may sign in, but a name a letter away from a demo person's says whom it may mean.
      const developmentGrant = discovery.grant_types_supported[0]!;
      const typo = await grant({ grant_type: developmentGrant, username: 'kojma' });
      expect(typo.status).toBe(200);
      expect(await typo.json()).toMatchObject({ did_you_mean: ['kojima'] });
      const stranger = await grant({ grant_type: developmentGrant, username: 'wf-admin-7f3a' });
      expect(stranger.status).toBe(200);
      expect(await stranger.json()).not.toHaveProperty('did_you_mean');

      const wrongGrant = await grant({ grant_type: 'password', username: 'kojima', password: 'x' });
      expect(wrongGrant.status).toBe(400);
      expect(await wrongGrant.json()).toMatchObject({ error: 'invalid_request' });
      const badUser = await grant({ grant_type: discovery.grant_types_supported[0]!, username: 'no spaces' });
      expect(badUser.status).toBe(400);
      expect(((await badUser.json()) as { error_description: string }).error_description).toMatch(/^user:/);
    } finally {
      await issuer.stop();
    }
  });

  it('keeps its key in key.json with mode 0600, so tokens survive a restart', async () => {
    const first = await startLocalIssuer({ port: 0, dataDir, issuer: ISSUER, audience: ['upman'] });
    const token = await mintToken({
      dataDir,
      issuer: ISSUER,
      audience: ['upman'],
      user: 'alice',
      groups: [],
    });
    await first.stop();
    expect(statSync(keyFile(dataDir)).mode & 0o777).toBe(0o600);
    const keyBefore = readFileSync(keyFile(dataDir), 'utf8');
    const second = await startLocalIssuer({ port: 0, dataDir, issuer: ISSUER, audience: ['upman'] });
    try {
      expect(readFileSync(keyFile(dataDir), 'utf8')).toBe(keyBefore);
      const { payload } = await jwtVerify(token, createRemoteJWKSet(new URL(second.jwksUrl)), {
        issuer: ISSUER,
      });
      expect(payload.sub).toBe('alice');
    } finally {
      await second.stop();
    }
  });
});

describe('mintToken', () => {
  it('signs sub, groups, email, audience and a lifetime', async () => {
    const issuer = await startLocalIssuer({ port: 0, dataDir, issuer: ISSUER, audience: ['upman'] });
    await issuer.stop();
    const token = await mintToken({
      dataDir,
      issuer: ISSUER,
      audience: ['upman'],
      user: 'bob',
      groups: ['employees', 'finance'],
      ttlSeconds: 600,
    });
    const claims = decodeJwt(token);
    expect(claims).toMatchObject({
      iss: ISSUER,
      sub: 'bob',
      aud: 'upman',
      groups: ['employees', 'finance'],
      email: 'bob@upman.example',
    });
    expect(claims.exp! - claims.iat!).toBe(600);
  });

  it('mints Cognito ID tokens (UUID sub, cognito:username, cognito:groups) and OIDC ones with an opaque sub', async () => {
    await (await startLocalIssuer({ port: 0, dataDir, issuer: ISSUER, audience: ['upman'] })).stop();
    const base = {
      dataDir,
      issuer: ISSUER,
      audience: ['upman'],
      user: 'bob',
      groups: ['Sales admins', 'employees'],
    };
    const cognito = decodeJwt(await mintToken({ ...base, shape: 'cognito', name: 'Bob B' }));
    expect(cognito).toMatchObject({
      sub: cognitoSubOf('bob'),
      'cognito:username': 'bob',
      'cognito:groups': ['Sales admins', 'employees'],
      email: 'bob@upman.example',
      name: 'Bob B',
      token_use: 'id',
    });
    expect(cognito.sub).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-8[0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(cognito).not.toHaveProperty('groups');
    const oidc = decodeJwt(await mintToken({ ...base, subject: '00u1abcd', email: 'bob@corp.example' }));
    expect(oidc).toMatchObject({
      sub: '00u1abcd',
      preferred_username: 'bob',
      email: 'bob@corp.example',
      groups: ['Sales admins', 'employees'],
    });
  });

  it('names the field at fault for a bad user, group or lifetime, and needs the issuer key', async () => {
    const base = { dataDir, issuer: ISSUER, audience: ['upman'], user: 'bob', groups: [] as string[] };
    await expect(mintToken(base)).rejects.toThrow(/start the local cloud/);
    await (await startLocalIssuer({ port: 0, dataDir, issuer: ISSUER, audience: ['upman'] })).stop();
    await expect(mintToken({ ...base, user: 'bob smith' })).rejects.toThrow(/^user:/);
    await expect(mintToken({ ...base, groups: ['line\nbreak'] })).rejects.toThrow(/^groups:/);
    await expect(mintToken({ ...base, groups: [''] })).rejects.toThrow(/^groups:/);
    await expect(mintToken({ ...base, ttlSeconds: 0 })).rejects.toThrow(/^ttlSeconds:/);
  });
});

// `npm run token` is a thin wrapper over `upman login`: it gets the token from the running
// issuer's token endpoint, in a child process as npm runs it.
describe('npm run token', { timeout: 60_000 }, () => {
  const token = (...args: string[]) =>
    run(process.execPath, ['scripts/token.mjs', ...args], { cwd: process.cwd() });

  it('prints only the token the issuer granted through upman login, newline-terminated', async () => {
    const issuer = await startLocalIssuer({ port: 0, dataDir, issuer: ISSUER, audience: ['upman'] });
    try {
      writeFileSync(
        join(dataDir, 'endpoints.json'),
        JSON.stringify({
          api: 'http://127.0.0.1:1',
          issuer: issuer.url,
          jwtIssuer: ISSUER,
          audience: ['upman'],
        }),
      );
      const { stdout } = await token(
        '--user',
        'carol',
        '--groups',
        'employees,approvers',
        '--data-dir',
        dataDir,
      );
      expect(stdout).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+\n$/);
      expect(decodeJwt(stdout.trim())).toMatchObject({
        sub: 'carol',
        groups: ['employees', 'approvers'],
        iss: ISSUER,
      });
    } finally {
      await issuer.stop();
    }
  });

  it('upman login signs a mistyped demo name in as a new person and says whom it may have meant', async () => {
    const issuer = await startLocalIssuer({ port: 0, dataDir, issuer: ISSUER, audience: ['upman'] });
    const config = mkdtempSync(join(tmpdir(), 'upman-login-'));
    try {
      writeFileSync(
        join(dataDir, 'endpoints.json'),
        JSON.stringify({
          api: 'http://127.0.0.1:1',
          issuer: issuer.url,
          jwtIssuer: ISSUER,
          audience: ['upman'],
        }),
      );
      const login = (...args: string[]) =>
        run(process.execPath, ['bin/upman.mjs', 'login', ...args], {
          cwd: process.cwd(),
          env: { ...process.env, XDG_CONFIG_HOME: config, UPMAN_LOCAL_DIR: dataDir },
        });
      const typo = await login('--user', 'okach');
      expect(typo.stdout).toMatch(/okach is none of the demo people.*Did you mean okachi\?/);
      const asJson = JSON.parse((await login('--user', 'okach', '--json')).stdout) as Record<string, unknown>;
      expect(asJson).toMatchObject({ user: 'okach', didYouMean: ['okachi'] });
      const right = await login('--user', 'okachi');
      expect(right.stdout).not.toMatch(/Did you mean/);
    } finally {
      rmSync(config, { recursive: true, force: true });
      await issuer.stop();
    }
  });

  it("fails with upman login's message and exit code when the local cloud never ran, or without --user", async () => {
    await expect(token('--user', 'carol', '--data-dir', join(dataDir, 'never'))).rejects.toMatchObject({
      code: 2,
      stderr: expect.stringContaining('holds no endpoints.json'),
    });
    await expect(token('--data-dir', dataDir)).rejects.toMatchObject({
      code: 2,
      stderr: expect.stringContaining('--user <name> is required'),
    });
  });
});
