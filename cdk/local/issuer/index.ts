// The development identity provider (DESIGN §6): an RS256 key pair, its JWKS and OpenID
// discovery document on loopback, and mintToken for demo users. The tokens carry the `iss`
// the template's JWT authorizer expects, so the local API checks them exactly as API Gateway
// would check the organisation's real issuer. The key lives in <dataDir>/issuer/key.json
// (mode 0600), so tokens minted before a restart stay valid.
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import {
  chmodSync,
  existsSync,
  linkSync,
  mkdirSync,
  readFileSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, type JWK, SignJWT } from 'jose';
import { isValidUserName } from '../../../lib/directory.js';
import { DEMO_APPROVERS, DEMO_PEOPLE } from '../../../lib/registry/seed.js';
import { closestNames } from '../../../lib/suggest.js';

export const SIGNING_ALG = 'RS256';

export interface LocalIssuerOptions {
  port: number;
  dataDir: string;
  /** The `iss` string of the template's JWT authorizer. */
  issuer: string;
  audience: string[];
  /** The claims' shape of the tokens its login page issues (the stage's identity preset); default oidc. */
  shape?: TokenShape;
}

export interface LocalIssuer {
  /** Base URL of the issuer on loopback. */
  url: string;
  jwksUrl: string;
  stop(): Promise<void>;
}

export interface MintTokenOptions {
  dataDir: string;
  /** The `iss` claim: the template's JWT authorizer issuer. */
  issuer: string;
  audience: string | string[];
  user: string;
  groups: string[];
  ttlSeconds?: number;
  /** Issue time in epoch seconds (tests use it for expired tokens); default now. */
  issuedAt?: number;
  /**
   * The claims' shape: `oidc` (sub = the user, preferred_username, groups) or `cognito` (an ID
   * token: sub a UUID, cognito:username = the user, cognito:groups). Default oidc.
   */
  shape?: TokenShape;
  /** `sub` of an OIDC-shaped token when it is not the user (an opaque id, as most IdPs issue). */
  subject?: string;
  /** The e-mail claim; default user@upman.example. */
  email?: string;
  /** The display name claim (`name`); none by default. */
  name?: string;
}

export type TokenShape = 'oidc' | 'cognito';

// Any printable name, spaces, commas and brackets included: IdPs allow them, and tests need them.
const isGroupName = (group: string) =>
  group.length >= 1 && group.length <= 128 && [...group].every((c) => c >= ' ' && c !== '\u007f');
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi'];

export function keyFile(dataDir: string): string {
  return join(dataDir, 'issuer', 'key.json');
}

