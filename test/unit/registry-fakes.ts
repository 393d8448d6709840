// In-memory implementations of the registry's ports, for use-case unit tests. They keep the
// contracts (ordering, append-only periods, conditional claims), not the DynamoDB key design,
// which test/integration/registry-store.test.ts covers against DynamoDB Local.
import { Conflict } from '../../lib/errors.js';
import type { Person } from '../../lib/people/model.js';
import type { Mail, Mailer } from '../../lib/ports/mailer.js';
import type { PeopleStore } from '../../lib/ports/people.js';
import type {
  ClientChanges,
  ClientInventory,
  InstallationQuery,
  InventoryChange,
  Page,
  PageRequest,
  RegistryStore,
} from '../../lib/ports/registry.js';
import type {
  AnnouncementBatch,
  AnnouncementQueue,
  AnnouncementStore,
  ClaimResult,
} from '../../lib/ports/registry-announcements.js';
import type { ApproverStore } from '../../lib/ports/registry-approvers.js';
import { createCursorCodec } from '../../lib/registry/cursor.js';
import type {
  Announcement,
  ApproverPeriod,
  CatalogEntry,
  Client,
  HistoryEntry,
  Installation,
  PeriodKind,
  UpdateRequestRecord,
} from '../../lib/registry/model.js';
import { isInFlight } from '../../lib/registry/model.js';
import { compareVersions, versionKey } from '../../lib/registry/version.js';

function paginate<T>(all: T[], page: PageRequest): Page<T> {
  const start = typeof page.after?.i === 'number' ? page.after.i : 0;
  const items = all.slice(start, start + page.limit);
  return { items, ...(start + page.limit < all.length ? { next: { i: start + page.limit } } : {}) };
}

export class MemoryRegistry implements RegistryStore, ApproverStore, AnnouncementStore {
  clients = new Map<string, Client>();
  installations = new Map<string, Installation>();
  history: HistoryEntry[] = [];
  catalog = new Map<string, CatalogEntry>();
  requests: UpdateRequestRecord[] = [];
  periods: ApproverPeriod[] = [];
  announcementsById = new Map<string, Announcement>();
  deliveries = new Map<string, { status: string; claim: string; attempts: number }>();
  writes = 0;

