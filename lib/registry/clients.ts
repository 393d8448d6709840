// Use cases on clients: register/update, read, a client's inventory report and history.
import { randomUUID } from 'node:crypto';
import { BadRequest, Conflict, Forbidden, NotFound } from '../errors.js';
import type { Caller } from '../http/identity.js';
import { readsEverything } from '../http/identity.js';
import { resolvePerson } from '../people/directory.js';
import type { PeopleStore } from '../ports/people.js';
import type {
  ClientChanges,
  ClientInventory,
  ClientMembership,
  InventoryChange,
  RegistryStore,
} from '../ports/registry.js';
import { assertCanPutClient, assertCanRead, assertCanReport } from './access.js';
import type { CursorCodec } from './cursor.js';
import type { Client, HistoryEntry, Installation, Revision } from './model.js';
import {
  clientIdOf,
  departmentOf,
  instantOf,
  ipAddressOf,
  pageSizeOf,
  requireObject,
  revisionOf,
  softwareNameOf,
  textOf,
  userOf,
} from './validate.js';
import { parseVersion } from './version.js';

export const MAX_USERS_PER_CLIENT = 50;
export const MAX_INVENTORY_ITEMS = 500;

export interface ClientPorts {
  store: RegistryStore;
  cursors: CursorCodec;
  now?: () => Date;
}

export interface Listing<T> {
  items: T[];
  cursor?: string;
}

const nowOf = (ports: { now?: () => Date }) => (ports.now ?? (() => new Date()))();

export function parseClientBody(body: unknown) {
  const b = requireObject(body);
  if (!Array.isArray(b.users)) throw new BadRequest('users must be a list of user names', 'users');
  if (b.users.length === 0) throw new BadRequest('users must name at least one user', 'users');
  if (b.users.length > MAX_USERS_PER_CLIENT)
    throw new BadRequest(`users may list at most ${MAX_USERS_PER_CLIENT}`, 'users');
  const users = b.users.map((u, i) => userOf(u, `users[${i}]`));
  const dup = users.findIndex((u, i) => users.indexOf(u) !== i);
  if (dup >= 0) throw new BadRequest(`users[${dup}] is listed twice`, `users[${dup}]`);
  return {
    name: textOf(b.name, 'name', 128),
    ipAddress: ipAddressOf(b.ipAddress),
    osRegistrationId: textOf(b.osRegistrationId, 'osRegistrationId', 128),
    department: departmentOf(b.department),
    users,
  };
}

/**
 * PUT /clients/{clientId}. Admins register and change any client; an employee enrols a new
 * client for themselves; a user of the client (its agent) keeps it current, without changing
 * who uses it (rules: assertCanPutClient). The write is conditional on what was read (absent, or
 * this `updatedAt`): a concurrent enrolment or change answers 409 naming `clientId`.
 */
export async function putClient(
  ports: ClientPorts & { people: PeopleStore },
  caller: Caller,
  clientIdParam: string,
  body: unknown,
) {
  const clientId = clientIdOf(clientIdParam);
  const input = parseClientBody(body);
  const previous = await ports.store.getClient(clientId);
  // Departments compare case-insensitively: "sales" on a client of "Sales" is no change.
  if (previous && previous.department.toLowerCase() === input.department.toLowerCase())
    input.department = previous.department;
  // Users already on the client are keys; new ones are typed names (login or e-mail) to resolve.
  input.users = await Promise.all(
    input.users.map((u, i) => (previous?.users.includes(u) ? u : resolvePerson(ports, u, `users[${i}]`))),
  );
  const dup = input.users.findIndex((u, i) => input.users.indexOf(u) !== i);
  if (dup >= 0) throw new BadRequest(`users[${dup}] names a person listed before`, `users[${dup}]`);
  assertCanPutClient(caller, clientId, input, previous);
  // One department, one spelling: the first one anybody used ("sales" after "Sales" is "Sales").
  input.department = await ports.store.departmentSpelling(input.department);
  const at = nowOf(ports).toISOString();
  const client: Client = { clientId, ...input, createdAt: previous?.createdAt ?? at, updatedAt: at };
  try {
    await ports.store.saveClient(client, previous);
  } catch (error) {
    if (!(error instanceof Conflict)) throw error;
    throw new Conflict(
      previous
        ? `Client ${clientId} changed meanwhile; read it again and retry`
        : `Client ${clientId} was registered by another request meanwhile; read it again`,
      'clientId',
    );
  }
  return { client, created: previous === undefined };
}

export async function getClient(ports: ClientPorts, caller: Caller, clientIdParam: string): Promise<Client> {
  const clientId = clientIdOf(clientIdParam);
  const client = await ports.store.getClient(clientId);
  if (!client) throw new NotFound(`No client ${clientId}`, 'clientId');
  assertCanRead(caller, client);
  return client;
}

