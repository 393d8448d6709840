// The HTTP API of the local cloud, as a client sees it: routes from the synthesized template,
// the JWT authorizer checking tokens of the development issuer as API Gateway would.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { generateKeyPair, SignJWT } from 'jose';
import { describe, expect, inject, it } from 'vitest';
import { mintToken } from '../../cdk/local/issuer/index.js';

const e = inject('endpoints');
const dataDir = inject('dataDir');
const run = promisify(execFile);

const token = (overrides: Partial<Parameters<typeof mintToken>[0]> = {}) =>
  mintToken({
    dataDir,
    issuer: e.jwtIssuer,
    audience: e.audience,
    user: 'alice',
    groups: ['employees'],
    ...overrides,
  });

const me = (authorization?: string) =>
  fetch(`${e.api}/me`, { headers: authorization ? { authorization } : {} });

async function expectUnauthorized(res: Response, description?: string): Promise<void> {
  expect(res.status).toBe(401);
  expect(await res.json()).toEqual({ message: 'Unauthorized' });
  const header = res.headers.get('www-authenticate');
  expect(header).toMatch(/^Bearer/);
  if (description) expect(header).toContain(`error_description="${description}"`);
}

describe('local HTTP API: GET /me behind the JWT authorizer', () => {
  it('answers the caller’s user and groups for a valid token', async () => {
    const res = await me(`Bearer ${await token({ user: 'alice', groups: ['employees', 'approvers'] })}`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ user: 'alice', groups: ['employees', 'approvers'] });
  });

  it('accepts a token from `npm run token` (upman login against the issuer)', async () => {
    const { stdout } = await run(
      process.execPath,
      ['scripts/token.mjs', '--user', 'bob', '--groups', 'finance', '--data-dir', dataDir],
      { cwd: process.cwd() },
    );
    const res = await me(`Bearer ${stdout.trim()}`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ user: 'bob', groups: ['finance'] });
  });

  it('answers 401 without a token', async () => {
    await expectUnauthorized(await me());
  });

  it('answers 401 for an expired token', async () => {
    const issuedAt = Math.floor(Date.now() / 1000) - 7200;
    await expectUnauthorized(
      await me(`Bearer ${await token({ issuedAt, ttlSeconds: 3600 })}`),
      'the token has expired',
    );
  });

  it('answers 401 for a token signed by another key, even under the issuer’s kid', async () => {
    const jwks = (await (await fetch(`${e.issuer}/.well-known/jwks.json`)).json()) as {
      keys: Array<{ kid: string }>;
    };
    const { privateKey } = await generateKeyPair('RS256');
    const now = Math.floor(Date.now() / 1000);
    const forged = await new SignJWT({ groups: ['admins'] })
      .setProtectedHeader({ alg: 'RS256', kid: jwks.keys[0]!.kid })
      .setIssuer(e.jwtIssuer)
      .setAudience(e.audience)
      .setSubject('mallory')
      .setIssuedAt(now)
      .setExpirationTime(now + 600)
      .sign(privateKey);
    await expectUnauthorized(await me(`Bearer ${forged}`), 'the token signature is invalid');
  });

  it('answers 401 for a token with the wrong audience', async () => {
    await expectUnauthorized(
      await me(`Bearer ${await token({ audience: 'some-other-app' })}`),
      'the token does not have a valid audience',
    );
  });

  it('answers 401 for a token from another issuer', async () => {
    await expectUnauthorized(
      await me(`Bearer ${await token({ issuer: 'https://issuer.example.org/elsewhere' })}`),
      'the token does not have a valid issuer',
    );
  });
});

describe('local HTTP API routing', () => {
  it('answers 404 Not Found for a route the template does not have', async () => {
    const res = await fetch(`${e.api}/no/such/route`);
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ message: 'Not Found' });
  });
});
