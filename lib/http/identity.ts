// Who is calling: the user is the JWT's `sub`, roles are its `groups` (or Cognito's
// `cognito:groups`). API Gateway's JWT authorizer hands array claims to the function as a
// string "[a b]"; both forms are accepted.
import { Forbidden, Unauthorized } from '../errors.js';

export const ROLES = ['employees', 'approvers', 'finance', 'admins'] as const;
export type Role = (typeof ROLES)[number];

export interface Caller {
  user: string;
  groups: string[];
}

export function callerFromClaims(claims: Record<string, unknown> | undefined): Caller {
  const sub = claims?.sub;
  if (typeof sub !== 'string' || sub === '') throw new Unauthorized();
  return { user: sub, groups: parseGroups(claims?.groups ?? claims?.['cognito:groups']) };
}

export function parseGroups(value: unknown): string[] {
  if (Array.isArray(value)) return value.map(String);
  if (typeof value !== 'string' || value.trim() === '') return [];
  const inner = value.trim().replace(/^\[/, '').replace(/\]$/, '');
  return inner
    .split(/[\s,]+/)
    .map((g) => g.trim())
    .filter(Boolean);
}

export function hasRole(caller: Caller, role: Role): boolean {
  return caller.groups.includes(role);
}

export function requireRole(caller: Caller, ...roles: Role[]): void {
  if (!roles.some((r) => hasRole(caller, r))) {
    throw new Forbidden(`This needs the role ${roles.join(' or ')}`);
  }
}