/** The issuer's private key (a JWK with kid and alg), created on first use. */
export async function loadOrCreateSigningKey(dataDir: string): Promise<JWK> {
  const file = keyFile(dataDir);
  if (existsSync(file)) return readSigningKey(file);
  mkdirSync(join(dataDir, 'issuer'), { recursive: true, mode: 0o700 });
  const { privateKey } = await generateKeyPair(SIGNING_ALG, { extractable: true });
  const jwk = await exportJWK(privateKey);
  const kid = await calculateJwkThumbprint(jwk);
  const tmp = `${file}.${process.pid}.${randomUUID()}`;
  writeFileSync(tmp, `${JSON.stringify({ ...jwk, kid, alg: SIGNING_ALG, use: 'sig' })}\n`, { mode: 0o600 });
  try {
    // link() fails if another process created the key meanwhile: then theirs wins.
    linkSync(tmp, file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  } finally {
    unlinkSync(tmp);
  }
  return readSigningKey(file);
}

/** The issuer's existing private key; a clear error when the issuer has never run. */
export function loadSigningKey(dataDir: string): JWK {
  const file = keyFile(dataDir);
  if (!existsSync(file)) {
    throw new Error(`No issuer key at ${file}: start the local cloud (npm start) once first`);
  }
  return readSigningKey(file);
}

function readSigningKey(file: string): JWK {
  // The private key must stay private even if someone loosened the mode.
  if ((statSync(file).mode & 0o077) !== 0) chmodSync(file, 0o600);
  let jwk: JWK;
  try {
    jwk = JSON.parse(readFileSync(file, 'utf8')) as JWK;
  } catch (error) {
    throw new Error(`${file} is not valid JSON: ${(error as Error).message}`);
  }
  if (jwk.kty !== 'RSA' || !jwk.d || !jwk.kid)
    throw new Error(`${file} does not hold an RSA private JWK with a kid`);
  return jwk;
}

export function publicJwk(privateJwk: JWK): JWK {
  const pub: Record<string, unknown> = { ...privateJwk };
  for (const member of PRIVATE_MEMBERS) delete pub[member];
  return pub as JWK;
}

/** A stable UUID for a user, as a Cognito pool assigns one `sub` per user. */
export function cognitoSubOf(user: string): string {
  const h = createHash('sha256').update(`upman-cognito-sub\n${user}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** The claims of a token for a demo user, in the shape of Cognito's ID tokens or a generic OIDC provider's. */
export function shapedClaims(options: MintTokenOptions): { sub: string; claims: Record<string, unknown> } {
  const { user, groups } = options;
  // The demo people's addresses (the demo seed's directory has the same ones).
  const email = options.email ?? `${user.toLowerCase()}@upman.example`;
  const name = options.name ? { name: options.name } : {};
  if (options.shape === 'cognito') {
    return {
      sub: cognitoSubOf(user),
      claims: { 'cognito:username': user, 'cognito:groups': groups, email, ...name, token_use: 'id' },
    };
  }
  return {
    sub: options.subject ?? user,
    claims: { preferred_username: user, email, ...name, groups },
  };
}

/** Signs a token for a demo user (shapedClaims), groups as an array claim. */
export async function mintToken(options: MintTokenOptions): Promise<string> {
  const { user, groups, ttlSeconds = 3600 } = options;
  if (!isValidUserName(user)) throw new Error(`user: not a user name: ${JSON.stringify(user)}`);
  for (const group of groups) {
    if (!isGroupName(group)) throw new Error(`groups: not a group name: ${JSON.stringify(group)}`);
  }
  if (!Number.isInteger(ttlSeconds) || ttlSeconds < 1 || ttlSeconds > 7 * 24 * 3600) {
    throw new Error('ttlSeconds: must be a whole number of seconds from 1 to 604800');
  }
  const audience = Array.isArray(options.audience) ? options.audience : [options.audience];
  if (audience.length === 0 || audience.some((a) => a === ''))
    throw new Error('audience: must name an audience');
  const jwk = loadSigningKey(options.dataDir);
  const key = await importJWK(jwk, SIGNING_ALG);
  const iat = options.issuedAt ?? Math.floor(Date.now() / 1000);
  const { sub, claims } = shapedClaims(options);
  return new SignJWT(claims)
    .setProtectedHeader({ alg: SIGNING_ALG, kid: jwk.kid!, typ: 'JWT' })
    .setIssuer(options.issuer)
    .setSubject(sub)
    .setAudience(audience.length === 1 ? audience[0]! : audience)
    .setIssuedAt(iat)
    .setNotBefore(iat)
    .setExpirationTime(iat + ttlSeconds)
    .setJti(randomUUID())
    .sign(key);
}

export async function startLocalIssuer(options: LocalIssuerOptions): Promise<LocalIssuer> {
  const jwk = await loadOrCreateSigningKey(options.dataDir);
  const jwks = JSON.stringify({ keys: [publicJwk(jwk)] });
  // Discovery is served at the root and under the issuer's own path (…/dev/.well-known/…), so
  // either "local base URL" or "base URL + issuer path" works as the issuer location.
  const issuerPath = new URL(options.issuer).pathname.replace(/\/$/, '');
  let url = '';
  const codes = new Map<string, AuthorizationCode>();
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    const local = issuerPath && path.startsWith(`${issuerPath}/`) ? path.slice(issuerPath.length) : path;
    if (local === TOKEN_PATH && req.method === 'OPTIONS') {
      // A browser's preflight: the sign-in page exchanges its code from the API's origin.
      return send(res, 204, '', { ...TOKEN_CORS, 'access-control-allow-methods': 'POST' });
    }
    if (local === TOKEN_PATH && req.method === 'POST') {
      return void tokenGrant(req, options, codes).then(
        (body) => send(res, 200, body, { 'cache-control': 'no-store', ...TOKEN_CORS }),
        (error: Error) =>
          send(
            res,
            400,
            {
              error: error.name === 'InvalidGrant' ? 'invalid_grant' : 'invalid_request',
              error_description: error.message,
            },
            TOKEN_CORS,
          ),
      );
    }
    if (local === AUTHORIZE_PATH && (req.method === 'GET' || req.method === 'POST')) {
      return void authorize(req, options, codes).then(
        (answer) =>
          answer.redirect
            ? send(res, 302, '', { location: answer.redirect, 'cache-control': 'no-store' })
            : send(res, 200, answer.page, LOGIN_PAGE_HEADERS),
        (error: Error) =>
          send(
            res,
            400,
            loginPage(`<p>${escapeHtml(error.message)}</p>`, 'Sign-in refused'),
            LOGIN_PAGE_HEADERS,
          ),
      );
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      return send(res, 405, { message: 'Method Not Allowed' }, { allow: 'GET, HEAD' });
    }
    if (local === '/.well-known/jwks.json') {
      return send(res, 200, jwks, {
        'content-type': 'application/jwk-set+json',
        'cache-control': 'max-age=300',
      });
    }
    if (local === '/.well-known/openid-configuration') {
      return send(res, 200, {
        issuer: options.issuer,
        jwks_uri: `${url}/.well-known/jwks.json`,
        response_types_supported: ['code', 'id_token'],
        subject_types_supported: ['public'],
        id_token_signing_alg_values_supported: [SIGNING_ALG],
        claims_supported: [
          'sub',
          'iss',
          'aud',
          'exp',
          'iat',
          'nbf',
          'jti',
          'email',
          'name',
          'preferred_username',
          'groups',
          'cognito:username',
          'cognito:groups',
        ],
        token_endpoint: `${url}${TOKEN_PATH}`,
        authorization_endpoint: `${url}${AUTHORIZE_PATH}`,
        code_challenge_methods_supported: ['S256'],
        grant_types_supported: [DEVELOPMENT_GRANT, 'authorization_code'],
        audiences: options.audience,
      });
    }
    send(res, 404, { message: 'Not Found' });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, '127.0.0.1', () => resolve());
  });
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    jwksUrl: `${url}/.well-known/jwks.json`,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/**
 * The development grant: any demo person with any groups, no password, on loopback only. This is
 * how every CLI gets a local token (`upman login --user <name> --groups <g>`, docs/local-cloud.md):
 * over HTTP like a real issuer's token endpoint, so no CLI imports this module.
 */
export const TOKEN_PATH = '/oauth2/token';
export const DEVELOPMENT_GRANT = 'urn:upman:params:oauth:grant-type:development';

async function formOf(req: IncomingMessage): Promise<URLSearchParams> {
  let raw = '';
  for await (const chunk of req) {
    raw += chunk;
    if (raw.length > 4096) throw new Error('the request body is too large');
  }
  return new URLSearchParams(raw);
}

async function tokenGrant(
  req: IncomingMessage,
  options: LocalIssuerOptions,
  codes: Map<string, AuthorizationCode>,
) {
  const form = await formOf(req);
  if (form.get('grant_type') === 'authorization_code') return codeGrant(form, options, codes);
  if (form.get('grant_type') !== DEVELOPMENT_GRANT)
    throw new Error(`grant_type must be authorization_code or ${DEVELOPMENT_GRANT}`);
  const ttl = form.get('expires_in');
  const ttlSeconds = ttl === null ? 3600 : Number(ttl);
  const user = form.get('username') ?? '';
  const token = await mintToken({
    dataDir: options.dataDir,
    issuer: options.issuer,
    audience: options.audience,
    user,
    groups: form.getAll('groups'), // one field per group: a group's name may hold a comma
    ttlSeconds,
  });
  // Anyone may sign in here (tests make people up), but a typo of a demo person's name would
  // silently make a new person: the answer says whom it may have meant.
  const demoKeys = DEMO_PEOPLE.map((p) => p.key);
  const didYouMean = demoKeys.includes(user) ? [] : closestNames(user, demoKeys);
  return {
    access_token: token,
    id_token: token,
    token_type: 'Bearer',
    expires_in: ttlSeconds,
    ...(didYouMean.length > 0 ? { did_you_mean: didYouMean } : {}),
  };
}

function send(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(res.req.method === 'HEAD' ? undefined : text);
}

// ---- Sign-in as a public browser client: authorization code + PKCE (S256) ----
// The organisation's IdP does this with passwords and MFA; here the login page lists the demo
// people (and takes any other name), as docs/identity.md describes. Codes live a minute, once.

export const AUTHORIZE_PATH = '/oauth2/authorize';
const CODE_SECONDS = 60;
const TOKEN_CORS = { 'access-control-allow-origin': '*', 'access-control-allow-headers': 'content-type' };
const LOGIN_PAGE_HEADERS = {
  'content-type': 'text/html; charset=utf-8',
  'cache-control': 'no-store',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'content-security-policy':
    "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'",
};

interface AuthorizationCode {
  user: string;
  /** The token's claims shape and `sub`/e-mail, as the development grant takes them (tests of other IdP shapes). */
  claims: Pick<MintTokenOptions, 'shape' | 'subject' | 'email'>;
  clientId: string;
  redirectUri: string;
  challenge: string;
  expiresAt: number;
}

class InvalidGrant extends Error {
  override name = 'InvalidGrant';
}

const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** The demo people's groups: approvers of Fig. 4 approve, everyone is an employee. */
function groupsOf(user: string): string[] {
  return DEMO_APPROVERS.some(([, approver]) => approver === user)
    ? ['employees', 'approvers']
    : ['employees'];
}

/** The authorization request's parameters, checked before anything is shown or redirected. */
function authorizationRequest(params: URLSearchParams, options: LocalIssuerOptions) {
  const get = (name: string) => params.get(name) ?? '';
  if (get('response_type') !== 'code') throw new Error('response_type must be code');
  const clientId = get('client_id');
  if (!options.audience.includes(clientId)) throw new Error('client_id is not a client of this issuer');
  const redirectUri = get('redirect_uri');
  let redirect: URL;
  try {
    redirect = new URL(redirectUri);
  } catch {
    throw new Error('redirect_uri must be a URL');
  }
  // The development issuer hands codes to this machine only.
  if (!['127.0.0.1', 'localhost', '[::1]'].includes(redirect.hostname) || redirect.hash) {
    throw new Error('redirect_uri must be a loopback URL without a fragment');
  }
  if (get('code_challenge_method') !== 'S256') throw new Error('code_challenge_method must be S256');
  const challenge = get('code_challenge');
  if (!/^[A-Za-z0-9_-]{43}$/.test(challenge)) throw new Error('code_challenge must be a base64url SHA-256');
  const state = get('state');
  if (state.length > 512) throw new Error('state is too long');
  return { clientId, redirectUri, challenge, state };
}

async function authorize(
  req: IncomingMessage,
  options: LocalIssuerOptions,
  codes: Map<string, AuthorizationCode>,
): Promise<{ redirect?: string; page: string }> {
  const params =
    req.method === 'POST' ? await formOf(req) : new URL(req.url ?? '/', 'http://localhost').searchParams;
  const request = authorizationRequest(params, options);
  const user = (params.get('user') || params.get('other') || '').trim();
  if (req.method === 'GET' || user === '') {
    const hidden = [
      'response_type',
      'client_id',
      'redirect_uri',
      'code_challenge',
      'code_challenge_method',
      'state',
    ]
      .map((n) => `<input type="hidden" name="${n}" value="${escapeHtml(params.get(n) ?? '')}">`)
      .join('');
    const people = DEMO_PEOPLE.map(
      (p) =>
        `<li><button type="submit" name="user" value="${escapeHtml(p.key)}">${escapeHtml(p.name)}</button> <small>${escapeHtml(p.key)}, ${escapeHtml(groupsOf(p.key).join(', '))}</small></li>`,
    ).join('');
    return {
      page: loginPage(
        `<p>Development sign-in: choose who you are. No password: this issuer runs on this machine only.</p>
<form method="post"><ul>${people}</ul>${hidden}
<p><label>Someone else (user name): <input name="other" maxlength="128"></label> <button type="submit">Sign in</button></p></form>`,
        'Sign in to upman (local)',
      ),
    };
  }
  if (!isValidUserName(user)) throw new Error('user: not a user name');
  const code = randomBytes(32).toString('base64url');
  for (const [c, entry] of codes) if (entry.expiresAt < Date.now()) codes.delete(c);
  const shape = params.get('shape') ?? options.shape ?? 'oidc';
  if (shape !== 'oidc' && shape !== 'cognito') throw new Error('shape must be oidc or cognito');
  const subject = params.get('subject');
  const email = params.get('email');
  const claims = { shape, ...(subject ? { subject } : {}), ...(email !== null ? { email } : {}) } as const;
  codes.set(code, { user, claims, ...request, expiresAt: Date.now() + CODE_SECONDS * 1000 });
  const back = new URL(request.redirectUri);
  back.searchParams.set('code', code);
  if (request.state) back.searchParams.set('state', request.state);
  return { redirect: back.href, page: '' };
}

async function codeGrant(
  form: URLSearchParams,
  options: LocalIssuerOptions,
  codes: Map<string, AuthorizationCode>,
) {
  const code = form.get('code') ?? '';
  const entry = codes.get(code);
  // Once only, whatever happens next.
  codes.delete(code);
  if (!entry || entry.expiresAt < Date.now()) throw new InvalidGrant('the code is unknown, used or expired');
  if (form.get('client_id') !== entry.clientId)
    throw new InvalidGrant('client_id is not the one the code was issued to');
  if (form.get('redirect_uri') !== entry.redirectUri)
    throw new InvalidGrant('redirect_uri differs from the authorization request');
  const verifier = form.get('code_verifier') ?? '';
  if (!/^[A-Za-z0-9._~-]{43,128}$/.test(verifier))
    throw new InvalidGrant('code_verifier must be 43–128 characters');
  if (createHash('sha256').update(verifier).digest('base64url') !== entry.challenge) {
    throw new InvalidGrant('code_verifier does not match the code_challenge');
  }
  const ttlSeconds = 3600;
  const token = await mintToken({
    dataDir: options.dataDir,
    issuer: options.issuer,
    audience: entry.clientId,
    user: entry.user,
    groups: groupsOf(entry.user),
    ttlSeconds,
    ...entry.claims,
  });
  return { id_token: token, access_token: token, token_type: 'Bearer', expires_in: ttlSeconds };
}

function loginPage(body: string, title: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title></head>
<body style="font-family:system-ui,sans-serif;max-width:40rem;margin:2rem auto"><h1>${escapeHtml(title)}</h1>${body}</body></html>`;
}
