// Signing in. Locally, `upman login --user U` mints a token with the local cloud's development
// issuer. Against AWS, `upman login` runs the OAuth 2.0 device authorization grant (RFC 8628)
// with the organisation's OIDC issuer. Either way the token lands in <configDir>/token.json,
// mode 0600 (the directory 0700), and commands send it as a Bearer token.
import { chmod, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { decodeJwt } from 'jose';
import { configDir, findLocalCloud } from './config.js';
import { AgentError } from './errors.js';

export interface StoredToken {
  token: string;
  user: string;
  groups: string[];
  expiresAt: string;
  /** "local" (development issuer) or the OIDC issuer URL. */
  issuer: string;
}

export const TOKEN_FILE = 'token.json';

/** The local issuer's passwordless grant for demo people (cdk/local/issuer: DEVELOPMENT_GRANT). */
export const LOCAL_DEVELOPMENT_GRANT = 'urn:upman:params:oauth:grant-type:development';

export function describeToken(token: string, issuer: string): StoredToken {
  let claims: ReturnType<typeof decodeJwt>;
  try {
    claims = decodeJwt(token);
  } catch {
    throw new AgentError('not-logged-in', 'The token is not a JWT');
  }
  const groups = claims.groups ?? claims['cognito:groups'];
  const user = typeof claims.sub === 'string' ? claims.sub : '';
  // The login name as the issuer's shape carries it (Cognito, generic OIDC), else `sub`.
  const username = [claims['cognito:username'], claims.preferred_username, claims.username].find(
    (c): c is string => typeof c === 'string',
  );
  return {
    token,
    user: username ?? user,
    groups: Array.isArray(groups) ? groups.map(String) : [],
    expiresAt: new Date((claims.exp ?? 0) * 1000).toISOString(),
    issuer,
  };
}

export async function saveToken(stored: StoredToken, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const dir = configDir(env);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const file = join(dir, TOKEN_FILE);
  const tmp = `${file}.${process.pid}.tmp`;
  // Created 0600 from the start (never readable by others, even briefly), then renamed over.
  await writeFile(tmp, `${JSON.stringify(stored, null, 2)}\n`, { mode: 0o600 });
  await chmod(tmp, 0o600);
  await rename(tmp, file);
  return file;
}

export async function removeToken(env: NodeJS.ProcessEnv = process.env): Promise<boolean> {
  const file = join(configDir(env), TOKEN_FILE);
  try {
    await rm(file);
    return true;
  } catch {
    return false;
  }
}

/** The token to send: UPMAN_TOKEN (scripts), else the stored one; a clear error when absent or expired. */
export async function currentToken(
  env: NodeJS.ProcessEnv = process.env,
  now = new Date(),
): Promise<StoredToken> {
  if (env.UPMAN_TOKEN) return describeToken(env.UPMAN_TOKEN, 'env');
  const file = join(configDir(env), TOKEN_FILE);
  let stored: StoredToken;
  try {
    stored = JSON.parse(await readFile(file, 'utf8')) as StoredToken;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new AgentError('not-logged-in', 'Not logged in: run "upman login" first');
    }
    throw new AgentError(
      'not-logged-in',
      `Cannot read ${file}: ${(error as Error).message}; run "upman login" again`,
    );
  }
  if (typeof stored.token !== 'string') {
    throw new AgentError('not-logged-in', `${file} holds no token: run "upman login" again`);
  }
  if (Date.parse(stored.expiresAt) <= now.getTime()) {
    throw new AgentError(
      'not-logged-in',
      `Your login expired at ${stored.expiresAt}: run "upman login" again`,
    );
  }
  return stored;
}

export interface LocalLoginOptions {
  user: string;
  groups: string[];
  ttlSeconds?: number;
}

/**
 * Gets a token from the local cloud's development issuer, over HTTP: its token endpoint grants
 * any demo person any groups on loopback (docs/local-cloud.md, "How CLIs get a local token").
 * No CLI imports the issuer's code or reads its key.
 */
export async function loginLocal(
  options: LocalLoginOptions,
  env: NodeJS.ProcessEnv = process.env,
  fetchFn: typeof fetch = fetch,
): Promise<StoredToken & { didYouMean?: string[] }> {
  const local = findLocalCloud(env);
  if (!local) {
    throw new AgentError(
      'usage',
      '--user logs in with the local cloud, and none was found (no .local/endpoints.json; set UPMAN_LOCAL_DIR or run npm start). ' +
        'Against AWS, run "upman login --issuer <url> --oidc-client-id <id>" (device flow).',
    );
  }
  const issuer = local.endpoints.issuer;
  if (!issuer) {
    throw new AgentError('usage', `${local.dataDir}/endpoints.json names no issuer: restart the local cloud`);
  }
  const form = new URLSearchParams({
    grant_type: LOCAL_DEVELOPMENT_GRANT,
    username: options.user,
    ...(options.ttlSeconds ? { expires_in: String(options.ttlSeconds) } : {}),
  });
  for (const group of options.groups) form.append('groups', group); // one field each: names may hold commas
  let res: Response;
  try {
    res = await fetchFn(`${issuer.replace(/\/$/, '')}/oauth2/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: form,
    });
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).message;
    throw new AgentError(
      'api-unreachable',
      `The local cloud's issuer at ${issuer} is not answering (${cause}): start the local cloud (npm start) and log in again`,
    );
  }
  const body = (await res.json().catch(() => ({}))) as {
    access_token?: string;
    error_description?: string;
    did_you_mean?: unknown;
  };
  if (!res.ok || typeof body.access_token !== 'string') {
    throw new AgentError(
      'usage',
      `The local issuer refused: ${body.error_description ?? `status ${res.status}`}`,
    );
  }
  const stored = describeToken(body.access_token, 'local');
  // The issuer signs in anyone; a name close to a demo person's is likely a typo.
  const didYouMean = Array.isArray(body.did_you_mean)
    ? body.did_you_mean.filter((n): n is string => typeof n === 'string')
    : [];
  return didYouMean.length > 0 ? { ...stored, didYouMean } : stored;
}