/** GET /users/{user}/clients: an employee's own clients (admins: anyone's). */
export async function clientsOfUser(
  ports: ClientPorts,
  caller: Caller,
  userParam: string,
  query: Record<string, string>,
): Promise<Listing<Client>> {
  const user = userOf(userParam);
  if (user !== caller.user && !readsEverything(caller))
    throw new Forbidden("Only an admin or an auditor may list another user's clients");
  const key = `clients-of|${user}`;
  const page = await ports.store.clientsOfUser(user, {
    limit: pageSizeOf(query.limit),
    after: ports.cursors.decode(key, query.cursor),
  });
  const clients = await Promise.all(
    page.items.map((m: ClientMembership) => ports.store.getClient(m.clientId)),
  );
  return {
    items: clients.filter((c): c is Client => c !== undefined),
    ...cursorOf(ports, key, page.next),
  };
}

interface ReportedItem {
  software: string;
  version: string;
  revision: Revision;
  installedAt: string;
  updatedAt?: string;
  user: string;
}

export function parseInventory(body: unknown, client: Client): ReportedItem[] {
  const b = requireObject(body);
  if (!Array.isArray(b.items)) throw new BadRequest('items must be a list of installed software', 'items');
  if (b.items.length > MAX_INVENTORY_ITEMS) {
    throw new BadRequest(`items may list at most ${MAX_INVENTORY_ITEMS} software`, 'items');
  }
  const seen = new Map<string, number>();
  return b.items.map((raw, i) => {
    const f = (name: string) => `items[${i}].${name}`;
    const item = requireObject(raw, `items[${i}]`);
    const software = softwareNameOf(item.software, f('software'));
    const first = seen.get(software);
    if (first !== undefined)
      throw new BadRequest(`${f('software')} duplicates items[${first}]`, f('software'));
    seen.set(software, i);
    const installedAt = instantOf(item.installedAt, f('installedAt'));
    const updatedAt = item.updatedAt === undefined ? undefined : instantOf(item.updatedAt, f('updatedAt'));
    if (updatedAt !== undefined && updatedAt < installedAt) {
      throw new BadRequest(`${f('updatedAt')} is before installedAt`, f('updatedAt'));
    }
    const user = userOf(item.user, f('user'));
    if (!client.users.includes(user)) {
      throw new BadRequest(`${f('user')} ${user} is not a user of client ${client.clientId}`, f('user'));
    }
    return {
      software,
      version: parseVersion(item.version, f('version')),
      revision: revisionOf(item.revision, f('revision')),
      installedAt,
      ...(updatedAt ? { updatedAt } : {}),
      user,
    };
  });
}

export interface InventoryResult {
  clientId: string;
  installed: number;
  updated: number;
  removed: number;
  unchanged: number;
}

/**
 * PUT /clients/{clientId}/software: the client's full inventory. It replaces the set: new
 * software is an install, a changed version or revision an update, a missing one a removal;
 * the changes and their history entries are written as one change set, conditional on the
 * inventory they were worked out from (409 on a lost race, or while another change set of the
 * client is still being written). Software that did not change is not written at all, so a
 * report that repeats the last one writes nothing. Everything is checked before any write.
 */
export async function reportInventory(
  ports: ClientPorts,
  caller: Caller,
  clientIdParam: string,
  body: unknown,
): Promise<InventoryResult> {
  const [planned] = await planReports(ports, caller, [{ clientId: clientIdParam, body }], () => '');
  const [conflict] = await ports.store.applyInventoryBatch([planned!]);
  if (conflict) throw conflict;
  return planned!.result;
}

export const MAX_REPORTS_PER_CALL = 25;

export type InventoryOutcome = InventoryResult | { clientId: string; conflict: string };

/**
 * Several clients' full inventory reports in one call (a bulk load: an initial import, or a
 * relay that collects agents' reports): the same checks, rules and writes as reportInventory,
 * for each client. Bad input in any report is refused (400 naming `reports[i]…`) before
 * anything is written. The clients' inventories are read in one batch and their change sets
 * committed in batches; each client is all-or-nothing. A client that lost a race answers
 * `{clientId, conflict}`; the others are applied. Answers are in the order of `reports`.
 */