  async getClient(id: string) {
    return this.clients.get(id);
  }
  async getClients(ids: string[]) {
    return new Map(ids.filter((id) => this.clients.has(id)).map((id) => [id, this.clients.get(id)!]));
  }
  async saveClient(client: Client, previous: Client | undefined) {
    const now = this.clients.get(client.clientId);
    if (now?.updatedAt !== previous?.updatedAt) throw new Conflict('changed');
    this.writes++;
    this.clients.set(client.clientId, client);
    for (const i of this.installations.values()) {
      if (i.clientId === client.clientId)
        Object.assign(i, { department: client.department, clientName: client.name });
    }
  }
  departments = new Map<string, string>();
  async departmentSpelling(department: string) {
    const key = department.toLowerCase();
    if (!this.departments.has(key)) this.departments.set(key, department);
    return this.departments.get(key)!;
  }
  async *allClients() {
    yield* [...this.clients.values()];
  }
  async clientsOfUser(user: string, page: PageRequest) {
    const all = [...this.clients.values()]
      .filter((c) => c.users.includes(user))
      .map((c) => ({ clientId: c.clientId, user }))
      .sort((a, b) => a.clientId.localeCompare(b.clientId));
    return paginate(all, page);
  }
  async installationsOfClient(clientId: string) {
    return [...this.installations.values()].filter((i) => i.clientId === clientId).map((i) => ({ ...i }));
  }
  async installationsPage(clientId: string, page: PageRequest) {
    const all = (await this.installationsOfClient(clientId)).sort((a, b) =>
      a.software.localeCompare(b.software),
    );
    return paginate(all, page);
  }
  /** Change sets applied per client (the journal's seq), and clients whose set is still being written. */
  seqs = new Map<string, number>();
  busy = new Set<string>();
  async inventoriesOf(clientIds: string[]) {
    const answer = new Map<string, ClientInventory>();
    for (const clientId of clientIds) {
      answer.set(clientId, {
        clientId,
        seq: this.seqs.get(clientId) ?? 0,
        installations: await this.installationsOfClient(clientId),
        busy: this.busy.has(clientId),
      });
    }
    return answer;
  }
  /** Each client all-or-nothing against its base's seq; counts calls. */
  batches: number[] = [];
  async applyInventoryBatch(sets: ClientChanges[]) {
    this.batches.push(sets.length);
    const keyOf = (c: InventoryChange) => {
      const i = c.kind === 'put' ? c.installation : c.previous;
      return `${i.clientId}/${i.software}`;
    };
    return sets.map(({ clientId, base, changes }) => {
      if (changes.length === 0) return undefined;
      if (base.busy || (this.seqs.get(clientId) ?? 0) !== base.seq) {
        return new Conflict(`The inventory of ${clientId} changed meanwhile`);
      }
      this.seqs.set(clientId, base.seq + 1);
      for (const c of changes) {
        this.writes++;
        if (c.kind === 'put') this.installations.set(keyOf(c), { ...c.installation });
        else this.installations.delete(keyOf(c));
        if (c.history) this.history.push(c.history);
      }
      return undefined;
    });
  }
  async historyOfClient(clientId: string, page: PageRequest) {
    const all = this.history.filter((h) => h.clientId === clientId).sort((a, b) => b.at.localeCompare(a.at));
    return paginate(all, page);
  }
  async installationsOfSoftware(q: InstallationQuery) {
    const sortKey = (i: Installation) =>
      q.sort === 'user'
        ? `${i.user}#${i.clientId}`
        : q.sort === 'department'
          ? `${i.department}\u0001${i.user}#${i.clientId}`
          : `${versionKey(i.version)}#${i.clientId}`;
    const all = [...this.installations.values()]
      .filter((i) => i.software === q.software)
      .filter((i) => !q.minVersion || compareVersions(i.version, q.minVersion) >= 0)
      .filter((i) => !q.maxVersion || compareVersions(i.version, q.maxVersion) <= 0)
      .sort((a, b) => (sortKey(a) < sortKey(b) ? -1 : 1));
    return paginate(all, q);
  }
  async installationsBelow(software: string, version: string) {
    return [...this.installations.values()]
      .filter((i) => i.software === software && compareVersions(i.version, version) < 0)
      .map((i) => ({ clientId: i.clientId, user: i.user }));
  }
  async getSoftware(name: string) {
    return this.catalog.get(name);
  }
  async getSoftwareMany(names: string[]) {
    return new Map(names.filter((n) => this.catalog.has(n)).map((n) => [n, this.catalog.get(n)!]));
  }
  async knownSoftware(names: string[]) {
    return new Set(names.filter((n) => this.catalog.has(n)));
  }
  async putSoftware(entry: CatalogEntry) {
    this.writes++;
    this.catalog.set(entry.name, entry);
  }
  async listSoftware(page: PageRequest) {
    return paginate(
      [...this.catalog.values()].sort((a, b) => a.name.localeCompare(b.name)),
      page,
    );
  }
  async requestsInFlight(software: string, targetVersion: string) {
    return this.requests.filter(
      (r) =>
        r.software === software &&
        compareVersions(r.targetVersion, targetVersion) === 0 &&
        isInFlight(r.status),
    );
  }
  async putPeriod(p: ApproverPeriod) {
    this.writes++;
    this.periods.push(p);
  }
  private periodsOf(kind: PeriodKind, user: string) {
    const key = (p: ApproverPeriod) => `${p.validFrom}#${p.filedAt}#${p.periodId}`;
    return this.periods
      .filter((p) => p.kind === kind && p.user === user)
      .sort((a, b) => (key(a) < key(b) ? -1 : 1));
  }
  async periodsStartedBy(kind: PeriodKind, user: string, at: string, page: PageRequest) {
    return paginate(
      this.periodsOf(kind, user)
        .filter((p) => p.validFrom <= at)
        .reverse(),
      page,
    );
  }
  async listPeriods(kind: PeriodKind, user: string, page: PageRequest) {
    return paginate(this.periodsOf(kind, user), page);
  }
  async putAnnouncement(a: Announcement) {
    if (this.announcementsById.has(a.announcementId)) return 'exists' as const;
    this.announcementsById.set(a.announcementId, { ...a });
    return 'created' as const;
  }
  async markQueued(id: string, at: string) {
    const a = this.announcementsById.get(id)!;
    a.queuedAt ??= at;
  }
  async getAnnouncement(id: string) {
    return this.announcementsById.get(id);
  }
  async claimDelivery(id: string, user: string, claim: string): Promise<ClaimResult> {
    const d = this.deliveries.get(`${id}/${user}`);
    if (d && d.status !== 'failed') return 'skip';
    this.deliveries.set(`${id}/${user}`, { status: 'sending', claim, attempts: d?.attempts ?? 0 });
    return 'claimed';
  }
  async completeDelivery(id: string, user: string, claim: string, outcome: { status: 'sent' | 'failed' }) {
    const d = this.deliveries.get(`${id}/${user}`);
    if (d?.claim !== claim) throw new Error('claim lost');
    d.status = outcome.status;
    d.attempts++;
  }
  async deliveryCounts(id: string) {
    const counts = { sent: 0, failed: 0, sending: 0 };
    for (const [k, d] of this.deliveries)
      if (k.startsWith(`${id}/`)) counts[d.status as keyof typeof counts]++;
    return counts;
  }
}

