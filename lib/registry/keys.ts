// Key design of the registry's single table (docs/registry.md has the full map). Every item
// has pk/sk; the three overloaded indexes GSI1..3 carry gsiNpk/gsiNsk only on the items they
// serve. The update-request workflow writes its request items with requestItemKeys() below.
import { isInFlight, type RequestStatus } from './model.js';
import { versionKey } from './version.js';

/**
 * Installations of one software are spread over this many index partitions ("INST#X#0".."#7"),
 * chosen by a hash of the client id, so that one popular software does not make a hot partition
 * on the indexes. Readers query all shards in parallel and merge (sorted). Changing it needs a
 * re-index of the installation items.
 */
export const INSTALLATION_SHARDS = 8;

/** Sort-key separator for parts whose characters all sort after "#" (ids, user names, versions). */
const SEP = '#';
/** Separator after a department name, which may contain spaces (which sort before "#"). */
const LOW_SEP = '\u0001';

export const CLIENT_SK = 'CLIENT';
/** A client's inventory head: its installations as the registry knows them, and their seq. */
export const INVENTORY_SK = 'INVENTORY';
export const SOFTWARE_SK = 'SOFTWARE';
export const REQUEST_SK = 'REQUEST';
export const ANNOUNCEMENT_SK = 'ANNOUNCEMENT';
export const CATALOG_PARTITION = 'CATALOG';

export const clientPk = (clientId: string) => `CLIENT#${clientId}`;
export const membershipSk = (user: string) => `USER#${user}`;
export const installationSk = (software: string) => `SW#${software}`;
export const historySk = (at: string, software: string, id: string) => `HIST#${at}#${software}#${id}`;
/** The id of the history entries of a client's change set number `seq`: writing them twice is harmless. */
export const historyId = (seq: number) => String(seq).padStart(10, '0');
export const softwarePk = (name: string) => `SOFTWARE#${name}`;
/** One item per department name in any case: its first spelling (departments compare case-insensitively). */
export const departmentPk = (name: string) => `DEPT#${name.toLowerCase()}`;
export const DEPARTMENT_SK = 'DEPARTMENT';
export const periodPk = (kind: 'approver' | 'delegation', user: string) =>
  kind === 'approver' ? `APPROVER#${user}` : `DELEGATION#${user}`;
export const periodSk = (validFrom: string, filedAt: string, id: string) =>
  `PERIOD#${validFrom}#${filedAt}#${id}`;
export const requestPk = (requestId: string) => `REQ#${requestId}`;
export const announcementPk = (id: string) => `ANN#${id}`;
export const deliverySk = (user: string) => `TO#${user}`;

/** GSI1 partition of a user's clients (membership items). */
export const userClientsPk = (user: string) => `USER#${user}`;
export const userClientsSk = (clientId: string) => `CLIENT#${clientId}`;

/** FNV-1a: a fast, stable spread of client ids over shards (not a security function). */
export function shardOf(clientId: string, shards = INSTALLATION_SHARDS): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < clientId.length; i++) {
    h ^= clientId.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) % shards;
}

export const installationsPk = (software: string, shard: number) => `INST#${software}#${shard}`;

export function installationIndexKeys(i: {
  clientId: string;
  software: string;
  user: string;
  department: string;
  version: string;
}) {
  const pk = installationsPk(i.software, shardOf(i.clientId));
  return {
    // GSI1: who has X, by user
    gsi1pk: pk,
    gsi1sk: `${i.user}${SEP}${i.clientId}`,
    // GSI2: who has X, by department
    gsi2pk: pk,
    gsi2sk: `${i.department}${LOW_SEP}${i.user}${SEP}${i.clientId}`,
    // GSI3: who has X, by version (ranges, the forecast's "below V")
    gsi3pk: pk,
    gsi3sk: `${versionKey(i.version)}${SEP}${i.clientId}`,
  };
}

/** Bounds on GSI3's sort key for versions in [min, max] (both optional, both inclusive). */
export function versionRangeBounds(min?: string, max?: string): { from?: string; to?: string } {
  return {
    ...(min ? { from: `${versionKey(min)}${SEP}` } : {}),
    // "$" sorts after "#" and before ".": every client of exactly `max`, none of a longer version.
    ...(max ? { to: `${versionKey(max)}$` } : {}),
  };
}

/** Upper bound (exclusive) on GSI3's sort key for versions strictly below `version`. */
export const belowVersionBound = (version: string) => `${versionKey(version)}${SEP}`;

/** GSI3 key of a catalog entry: the whole catalog in one small partition, in name order. */
export const catalogIndexKeys = (name: string) => ({ gsi3pk: CATALOG_PARTITION, gsi3sk: name });

/** GSI2 partition of the requests of one software still in flight (a sparse index). */
export const inFlightPk = (software: string) => `INFLIGHT#${software}`;
export const inFlightSk = (targetVersion: string, requestId: string) =>
  `${versionKey(targetVersion)}${SEP}${requestId}`;

/**
 * The keys of an update-request item. The workflow puts the request with these attributes and,
 * when the request leaves flight (downloaded, rejected, expired, failed), REMOVEs gsi2pk and
 * gsi2sk so the forecast stops counting it:
 *   pk = "REQ#<requestId>", sk = "REQUEST",
 *   gsi2pk = "INFLIGHT#<software>", gsi2sk = "<versionKey(targetVersion)>#<requestId>" (in flight only)
 * plus attributes requestId, software, targetVersion, clientId, requester, status, createdAt.
 */
export function requestItemKeys(r: {
  requestId: string;
  software: string;
  targetVersion: string;
  status: RequestStatus;
}) {
  return {
    pk: requestPk(r.requestId),
    sk: REQUEST_SK,
    ...(isInFlight(r.status)
      ? { gsi2pk: inFlightPk(r.software), gsi2sk: inFlightSk(r.targetVersion, r.requestId) }
      : {}),
  };
}
