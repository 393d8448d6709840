// Use cases on software: the catalog, "who has X" and the licence forecast.
import { BadRequest, NotFound } from '../errors.js';
import { type Caller, requireRole } from '../http/identity.js';
import type { InstallationSort, RegistryStore } from '../ports/registry.js';
import { type ClientPorts, cursorOf, type Listing } from './clients.js';
import type { CatalogEntry, Installation, LicenceModel } from './model.js';
import { oneOf, pageSizeOf, requireObject, revisionOf, softwareNameOf, textOf } from './validate.js';
import { compareVersions, parseVersion } from './version.js';

export const INSTALLATION_SORTS: readonly InstallationSort[] = ['user', 'department', 'version'];

/** Accepts "per-user"/"per-client" and the obvious spellings ("per user", "perUser", "user"). */
export function licenceModelOf(value: unknown): LicenceModel {
  const v = typeof value === 'string' ? value.toLowerCase().replace(/[\s_-]/g, '') : '';
  if (v === 'peruser' || v === 'user') return 'per-user';
  if (v === 'perclient' || v === 'client' || v === 'perdevice' || v === 'device') return 'per-client';
  throw new BadRequest('licenceModel must be per-user or per-client', 'licenceModel');
}

export function parseCatalogBody(name: string, body: unknown, at: string): CatalogEntry {
  const b = requireObject(body);
  const price = b.licencePrice;
  if (typeof price !== 'number' || !Number.isFinite(price) || price < 0 || price > 1e9) {
    throw new BadRequest('licencePrice must be a number from 0 to 1e9', 'licencePrice');
  }
  return {
    name,
    vendor: textOf(b.vendor, 'vendor', 128),
    latestVersion: parseVersion(b.latestVersion, 'latestVersion'),
    latestRevision: revisionOf(b.latestRevision, 'latestRevision'),
    licencePrice: price,
    licenceModel: licenceModelOf(b.licenceModel),
    updatedAt: at,
  };
}

/** PUT /software/{name}: admins register or update a catalog entry. */
export async function putSoftware(ports: ClientPorts, caller: Caller, nameParam: string, body: unknown) {
  requireRole(caller, 'admins');
  const name = softwareNameOf(nameParam);
  const entry = parseCatalogBody(name, body, (ports.now?.() ?? new Date()).toISOString());
  const previous = await ports.store.getSoftware(name);
  await ports.store.putSoftware(entry);
  return { entry, created: previous === undefined };
}

export async function getSoftware(ports: ClientPorts, nameParam: string): Promise<CatalogEntry> {
  const name = softwareNameOf(nameParam);
  const entry = await ports.store.getSoftware(name);
  if (!entry) throw new NotFound(`No software ${name} in the catalog`, 'name');
  return entry;
}

/** GET /software: any signed-in user may read the catalog, in name order. */
export async function listSoftware(
  ports: ClientPorts,
  query: Record<string, string>,
): Promise<Listing<CatalogEntry>> {
  const key = 'catalog';
  const page = await ports.store.listSoftware({
    limit: pageSizeOf(query.limit),
    after: ports.cursors.decode(key, query.cursor),
  });
  return { items: page.items, ...cursorOf(ports, key, page.next) };
}

export function versionRangeOf(query: Record<string, string>) {
  const minVersion = query.minVersion ? parseVersion(query.minVersion, 'minVersion') : undefined;
  const maxVersion = query.maxVersion ? parseVersion(query.maxVersion, 'maxVersion') : undefined;
  if (minVersion && maxVersion && compareVersions(minVersion, maxVersion) > 0) {
    throw new BadRequest('minVersion is above maxVersion', 'minVersion');
  }
  return { ...(minVersion ? { minVersion } : {}), ...(maxVersion ? { maxVersion } : {}) };
}

/**
 * GET /software/{name}/installations: who has X and on which clients, sorted by user (default),
 * department or version, optionally within [minVersion, maxVersion]. Admins only: it names
 * other people's machines.
 */