export class MemoryQueue implements AnnouncementQueue {
  batches: AnnouncementBatch[] = [];
  async enqueue(batches: AnnouncementBatch[]) {
    this.batches.push(...batches);
  }
}

export class RecordingMailer implements Mailer {
  sent: Mail[] = [];
  failFor = new Set<string>();
  async send(mail: Mail) {
    if (mail.to.some((t) => this.failFor.has(t)))
      throw new Error('Throttling: Maximum sending rate exceeded');
    this.sent.push(mail);
    return { messageId: `m-${this.sent.length}` };
  }
}

/** The directory in memory, with the store's contract: one person per login name and e-mail. */
export class MemoryPeople implements PeopleStore {
  readonly people = new Map<string, Person>();

  constructor(keys: string[] = []) {
    for (const key of keys) {
      this.people.set(key, {
        key,
        login: key,
        email: `${key}@corp.example`,
        active: true,
        revision: 1,
        updatedAt: '2025-01-01T00:00:00.000Z',
        updatedBy: 'test',
      });
    }
  }

  async getPerson(key: string) {
    return this.people.get(key);
  }
  async getPeople(keys: string[]) {
    return new Map(keys.flatMap((k) => (this.people.has(k) ? [[k, this.people.get(k)!] as const] : [])));
  }
  private holder(field: 'login' | 'email', value: string) {
    return [...this.people.values()].find((p) => p[field]?.toLowerCase() === value.toLowerCase())?.key;
  }
  async keyOfLogin(login: string) {
    return this.holder('login', login);
  }
  async keyOfEmail(email: string) {
    return this.holder('email', email);
  }
  async savePerson(person: Person, previous: Person | undefined) {
    if (this.people.get(person.key)?.revision !== previous?.revision) {
      throw new Conflict(`${person.key} changed meanwhile: read it again`, 'key');
    }
    for (const field of ['login', 'email'] as const) {
      const value = person[field];
      const holder = value === undefined ? undefined : this.holder(field, value);
      if (holder !== undefined && holder !== person.key) {
        throw new Conflict(`${field} ${value} belongs to another person`, field);
      }
    }
    this.people.set(person.key, person);
  }
  async listPeople(page: PageRequest): Promise<Page<Person>> {
    const all = [...this.people.values()].sort((a, b) => (a.key < b.key ? -1 : 1));
    const after = page.after?.k as string | undefined;
    const rest = after ? all.filter((p) => p.key > after) : all;
    const items = rest.slice(0, page.limit);
    return { items, ...(rest.length > page.limit ? { next: { k: items[items.length - 1]!.key } } : {}) };
  }
}

/** People the registry's unit tests name, known to the directory (Fig. 4 and a few more). */
export const KNOWN_PEOPLE = [
  'ando',
  'suzuki',
  'kaneda',
  'yamada',
  'okachi',
  'itou',
  'kojima',
  'alice',
  'bob',
];

export function memoryPorts(now = new Date('2025-06-01T12:00:00Z')) {
  const store = new MemoryRegistry();
  return {
    store,
    people: new MemoryPeople(KNOWN_PEOPLE),
    approvers: store,
    announcements: store,
    queue: new MemoryQueue(),
    cursors: createCursorCodec('unit-test-cursor-key-0123456789'),
    now: () => now,
  };
}

export const admin = { user: 'boss', groups: ['admins'] };
export const employee = (user: string) => ({ user, groups: ['employees'] });
export const approver = (user: string) => ({ user, groups: ['approvers', 'employees'] });

/** The error a call throws or rejects with (fails the test if there is none). */
export async function errorOf(
  run: () => unknown,
): Promise<{ statusCode?: number; field?: string; message: string }> {
  try {
    await run();
  } catch (error) {
    return error as { statusCode?: number; field?: string; message: string };
  }
  throw new Error('expected an error, got none');
}
