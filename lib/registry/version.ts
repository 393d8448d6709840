// Versions compare as versions, not as strings: 1.10 > 1.9, and 1.10 == 1.10.0. A version is
// 1–6 dot-separated numbers of up to 9 digits each; anything else is malformed.
import { BadRequest } from '../errors.js';

const VERSION = /^\d{1,9}(\.\d{1,9}){0,5}$/;
const WIDTH = 9;

export function isVersion(value: unknown): value is string {
  return typeof value === 'string' && VERSION.test(value);
}

/** The version's numbers without trailing zeros (1.10.0 → [1, 10]); at least one number. */
export function versionParts(version: string): number[] {
  if (!isVersion(version)) throw new BadRequest(`Not a version: ${JSON.stringify(version)}`, 'version');
  const parts = version.split('.').map(Number);
  while (parts.length > 1 && parts[parts.length - 1] === 0) parts.pop();
  return parts;
}

export function compareVersions(a: string, b: string): number {
  const x = versionParts(a);
  const y = versionParts(b);
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const d = (x[i] ?? 0) - (y[i] ?? 0);
    if (d !== 0) return d < 0 ? -1 : 1;
  }
  return 0;
}

/**
 * A string whose byte order is the version order, for sort keys: each number zero-padded to
 * nine digits, joined by "." (1.10 → "000000001.000000010"). A shorter key that is a prefix of
 * a longer one is the smaller version, and "#" (the key separator) sorts before ".", so
 * "<key>#<clientId>" keeps that order too.
 */
export function versionKey(version: string): string {
  return versionParts(version)
    .map((n) => String(n).padStart(WIDTH, '0'))
    .join('.');
}

/** Parses a version from input, naming the field when it is malformed. */
export function parseVersion(value: unknown, field: string): string {
  if (!isVersion(value)) {
    throw new BadRequest(`${field} must be a version like 1.10 or 2.0.3 (numbers separated by dots)`, field);
  }
  return value;
}
