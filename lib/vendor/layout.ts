// Where a release lives in the vendor's bucket (DESIGN §5):
//   <software>/manifest.json                      every revision and every artifact
//   <software>/<revision>/full.tar.gz             the whole package
//   <software>/<revision>/delta-from-<r>.zdelta   binary delta from revision r (delta.ts)
// Revisions are positive integers: the vendor's build numbers, so "from r to s" has an order.
import { BadRequest } from '../errors.js';
import { softwareNameOf } from '../registry/validate.js';

export const MANIFEST_FILE = 'manifest.json';
/** The query parameter that binds a key (presigned URL) to its grant: signed, so it cannot be changed,
 * and logged in S3's access-log request-URI, so a download record maps to its grant. */
export const GRANT_QUERY_PARAM = 'x-upman-grant';

export function revisionNumberOf(value: unknown, field = 'revision'): number {
  const n = typeof value === 'string' && /^\d{1,9}$/.test(value) ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 1 || n > 999_999_999) {
    throw new BadRequest(`${field} must be a whole number from 1 to 999999999`, field);
  }
  return n;
}

export const softwareOf = (value: unknown, field = 'software') => softwareNameOf(value, field);

export const manifestKey = (software: string) => `${software}/${MANIFEST_FILE}`;
/** Held while a publish of the software runs (a conditional write creates it). */
export const publishLockKey = (software: string) => `${software}/publish.lock`;
export const fullKey = (software: string, revision: number) => `${software}/${revision}/full.tar.gz`;
export const deltaKey = (software: string, to: number, from: number) =>
  `${software}/${to}/delta-from-${from}.zdelta`;

export interface ArtifactKeyParts {
  software: string;
  kind: 'full' | 'delta';
  to: number;
  from: number | null;
}

const KEY = /^([A-Za-z0-9][A-Za-z0-9._+-]{0,99})\/(\d{1,9})\/(?:full\.tar\.gz|delta-from-(\d{1,9})\.zdelta)$/;

/** Reads an artifact key back (the access-log processor's view of a download); undefined if it is not one. */
export function parseArtifactKey(key: string): ArtifactKeyParts | undefined {
  const m = KEY.exec(key);
  if (!m) return undefined;
  const from = m[3] === undefined ? null : Number(m[3]);
  return { software: m[1]!, kind: from === null ? 'full' : 'delta', to: Number(m[2]), from };
}

/** The vendor site's signed release metadata (TUF, tuf.ts) lives under this prefix. */
export const TUF_PREFIX = 'tuf/';
/**
 * The metadata files a client needs: the top-level roles, and every root after the one it trusts
 * up to the site's current one (it walks them in order, each signed by its predecessor's keys).
 */
export function tufMetadataNames(roots: { trusted: number; current: number }): string[] {
  const newer = Array.from(
    { length: Math.max(0, roots.current - roots.trusted) },
    (_, i) => `${roots.trusted + 1 + i}.root.json`,
  );
  return ['timestamp.json', 'snapshot.json', 'targets.json', ...newer];
}
