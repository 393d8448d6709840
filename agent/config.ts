// Where the agent finds its settings: flags first, then UPMAN_* environment variables, then the
// local cloud's endpoints file (written by `npm start`), then built-in defaults.
import { existsSync, readFileSync } from 'node:fs';
import { homedir, hostname } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AgentError } from './errors.js';

export interface GlobalOptions {
  api?: string;
  root?: string;
  client?: string;
  json?: boolean;
}

/** What the local cloud writes to <dataDir>/endpoints.json (the fields the CLIs read). */
export interface LocalEndpoints {
  api?: string;
  /** The development issuer's base URL on loopback (its token endpoint is under it). */
  issuer?: string;
  jwtIssuer?: string;
  audience?: string[];
  s3?: string;
  sqs?: string;
  region?: string;
  credentials?: { accessKeyId: string; secretAccessKey: string };
  outputs?: Record<string, Record<string, string>>;
}

/** The endpoints file named by --endpoints, else the local cloud's (findLocalCloud); undefined if none. */
export function loadEndpoints(file: string | undefined): LocalEndpoints | undefined {
  if (!file) return findLocalCloud()?.endpoints;
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as LocalEndpoints;
  } catch (error) {
    throw new AgentError('usage', `Cannot read the endpoints file ${file}: ${(error as Error).message}`);
  }
}

export interface LocalCloud {
  dataDir: string;
  endpoints: LocalEndpoints;
}

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/**
 * The local cloud's data directory: UPMAN_LOCAL_DIR, else ./.local, else the checkout's .local
 * (so `upman` works from any directory on a developer machine). Undefined when none exists.
 */
export function findLocalCloud(env: NodeJS.ProcessEnv = process.env): LocalCloud | undefined {
  const candidates = env.UPMAN_LOCAL_DIR
    ? [resolve(env.UPMAN_LOCAL_DIR)]
    : [resolve('.local'), join(REPO_ROOT, '.local')];
  for (const dataDir of candidates) {
    const file = join(dataDir, 'endpoints.json');
    if (!existsSync(file)) continue;
    try {
      return { dataDir, endpoints: JSON.parse(readFileSync(file, 'utf8')) as LocalEndpoints };
    } catch (error) {
      throw new AgentError('usage', `Cannot read ${file}: ${(error as Error).message}`);
    }
  }
  if (env.UPMAN_LOCAL_DIR) {
    throw new AgentError('usage', `UPMAN_LOCAL_DIR=${env.UPMAN_LOCAL_DIR} holds no endpoints.json`);
  }
  return undefined;
}

/** $XDG_CONFIG_HOME/upman, or ~/.config/upman when the variable is unset or empty. */
export function configDir(env: NodeJS.ProcessEnv = process.env): string {
  const base =
    env.XDG_CONFIG_HOME && env.XDG_CONFIG_HOME !== '' ? env.XDG_CONFIG_HOME : join(homedir(), '.config');
  return join(base, 'upman');
}

export function apiUrl(options: GlobalOptions, env: NodeJS.ProcessEnv = process.env): string {
  const raw = options.api ?? env.UPMAN_API ?? findLocalCloud(env)?.endpoints.api;
  if (!raw) {
    throw new AgentError(
      'usage',
      'No API: pass --api <url>, set UPMAN_API, or start the local cloud (npm start) so .local/endpoints.json exists',
    );
  }
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new AgentError('usage', `--api/UPMAN_API is not a URL: ${raw}`);
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && isLoopback(url.hostname))) {
    throw new AgentError('usage', `--api must be an https URL (plain http only on loopback): ${raw}`);
  }
  return url.href.replace(/\/$/, '');
}

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '[::1]' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

export function installRoot(options: GlobalOptions, env: NodeJS.ProcessEnv = process.env): string {
  const raw = options.root ?? env.UPMAN_ROOT;
  if (!raw) throw new AgentError('usage', 'No install root: pass --root <dir> or set UPMAN_ROOT');
  return resolve(raw);
}

const CLIENT_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** The client id: --client, UPMAN_CLIENT, else the host name (the registry's id rules apply). */
export function clientId(options: GlobalOptions, env: NodeJS.ProcessEnv = process.env): string {
  const id = options.client ?? env.UPMAN_CLIENT ?? hostname();
  if (!CLIENT_ID.test(id)) {
    throw new AgentError(
      'usage',
      `client id ${JSON.stringify(id)} is not valid (1-64 letters, digits, ".", "_", "-"): pass --client <id> or set UPMAN_CLIENT`,
    );
  }
  return id;
}