export async function whoHas(
  ports: ClientPorts,
  caller: Caller,
  nameParam: string,
  query: Record<string, string>,
): Promise<Listing<Installation>> {
  requireRole(caller, 'admins', 'auditors');
  const entry = await getSoftware(ports, nameParam);
  const sort = oneOf(query.sort, 'sort', INSTALLATION_SORTS, 'user');
  const range = versionRangeOf(query);
  const limit = pageSizeOf(query.limit);
  const key = `installations|${entry.name}|${sort}|${range.minVersion ?? ''}|${range.maxVersion ?? ''}`;
  const page = await ports.store.installationsOfSoftware({
    software: entry.name,
    sort,
    ...range,
    limit,
    after: ports.cursors.decode(key, query.cursor),
  });
  return { items: page.items, ...cursorOf(ports, key, page.next) };
}

export interface Forecast {
  software: string;
  targetVersion: string;
  licenceModel: LicenceModel;
  licencePrice: number;
  /** Licences to buy: units (users or clients, per the model) below the target or asking for it. */
  licencesNeeded: number;
  estimatedCost: number;
  /** Installations below the target version, and the licence units they make up. */
  installationsBelowTarget: number;
  unitsBelowTarget: number;
  /** Requests for the target version still waiting for budget, approval or download. */
  requestsInFlight: number;
  /** Units that only the requests add (not already counted in the installed base). */
  additionalUnitsFromRequests: number;
  /** Owned licences not yet taken that cover the target version; they need not be bought. */
  spareLicences: number;
  /** licencesNeeded − spareLicences (never below 0); estimatedCost prices these. */
  licencesToBuy: number;
  /** Where the units are: licences needed per department, by name. */
  byDepartment: Array<{ department: string; licencesNeeded: number }>;
}

/**
 * GET /software/{name}/forecast?targetVersion=V (admins, finance). A unit is a user (per-user
 * licences) or a client (per-client); a unit is counted once even when it both runs an old
 * version and has a request in flight.
 */
export async function forecast(
  ports: ClientPorts & { spareLicences?: (software: string, version: string) => Promise<number> },
  caller: Caller,
  nameParam: string,
  query: Record<string, string>,
): Promise<Forecast> {
  requireRole(caller, 'admins', 'finance', 'auditors');
  const entry = await getSoftware(ports, nameParam);
  if (!query.targetVersion) throw new BadRequest('targetVersion is required', 'targetVersion');
  const targetVersion = parseVersion(query.targetVersion, 'targetVersion');
  const spare = ports.spareLicences ? await ports.spareLicences(entry.name, targetVersion) : 0;
  return computeForecast(ports.store, entry, targetVersion, spare);
}

export async function computeForecast(
  store: RegistryStore,
  entry: CatalogEntry,
  targetVersion: string,
  spareLicences = 0,
): Promise<Forecast> {
  const [below, requests] = await Promise.all([
    store.installationsBelow(entry.name, targetVersion),
    store.requestsInFlight(entry.name, targetVersion),
  ]);
  const unitOf = (x: { clientId: string; user: string }) =>
    entry.licenceModel === 'per-user' ? x.user : x.clientId;
  // Each unit counts once, in the department it was first seen in.
  const departmentOfUnit = new Map<string, string>();
  for (const b of below) {
    const unit = unitOf(b);
    if (!departmentOfUnit.has(unit)) departmentOfUnit.set(unit, b.department ?? '(unknown)');
  }
  const unitsBelowTarget = departmentOfUnit.size;
  for (const r of requests) {
    const unit = unitOf({ clientId: r.clientId, user: r.requester });
    if (!departmentOfUnit.has(unit)) departmentOfUnit.set(unit, r.department ?? '(unknown)');
  }
  const needed = departmentOfUnit.size;
  const perDepartment = new Map<string, number>();
  for (const d of departmentOfUnit.values()) perDepartment.set(d, (perDepartment.get(d) ?? 0) + 1);
  const licencesToBuy = Math.max(0, needed - spareLicences);
  return {
    software: entry.name,
    targetVersion,
    licenceModel: entry.licenceModel,
    licencePrice: entry.licencePrice,
    licencesNeeded: needed,
    estimatedCost: Math.round(licencesToBuy * entry.licencePrice * 100) / 100,
    installationsBelowTarget: below.length,
    unitsBelowTarget,
    requestsInFlight: requests.length,
    additionalUnitsFromRequests: needed - unitsBelowTarget,
    spareLicences,
    licencesToBuy,
    byDepartment: [...perDepartment]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([department, licencesNeeded]) => ({ department, licencesNeeded })),
  };
}