export async function reportInventories(
  ports: ClientPorts,
  caller: Caller,
  body: unknown,
): Promise<InventoryOutcome[]> {
  const b = requireObject(body);
  if (!Array.isArray(b.reports) || b.reports.length === 0) {
    throw new BadRequest('reports must be a non-empty list of {clientId, items}', 'reports');
  }
  if (b.reports.length > MAX_REPORTS_PER_CALL) {
    throw new BadRequest(`reports may list at most ${MAX_REPORTS_PER_CALL} clients`, 'reports');
  }
  const reports = b.reports.map((raw, i) => {
    const report = requireObject(raw, `reports[${i}]`);
    return { clientId: report.clientId, body: { items: report.items } };
  });
  const planned = await planReports(ports, caller, reports, (i) => `reports[${i}].`);
  const conflicts = await ports.store.applyInventoryBatch(planned);
  return planned.map((p, i) => {
    const conflict = conflicts[i];
    return conflict ? { clientId: p.clientId, conflict: conflict.message } : p.result;
  });
}

interface PlannedReport {
  clientId: string;
  base: ClientInventory;
  changes: InventoryChange[];
  result: InventoryResult;
}

/** Checks every report (nothing is written on any error) and works out each client's changes. */
async function planReports(
  ports: ClientPorts,
  caller: Caller,
  reports: Array<{ clientId: unknown; body: unknown }>,
  prefixOf: (report: number) => string,
): Promise<PlannedReport[]> {
  const fieldOf = (i: number, field: string) => `${prefixOf(i)}${field}`;
  // A bulk call names the report a field belongs to: reports[i].items[j].version.
  const within = <T>(i: number, check: () => T): T => {
    try {
      return check();
    } catch (error) {
      if (!(error instanceof BadRequest) || prefixOf(i) === '') throw error;
      throw new BadRequest(`${prefixOf(i)}${error.message}`, fieldOf(i, error.field ?? ''));
    }
  };
  const ids = reports.map((r, i) => within(i, () => clientIdOf(r.clientId)));
  ids.forEach((id, i) => {
    const first = ids.indexOf(id);
    if (first !== i) throw new BadRequest(`${fieldOf(i, 'clientId')} repeats ${id}`, fieldOf(i, 'clientId'));
  });
  const clients = await clientsByIds(ports, ids);
  const parsed = ids.map((clientId, i) => {
    const client = clients.get(clientId);
    if (!client) {
      throw new BadRequest(`Unknown client ${clientId}: register it first`, fieldOf(i, 'clientId'));
    }
    assertCanReport(caller, client);
    return { client, items: within(i, () => parseInventory(reports[i]!.body, client)) };
  });
  const known = await ports.store.knownSoftware(parsed.flatMap((p) => p.items.map((item) => item.software)));
  for (const [r, p] of parsed.entries()) {
    for (const [i, item] of p.items.entries()) {
      if (!known.has(item.software)) {
        const field = fieldOf(r, `items[${i}].software`);
        throw new BadRequest(`${field}: ${item.software} is not in the software catalog`, field);
      }
    }
  }
  const recordedAt = nowOf(ports).toISOString();
  const inventories = await ports.store.inventoriesOf(ids);
  return parsed.map(({ client, items }) =>
    changesOf(client, items, inventories.get(client.clientId)!, recordedAt),
  );
}

async function clientsByIds(ports: ClientPorts, ids: string[]): Promise<Map<string, Client>> {
  if (ids.length !== 1) return ports.store.getClients(ids);
  const client = await ports.store.getClient(ids[0]!);
  return new Map(client ? [[client.clientId, client]] : []);
}

/** What a full report changes: installs, updates, removals (with history) and re-filings. */
function changesOf(
  client: Client,
  items: ReportedItem[],
  base: ClientInventory,
  recordedAt: string,
): PlannedReport {
  const clientId = client.clientId;
  const current = new Map(base.installations.map((i) => [i.software, i]));
  const changes: InventoryChange[] = [];
  const result: InventoryResult = { clientId, installed: 0, updated: 0, removed: 0, unchanged: 0 };
  for (const item of items) {
    const previous = current.get(item.software);
    current.delete(item.software);
    const installation: Installation = {
      clientId,
      ...item,
      department: client.department,
      clientName: client.name,
      recordedAt,
    };
    if (!previous) {
      result.installed++;
      changes.push({
        kind: 'put',
        installation,
        history: history(installation, 'installed', item.installedAt, recordedAt),
      });
    } else if (previous.version !== item.version || previous.revision !== item.revision) {
      result.updated++;
      const entry = history(installation, 'updated', item.updatedAt ?? recordedAt, recordedAt);
      entry.previousVersion = previous.version;
      entry.previousRevision = previous.revision;
      changes.push({ kind: 'put', installation, previous, history: entry });
    } else if (
      previous.user !== item.user ||
      previous.installedAt !== item.installedAt ||
      previous.updatedAt !== item.updatedAt ||
      previous.department !== client.department ||
      previous.clientName !== client.name
    ) {
      result.unchanged++;
      changes.push({ kind: 'put', installation, previous });
    } else {
      result.unchanged++;
    }
  }
  for (const previous of current.values()) {
    result.removed++;
    changes.push({ kind: 'delete', previous, history: history(previous, 'removed', recordedAt, recordedAt) });
  }
  return { clientId, base, changes, result };
}