export interface DeviceFlowOptions {
  issuer: string;
  clientId: string;
  scope?: string;
  /** Shows the user where to go and which code to enter. */
  prompt: (info: {
    verificationUri: string;
    verificationUriComplete?: string;
    userCode: string;
    expiresIn: number;
  }) => void;
  fetchFn?: typeof fetch;
  sleep?: (ms: number) => Promise<void>;
}

const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';

/**
 * RFC 8628: ask the issuer for a device code, show the user the verification URL and code, then
 * poll the token endpoint at the interval it asks for (slowing down when told) until the user
 * approves, denies, or the code expires. Returns the access token.
 */
export async function loginDeviceFlow(options: DeviceFlowOptions): Promise<StoredToken> {
  const fetchFn = options.fetchFn ?? fetch;
  const sleep = options.sleep ?? ((ms: number) => new Promise((r) => setTimeout(r, ms)));
  const issuer = options.issuer.replace(/\/$/, '');
  const discovery = await getJson(fetchFn, `${issuer}/.well-known/openid-configuration`);
  const deviceEndpoint = discovery.device_authorization_endpoint;
  const tokenEndpoint = discovery.token_endpoint;
  if (typeof deviceEndpoint !== 'string' || typeof tokenEndpoint !== 'string') {
    throw new AgentError(
      'usage',
      `${issuer} does not offer the device flow (no device_authorization_endpoint in its discovery document)`,
    );
  }
  const scope = options.scope ?? 'openid profile email';
  const device = await postForm(fetchFn, deviceEndpoint, { client_id: options.clientId, scope });
  const { device_code, user_code, verification_uri, verification_uri_complete } = device;
  if (
    typeof device_code !== 'string' ||
    typeof user_code !== 'string' ||
    typeof verification_uri !== 'string'
  ) {
    throw new AgentError(
      'api-error',
      `${deviceEndpoint} answered without device_code/user_code/verification_uri`,
    );
  }
  const expiresIn = typeof device.expires_in === 'number' ? device.expires_in : 600;
  let interval = typeof device.interval === 'number' ? device.interval : 5;
  options.prompt({
    verificationUri: verification_uri,
    ...(typeof verification_uri_complete === 'string'
      ? { verificationUriComplete: verification_uri_complete }
      : {}),
    userCode: user_code,
    expiresIn,
  });
  const deadline = Date.now() + expiresIn * 1000;
  while (Date.now() < deadline) {
    await sleep(interval * 1000);
    const answer = await postForm(
      fetchFn,
      tokenEndpoint,
      { grant_type: DEVICE_GRANT, device_code, client_id: options.clientId },
      true,
    );
    if (typeof answer.access_token === 'string') return describeToken(answer.access_token, issuer);
    switch (answer.error) {
      case 'authorization_pending':
        continue;
      case 'slow_down':
        interval += 5;
        continue;
      case 'access_denied':
        throw new AgentError('not-logged-in', 'The sign-in was denied');
      case 'expired_token':
        throw new AgentError('not-logged-in', 'The sign-in code expired: run "upman login" again');
      default:
        throw new AgentError(
          'api-error',
          `The token endpoint answered ${String(answer.error ?? 'without a token')}: ${String(answer.error_description ?? '')}`,
        );
    }
  }
  throw new AgentError('not-logged-in', 'The sign-in code expired: run "upman login" again');
}

async function getJson(fetchFn: typeof fetch, url: string): Promise<Record<string, unknown>> {
  let res: Response;
  try {
    res = await fetchFn(url, { headers: { accept: 'application/json' } });
  } catch (error) {
    throw new AgentError('api-unreachable', `Cannot reach ${url}: ${(error as Error).message}`);
  }
  if (!res.ok) throw new AgentError('api-error', `${url} answered ${res.status}`);
  return (await res.json()) as Record<string, unknown>;
}

async function postForm(
  fetchFn: typeof fetch,
  url: string,
  form: Record<string, string>,
  errorsAreAnswers = false,
): Promise<Record<string, unknown>> {
  let res: Response;
  try {
    res = await fetchFn(url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: new URLSearchParams(form).toString(),
    });
  } catch (error) {
    throw new AgentError('api-unreachable', `Cannot reach ${url}: ${(error as Error).message}`);
  }
  const body = (await res.json().catch(() => ({}))) as Record<string, unknown>;
  if (!res.ok && !(errorsAreAnswers && res.status === 400 && typeof body.error === 'string')) {
    throw new AgentError(
      'api-error',
      `${url} answered ${res.status}: ${String(body.error_description ?? body.error ?? '')}`,
    );
  }
  return body;
}
