// Licences the organisation already owns, per software (and per version where licences are
// version-bound). A request a spare licence covers costs nothing and skips finance; the
// licence is taken in the same transaction as the request, on the condition `taken < owned`,
// so two requests never take the same one. Rejection, expiry and failure give it back.
import { BadRequest } from '../errors.js';
import { type Caller, requireRole } from '../http/identity.js';
import { requireObject, softwareNameOf } from '../registry/validate.js';
import { parseVersion } from '../registry/version.js';
import type { Clock } from './ports.js';

/** `version` "*": licences of any version; otherwise bound to that version. */
export interface LicencePool {
  software: string;
  version: string;
  owned: number;
  taken: number;
}

export const ANY_VERSION = '*';

export const spareOf = (p: LicencePool) => Math.max(0, p.owned - p.taken);

/** What a request holds of a pool (on the request's partition). */
export interface LicenceHold {
  requestId: string;
  software: string;
  version: string;
}

export interface LicenceStore {
  pools(software: string): Promise<LicencePool[]>;
  setOwned(software: string, version: string, owned: number, by: string, at: string): Promise<LicencePool>;
  /** Gives the request's licence back; false when it holds none still taken. */
  release(requestId: string, at: string): Promise<boolean>;
}

/** The pool a request for `targetVersion` takes from: its version's own, else any version's. */
export function poolFor(pools: LicencePool[], targetVersion: string): LicencePool | undefined {
  const bound = pools.find((p) => p.version === targetVersion && spareOf(p) > 0);
  return bound ?? pools.find((p) => p.version === ANY_VERSION && spareOf(p) > 0);
}

/** Spare licences that would cover `targetVersion` (the forecast subtracts them). */
export function spareFor(pools: LicencePool[], targetVersion: string): number {
  return pools
    .filter((p) => p.version === targetVersion || p.version === ANY_VERSION)
    .reduce((n, p) => n + spareOf(p), 0);
}

const view = (p: LicencePool) => ({ version: p.version, owned: p.owned, taken: p.taken, spare: spareOf(p) });

/** PUT /software/{name}/licences {owned, version?}: how many licences the organisation owns. */
export async function setOwnedLicences(
  ports: { licences: LicenceStore; clock: Clock },
  caller: Caller,
  nameParam: string,
  body: unknown,
) {
  requireRole(caller, 'admins', 'finance');
  const software = softwareNameOf(nameParam, 'name');
  const b = requireObject(body);
  if (typeof b.owned !== 'number' || !Number.isInteger(b.owned) || b.owned < 0 || b.owned > 10_000_000) {
    throw new BadRequest('owned must be a whole number from 0 to 10000000', 'owned');
  }
  const version =
    b.version === undefined || b.version === null ? ANY_VERSION : parseVersion(b.version, 'version');
  const pool = await ports.licences.setOwned(
    software,
    version,
    b.owned,
    caller.user,
    ports.clock.now().toISOString(),
  );
  return { software, ...view(pool) };
}

/** GET /software/{name}/licences: every pool with what is taken and spare. */
export async function listLicences(ports: { licences: LicenceStore }, caller: Caller, nameParam: string) {
  requireRole(caller, 'admins', 'finance');
  const software = softwareNameOf(nameParam, 'name');
  return { software, pools: (await ports.licences.pools(software)).map(view) };
}
