// Input checks shared by the registry's use cases. Each failure is a 400 naming the field, and
// runs before anything is written.
import { isIP } from 'node:net';
import { isValidUserName } from '../directory.js';
import { BadRequest } from '../errors.js';
import type { Revision } from './model.js';

export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 100;

export const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
export const SOFTWARE_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._+-]{0,99}$/;
// Letters, digits, spaces and a little punctuation; never "#" or control characters (key parts).
export const DEPARTMENT_PATTERN = /^[\p{L}\p{N}][\p{L}\p{N} ._&()/-]{0,63}$/u;
export const REVISION_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
// biome-ignore lint/suspicious/noControlCharactersInRegex: rejecting control characters is the point
export const CONTROL_CHARACTERS = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/;
export const INSTANT_PATTERN = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2}))?$/;

export function requireObject(value: unknown, field = 'body'): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new BadRequest(`${field} must be a JSON object`, field);
  }
  return value as Record<string, unknown>;
}

export function clientIdOf(value: unknown, field = 'clientId'): string {
  if (typeof value !== 'string' || !ID_PATTERN.test(value)) {
    throw new BadRequest(`${field} must be 1-64 letters, digits, ".", "_" or "-"`, field);
  }
  return value;
}

export function softwareNameOf(value: unknown, field = 'name'): string {
  if (typeof value !== 'string' || !SOFTWARE_PATTERN.test(value)) {
    throw new BadRequest(`${field} must be 1-100 letters, digits, ".", "_", "+" or "-"`, field);
  }
  return value;
}

export function userOf(value: unknown, field = 'user'): string {
  if (typeof value !== 'string' || !isValidUserName(value)) {
    throw new BadRequest(`${field} must be a user name (letters, digits, "._@+=:|-")`, field);
  }
  return value;
}

export function departmentOf(value: unknown, field = 'department'): string {
  if (typeof value !== 'string' || !DEPARTMENT_PATTERN.test(value)) {
    throw new BadRequest(`${field} must be 1-64 letters, digits, spaces or ._&()/-`, field);
  }
  return value;
}

export function textOf(value: unknown, field: string, max: number): string {
  if (typeof value !== 'string' || value.trim() === '' || value.length > max) {
    throw new BadRequest(`${field} must be a non-empty string of at most ${max} characters`, field);
  }
  if (CONTROL_CHARACTERS.test(value)) {
    throw new BadRequest(`${field} must not contain control characters`, field);
  }
  return value;
}

export function ipAddressOf(value: unknown, field = 'ipAddress'): string {
  if (typeof value !== 'string' || isIP(value) === 0)
    throw new BadRequest(`${field} must be an IPv4 or IPv6 address`, field);
  return value;
}

export function revisionOf(value: unknown, field = 'revision'): Revision {
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return value;
  if (typeof value === 'string' && REVISION_PATTERN.test(value)) return value;
  throw new BadRequest(
    `${field} must be a non-negative integer or a short token (letters, digits, ._-)`,
    field,
  );
}

/** An ISO-8601 date or date-time with zone, normalised to UTC "YYYY-MM-DDTHH:MM:SS.mmmZ". */
export function instantOf(value: unknown, field: string): string {
  if (typeof value !== 'string' || !INSTANT_PATTERN.test(value) || Number.isNaN(Date.parse(value))) {
    throw new BadRequest(`${field} must be an ISO-8601 date-time such as 2025-04-01T09:00:00Z`, field);
  }
  const iso = new Date(value).toISOString();
  if (!/^\d{4}-/.test(iso)) throw new BadRequest(`${field} is out of range`, field);
  return iso;
}

export function booleanOf(value: unknown, field: string, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value === 'boolean') return value;
  throw new BadRequest(`${field} must be true or false`, field);
}

export function pageSizeOf(value: string | undefined): number {
  if (value === undefined || value === '') return DEFAULT_PAGE_SIZE;
  if (!/^\d{1,6}$/.test(value) || Number(value) < 1 || Number(value) > MAX_PAGE_SIZE) {
    throw new BadRequest(`limit must be an integer from 1 to ${MAX_PAGE_SIZE}`, 'limit');
  }
  return Number(value);
}

export function oneOf<T extends string>(
  value: string | undefined,
  field: string,
  allowed: readonly T[],
  fallback: T,
): T {
  if (value === undefined || value === '') return fallback;
  if (!(allowed as readonly string[]).includes(value)) {
    throw new BadRequest(`${field} must be one of ${allowed.join(', ')}`, field);
  }
  return value as T;
}
