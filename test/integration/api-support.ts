// Helpers for tests that drive the whole HTTP API of the local cloud: tokens per role, a call
// that never throws on a status, the routes of the synthesized template, and a fingerprint of
// the registry table and the queues to prove that a refused request wrote nothing.
import { inject } from 'vitest';
import { mintToken } from '../../cdk/local/issuer/index.js';
import { loadAssembly } from '../../cdk/local/template.js';
import { storeFingerprintOf } from '../fixtures/http-fuzz.js';

export const e = inject('endpoints');
export const dataDir = inject('dataDir');

const tokens = new Map<string, string>();
/** A valid token of the development issuer for `user` in `groups` (cached per pair). */
export async function tokenOf(user: string, groups: string[]): Promise<string> {
  const key = `${user}|${groups.join(',')}`;
  if (!tokens.has(key)) {
    tokens.set(key, await mintToken({ dataDir, issuer: e.jwtIssuer, audience: e.audience, user, groups }));
  }
  return tokens.get(key)!;
}

export interface Answer {
  status: number;
  // biome-ignore lint/suspicious/noExplicitAny: answers are JSON of many shapes; tests check them
  body: any;
}

/** One request; the body is JSON unless `raw` is given (then sent as is, with its type). */
export async function call(
  token: string | undefined,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<Answer> {
  const res = await fetch(`${e.api}${path}`, {
    method,
    headers: {
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...headers,
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    // an HTML page or CSV: kept as text
  }
  return { status: res.status, body: parsed };
}

export interface TemplateRoute {
  method: string;
  path: string;
  /** JWT for routes behind the authorizer, NONE for public ones. */
  authorization: string;
}

/** Every route of the synthesized app, as API Gateway would serve it. */
export function templateRoutes(assemblyDir = 'cdk.out'): TemplateRoute[] {
  const routes: TemplateRoute[] = [];
  for (const stack of loadAssembly(assemblyDir)) {
    for (const resource of Object.values(stack.template.Resources ?? {})) {
      if (resource.Type !== 'AWS::ApiGatewayV2::Route') continue;
      const props = resource.Properties as { RouteKey: string; AuthorizationType?: string };
      const [method, path] = props.RouteKey.split(' ') as [string, string];
      routes.push({ method, path, authorization: props.AuthorizationType ?? 'NONE' });
    }
  }
  return routes.sort((a, b) => `${a.path} ${a.method}`.localeCompare(`${b.path} ${b.method}`));
}

/** A digest of the app's table and queues (test/fixtures/http-fuzz.ts). */
export const storeFingerprint = () => storeFingerprintOf(e);
