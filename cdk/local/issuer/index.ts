// The development identity provider (DESIGN §6): an RS256 key pair, its JWKS and OpenID
// discovery document on loopback, and mintToken for demo users. The tokens carry the `iss`
// the template's JWT authorizer expects, so the local API checks them exactly as API Gateway
// would check the organisation's real issuer. The key lives in <dataDir>/issuer/key.json
// (mode 0600), so tokens minted before a restart stay valid.
import { createHash, randomUUID } from 'node:crypto';
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

export const SIGNING_ALG = 'RS256';

export interface LocalIssuerOptions {
  port: number;
  dataDir: string;
  /** The `iss` string of the template's JWT authorizer. */
  issuer: string;
  audience: string[];
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
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    const local = issuerPath && path.startsWith(`${issuerPath}/`) ? path.slice(issuerPath.length) : path;
    if (local === TOKEN_PATH && req.method === 'POST') {
      return void developmentGrant(req, options).then(
        (body) => send(res, 200, body, { 'cache-control': 'no-store' }),
        (error: Error) => send(res, 400, { error: 'invalid_request', error_description: error.message }),
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
        response_types_supported: ['id_token'],
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
        grant_types_supported: [DEVELOPMENT_GRANT],
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

async function developmentGrant(req: IncomingMessage, options: LocalIssuerOptions) {
  let raw = '';
  for await (const chunk of req) {
    raw += chunk;
    if (raw.length > 4096) throw new Error('the request body is too large');
  }
  const form = new URLSearchParams(raw);
  if (form.get('grant_type') !== DEVELOPMENT_GRANT)
    throw new Error(`grant_type must be ${DEVELOPMENT_GRANT}`);
  const ttl = form.get('expires_in');
  const ttlSeconds = ttl === null ? 3600 : Number(ttl);
  const token = await mintToken({
    dataDir: options.dataDir,
    issuer: options.issuer,
    audience: options.audience,
    user: form.get('username') ?? '',
    groups: form.getAll('groups'), // one field per group: a group's name may hold a comma
    ttlSeconds,
  });
  return { access_token: token, id_token: token, token_type: 'Bearer', expires_in: ttlSeconds };
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
