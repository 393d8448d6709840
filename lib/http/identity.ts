// Who is calling (docs/identity.md). Which token claims carry the person's stable key, login
// name, e-mail, display name and groups is configuration (UPMAN_IDENTITY, set by the stack from
// the stage config), with presets for Cognito and generic OIDC. Groups are read as the list the
// token carries: API Gateway's JWT authorizer hands array claims to the function flattened to
// "[a b]", which cannot be decoded exactly ("[Sales admins]" is one group or two), so the
// function reads the payload of the bearer token the authorizer has just verified, after
// checking that it is the same token.
import { z } from 'zod';
import { Forbidden, Unauthorized } from '../errors.js';

export const ROLES = ['employees', 'approvers', 'finance', 'admins', 'auditors'] as const;
export type Role = (typeof ROLES)[number];

export interface Caller {
  /** The person's stable key (the configured key claim): what requests, clients and periods store. */
  user: string;
  /** The upman roles this caller holds, mapped from the token's groups by configured names. */
  groups: string[];
  /** Login name, e-mail and display name as the token states them (the directory keeps them). */
  login?: string;
  email?: string;
  name?: string;
}

const claimName = z.string().min(1).max(128);
const groupNames = z.array(z.string().min(1).max(256)).min(1);

export const IdentityConfigSchema = z
  .object({
    claims: z
      .object({ key: claimName, login: claimName, email: claimName, name: claimName, groups: claimName })
      .strict(),
    /** For each role, the IdP group names that grant it (exact, case-sensitive matches). */
    roleGroups: z
      .object({
        employees: groupNames,
        approvers: groupNames,
        finance: groupNames,
        admins: groupNames,
        auditors: groupNames,
      })
      .strict(),
  })
  .strict();
export type IdentityConfig = z.infer<typeof IdentityConfigSchema>;
export type IdentityClaims = IdentityConfig['claims'];

export const IDENTITY_PRESETS = {
  /** Cognito user pool ID tokens: the username is stable and readable; `sub` is a UUID. */
  cognito: {
    key: 'cognito:username',
    login: 'cognito:username',
    email: 'email',
    name: 'name',
    groups: 'cognito:groups',
  },
  /** Any OIDC provider: `sub` is the only claim the standard makes stable (Entra: override key to `oid`). */
  oidc: { key: 'sub', login: 'preferred_username', email: 'email', name: 'name', groups: 'groups' },
} as const satisfies Record<string, IdentityClaims>;
export type IdentityPreset = keyof typeof IDENTITY_PRESETS;

/** Each role granted by the group of its own name. */
export const DEFAULT_ROLE_GROUPS: IdentityConfig['roleGroups'] = {
  employees: ['employees'],
  approvers: ['approvers'],
  finance: ['finance'],
  admins: ['admins'],
  auditors: ['auditors'],
};

export const IDENTITY_ENV = 'UPMAN_IDENTITY';

/** The identity configuration from the function's environment; the generic OIDC preset when unset. */
export function identityConfigFromEnv(env: Record<string, string | undefined> = process.env): IdentityConfig {
  const raw = env[IDENTITY_ENV];
  if (raw === undefined || raw === '') {
    return { claims: { ...IDENTITY_PRESETS.oidc }, roleGroups: DEFAULT_ROLE_GROUPS };
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new Error(`${IDENTITY_ENV} is not JSON`);
  }
  const result = IdentityConfigSchema.safeParse(parsed);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    throw new Error(`${IDENTITY_ENV}.${issue.path.join('.')}: ${issue.message}`);
  }
  return result.data;
}

/** A claim value as API Gateway's authorizer flattens it: arrays "[a b]", objects "map[k:v]". */
export function flattenClaim(value: unknown): string {
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) return `[${value.map(flattenClaim).join(' ')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) =>
      a < b ? -1 : a > b ? 1 : 0,
    );
    return `map[${entries.map(([k, v]) => `${k}:${flattenClaim(v)}`).join(' ')}]`;
  }
  return String(value);
}

/** Scalar claims every token has that tie the bearer token to the claims the authorizer verified. */
const BINDING_CLAIMS = ['iss', 'sub', 'iat', 'exp', 'jti'];

/**
 * The payload of the bearer token the JWT authorizer verified. The authorizer passes the
 * verified claims (flattened); the token is taken from the Authorization header and must agree
 * with them, so a payload that is not the verified one is refused.
 */
export function verifiedTokenPayload(
  headers: Record<string, string | undefined>,
  verifiedClaims: Record<string, unknown> | undefined,
): Record<string, unknown> {
  if (!verifiedClaims) throw new Unauthorized();
  const header = Object.entries(headers).find(([k]) => k.toLowerCase() === 'authorization')?.[1];
  const token = header?.trim().replace(/^Bearer\s+/i, '');
  const parts = token?.split('.');
  if (!parts || parts.length !== 3) throw new Unauthorized();
  let payload: unknown;
  try {
    payload = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8'));
  } catch {
    throw new Unauthorized();
  }
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) throw new Unauthorized();
  const claims = payload as Record<string, unknown>;
  let bound = 0;
  for (const name of BINDING_CLAIMS) {
    if (verifiedClaims[name] === undefined && claims[name] === undefined) continue;
    if (!sameClaim(claims[name], verifiedClaims[name])) throw new Unauthorized();
    bound++;
  }
  if (bound === 0) throw new Unauthorized();
  return claims;
}

/** Numbers compare by value: the flattened form may be "1700000000" or Go's "1.7e+09". */
function sameClaim(value: unknown, flattened: unknown): boolean {
  if (value === undefined || flattened === undefined) return false;
  if (typeof value === 'number') return Number(flattened) === value;
  return flattenClaim(value) === String(flattened);
}

/** A claim's groups as the token lists them; a single string is one group. Never split. */
export function groupsOf(value: unknown): string[] {
  if (Array.isArray(value)) return value.filter((g): g is string => typeof g === 'string');
  if (typeof value === 'string' && value !== '') return [value];
  return [];
}

export function rolesOf(groups: string[], roleGroups: IdentityConfig['roleGroups']): Role[] {
  return ROLES.filter((role) => roleGroups[role].some((g) => groups.includes(g)));
}

const optionalText = (value: unknown): string | undefined =>
  typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined;

export function callerFromToken(payload: Record<string, unknown>, config: IdentityConfig): Caller {
  const { claims } = config;
  const key = payload[claims.key];
  if (typeof key !== 'string' || key === '') {
    throw new Unauthorized(`The token has no ${claims.key} claim to identify the caller`);
  }
  const login = optionalText(payload[claims.login]);
  const email = optionalText(payload[claims.email]);
  const name = optionalText(payload[claims.name]);
  return {
    user: key,
    groups: rolesOf(groupsOf(payload[claims.groups]), config.roleGroups),
    ...(login ? { login } : {}),
    ...(email ? { email } : {}),
    ...(name ? { name } : {}),
  };
}

export function hasRole(caller: Caller, role: Role): boolean {
  return caller.groups.includes(role);
}

export function requireRole(caller: Caller, ...roles: Role[]): void {
  if (!roles.some((r) => hasRole(caller, r))) {
    throw new Forbidden(`This needs the role ${roles.join(' or ')}`);
  }
}

/** Admins and auditors read everything; auditors never write or decide. */
export const readsEverything = (caller: Caller) => hasRole(caller, 'admins') || hasRole(caller, 'auditors');