function history(
  i: Installation,
  change: HistoryEntry['change'],
  at: string,
  recordedAt: string,
): HistoryEntry {
  return {
    clientId: i.clientId,
    software: i.software,
    change,
    version: i.version,
    revision: i.revision,
    at,
    user: i.user,
    recordedAt,
    source: 'inventory',
  };
}

/**
 * S605: the vendor site reports a completed download/update of one software on one client.
 * Updates the installation and appends history as one change set; replaying it changes nothing.
 */
export async function recordUpdate(
  ports: ClientPorts,
  update: {
    clientId: string;
    software: string;
    version: string;
    revision: Revision;
    at: string;
    user: string;
  },
): Promise<'recorded' | 'unchanged'> {
  const client = await ports.store.getClient(clientIdOf(update.clientId));
  if (!client) throw new BadRequest(`Unknown client ${update.clientId}`, 'clientId');
  const version = parseVersion(update.version, 'version');
  const revision = revisionOf(update.revision);
  const at = instantOf(update.at, 'at');
  const base = (await ports.store.inventoriesOf([client.clientId])).get(client.clientId)!;
  const set = downloadChangeSet(
    client,
    base,
    {
      software: softwareNameOf(update.software, 'software'),
      version,
      revision,
      at,
      user: userOf(update.user),
    },
    nowOf(ports).toISOString(),
  );
  if (!set) return 'unchanged';
  const [conflict] = await ports.store.applyInventoryBatch([set]);
  if (conflict) throw conflict;
  return 'recorded';
}

/**
 * The change set of a completed download or update (S605) of one software on a client, worked
 * out from `base`: the installation's new version and its history entry (`source: download`).
 * Undefined when the registry already shows that version and revision.
 */
export function downloadChangeSet(
  client: Client,
  base: ClientInventory,
  update: { software: string; version: string; revision: Revision; at: string; user: string },
  recordedAt: string,
): ClientChanges | undefined {
  const { software, version, revision, at, user } = update;
  const previous = base.installations.find((i) => i.software === software);
  if (previous && previous.version === version && previous.revision === revision) return undefined;
  const installation: Installation = {
    clientId: client.clientId,
    software,
    version,
    revision,
    installedAt: previous?.installedAt ?? at,
    updatedAt: at,
    user,
    department: client.department,
    clientName: client.name,
    recordedAt,
  };
  const entry: HistoryEntry = {
    ...history(installation, previous ? 'updated' : 'installed', at, recordedAt),
    source: 'download',
    ...(previous ? { previousVersion: previous.version, previousRevision: previous.revision } : {}),
  };
  return {
    clientId: client.clientId,
    base,
    changes: [{ kind: 'put', installation, ...(previous ? { previous } : {}), history: entry }],
  };
}

export async function getInventory(
  ports: ClientPorts,
  caller: Caller,
  clientIdParam: string,
  query: Record<string, string>,
): Promise<Listing<Installation>> {
  const client = await getClient(ports, caller, clientIdParam);
  const key = `inventory|${client.clientId}`;
  const page = await ports.store.installationsPage(client.clientId, {
    limit: pageSizeOf(query.limit),
    after: ports.cursors.decode(key, query.cursor),
  });
  return { items: page.items, ...cursorOf(ports, key, page.next) };
}

/** GET /clients/{clientId}/history: newest first. */
export async function getHistory(
  ports: ClientPorts,
  caller: Caller,
  clientIdParam: string,
  query: Record<string, string>,
): Promise<Listing<HistoryEntry>> {
  const client = await getClient(ports, caller, clientIdParam);
  const key = `history|${client.clientId}`;
  const page = await ports.store.historyOfClient(client.clientId, {
    limit: pageSizeOf(query.limit),
    after: ports.cursors.decode(key, query.cursor),
  });
  return { items: page.items, ...cursorOf(ports, key, page.next) };
}

export function cursorOf(
  ports: { cursors: CursorCodec },
  key: string,
  next: Record<string, unknown> | undefined,
) {
  const cursor = ports.cursors.encode(key, next);
  return cursor ? { cursor } : {};
}

/** A fresh id for history entries and periods: unique without coordination. */
export const newId = () => randomUUID().replaceAll('-', '').slice(0, 16);
