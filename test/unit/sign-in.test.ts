// Signing in from a browser (web/sign-in.ts) against the development issuer's authorize endpoint
// and login page, and the issuer's authorization_code grant with PKCE S256 verification.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type LocalIssuer, startLocalIssuer } from '../../cdk/local/issuer/index.js';
import { memoryStorage } from '../../scripts/workflow-driver.js';
import { beginSignIn, completeSignIn, currentSignIn, type SignInConfig } from '../../web/sign-in.js';

const ISSUER = 'https://issuer.upman.local/dev';
let dataDir: string;
let issuer: LocalIssuer;
let config: SignInConfig;

beforeEach(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'upman-sign-in-'));
  issuer = await startLocalIssuer({ port: 0, dataDir, issuer: ISSUER, audience: ['upman'] });
  config = {
    authorizeUrl: `${issuer.url}/dev/oauth2/authorize`,
    tokenUrl: `${issuer.url}/dev/oauth2/token`,
    clientId: 'upman',
    redirectUri: 'http://127.0.0.1:9/signed-in',
    scope: 'openid',
  };
});
afterEach(async () => {
  await issuer.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

/** The login page answered with a person: the redirect back, as the browser would follow it. */
async function login(authorizeUrl: string, user: string): Promise<string> {
  const url = new URL(authorizeUrl);
  const form = new URLSearchParams(url.searchParams);
  form.set('user', user);
  const res = await fetch(`${url.origin}${url.pathname}`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: form.toString(),
    redirect: 'manual',
  });
  expect(res.status).toBe(302);
  return res.headers.get('location')!;
}

describe('sign-in: authorization code + PKCE as a public client', () => {
  it('the authorize endpoint shows a login page listing the demo people; signing in yields a verifiable ID token', async () => {
    const storage = memoryStorage();
    const authorize = await beginSignIn(config, {
      storage,
      returnTo: 'http://127.0.0.1:9/approvals/a-x?k=s',
    });
    const params = new URL(authorize).searchParams;
    expect(params.get('code_challenge_method')).toBe('S256');
    expect(params.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    // The verifier stays in the browser's storage, never in the URL.
    expect(authorize).not.toContain(JSON.parse(storage.getItem('upman.sign-in.pending')!).verifier);
    const page = await fetch(authorize);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('Okachi Masao');
    expect(html).toContain('name="user" value="okachi"');

    const back = await login(authorize, 'okachi');
    expect(back.startsWith(config.redirectUri)).toBe(true);
    const signedIn = await completeSignIn(config, { url: back, storage });
    expect(signedIn.returnTo).toBe('http://127.0.0.1:9/approvals/a-x?k=s');
    const { payload } = await jwtVerify(signedIn.idToken, createRemoteJWKSet(new URL(issuer.jwksUrl)), {
      issuer: ISSUER,
      audience: 'upman',
    });
    expect(payload).toMatchObject({
      sub: 'okachi',
      preferred_username: 'okachi',
      groups: ['employees', 'approvers'],
    });
    expect(currentSignIn(storage)?.idToken).toBe(signedIn.idToken);
  });

  it('refuses a wrong verifier, a reused code, a foreign redirect URI, a plain challenge and a forged state', async () => {
    const storage = memoryStorage();
    const authorize = await beginSignIn(config, { storage, returnTo: 'x' });
    const code = new URL(await login(authorize, 'ando')).searchParams.get('code')!;
    const exchange = (fields: Record<string, string>) =>
      fetch(config.tokenUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          grant_type: 'authorization_code',
          code,
          client_id: 'upman',
          redirect_uri: config.redirectUri,
          ...fields,
        }).toString(),
      });
    const wrong = await exchange({ code_verifier: 'x'.repeat(43) });
    expect(wrong.status).toBe(400);
    expect(await wrong.json()).toMatchObject({ error: 'invalid_grant' });
    // The code was spent by the failed attempt: the right verifier cannot use it any more.
    const verifier = JSON.parse(storage.getItem('upman.sign-in.pending')!).verifier as string;
    expect((await exchange({ code_verifier: verifier })).status).toBe(400);

    const elsewhere = new URL(authorize);
    elsewhere.searchParams.set('redirect_uri', 'https://attacker.example/cb');
    expect((await fetch(elsewhere)).status).toBe(400);
    const plain = new URL(authorize);
    plain.searchParams.set('code_challenge_method', 'plain');
    expect((await fetch(plain)).status).toBe(400);

    const fresh = await beginSignIn(config, { storage, returnTo: 'x' });
    const back = new URL(await login(fresh, 'ando'));
    back.searchParams.set('state', 'forged');
    await expect(completeSignIn(config, { url: back.href, storage })).rejects.toThrow(/not started here/);
  });
});
