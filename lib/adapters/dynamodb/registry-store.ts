// The registry on one DynamoDB table (docs/registry.md): every read is a GetItem, BatchGetItem
// or Query on the table or one of its indexes; nothing scans. A client's inventory is written
// through its journal (inventory-journal.ts): one conditional write commits a change set, which
// is then materialised as installation and history items.

import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  BatchWriteCommand,
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  type QueryCommandInput,
  ScanCommand,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { Conflict } from '../../errors.js';
import type {
  ClientChanges,
  ClientInventory,
  ClientMembership,
  InstallationQuery,
  Page,
  PageRequest,
  RegistryStore,
} from '../../ports/registry.js';
import type { AnnouncementStore, ClaimResult } from '../../ports/registry-announcements.js';
import type { ApproverStore } from '../../ports/registry-approvers.js';
import type { PageState } from '../../registry/cursor.js';
import {
  ANNOUNCEMENT_SK,
  announcementPk,
  belowVersionBound,
  CATALOG_PARTITION,
  CLIENT_SK,
  catalogIndexKeys,
  clientPk,
  DEPARTMENT_SK,
  deliverySk,
  departmentPk,
  historySk,
  INSTALLATION_SHARDS,
  inFlightPk,
  installationIndexKeys,
  installationSk,
  installationsPk,
  membershipSk,
  periodPk,
  periodSk,
  SOFTWARE_SK,
  softwarePk,
  userClientsPk,
  userClientsSk,
  versionRangeBounds,
} from '../../registry/keys.js';
import {
  type Announcement,
  type ApproverPeriod,
  type CatalogEntry,
  type Client,
  type HistoryEntry,
  type Installation,
  isInFlight,
  type PeriodKind,
  type UpdateRequestRecord,
} from '../../registry/model.js';
import { versionKey } from '../../registry/version.js';
import { InventoryJournal, type JournalOptions } from './inventory-journal.js';
import { backoff, isRace } from './races.js';

type Item = Record<string, unknown>;

const KEY_ATTRIBUTES = [
  'pk',
  'sk',
  'gsi1pk',
  'gsi1sk',
  'gsi2pk',
  'gsi2sk',
  'gsi3pk',
  'gsi3sk',
  'type',
  'versionKey',
];
function strip<T>(item: Item): T {
  const out: Item = {};
  for (const [k, v] of Object.entries(item)) if (!KEY_ATTRIBUTES.includes(k)) out[k] = v;
  return out as T;
}

/** A client item as the registry reads it (for adapters that read it in a batch of their own). */
export const clientFromItem = (item: Item) => strip<Client>(item);
/** A catalog item as the registry reads it. */
export const catalogEntryFromItem = (item: Item) => strip<CatalogEntry>(item);

/** A cursor's state must be exactly what this adapter wrote: anything else is not a position. */
function stringField(state: PageState | undefined, name: string): string | undefined {
  if (state === undefined) return undefined;
  const v = state[name];
  if (typeof v !== 'string' || v.length === 0 || v.length > 1024)
    throw new Error(`Malformed page state (${name})`);
  return v;
}

type ShardPosition = 0 | null | [string, string];

/** How long a catalog name found in the table is trusted to exist without reading it again. */
export const CATALOG_CACHE_MS = 5 * 60_000;

export interface RegistryStoreOptions extends JournalOptions {
  catalogCacheMs?: number;
}

export class DynamoRegistryStore implements RegistryStore, ApproverStore, AnnouncementStore {
  /** Catalog names known to exist, with when to stop trusting that (per container). */
  private readonly knownNames = new Map<string, number>();
  private readonly catalogCacheMs: number;
  /** How clients' inventories are written; grants use it for their S605 transaction. */
  readonly journal: InventoryJournal;

  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tableName: string,
    options: RegistryStoreOptions = {},
  ) {
    this.catalogCacheMs = options.catalogCacheMs ?? CATALOG_CACHE_MS;
    this.journal = new InventoryJournal(
      db,
      tableName,
      this,
      {
        batchGet: (keys, consistent) => this.batchGet(keys, consistent),
        batchWrite: (r) => this.batchWrite(r),
      },
      options,
    );
  }

  // ---- clients -----------------------------------------------------------------------------

  async getClient(clientId: string): Promise<Client | undefined> {
    const out = await this.db.send(
      new GetCommand({ TableName: this.tableName, Key: { pk: clientPk(clientId), sk: CLIENT_SK } }),
    );
    return out.Item ? strip<Client>(out.Item) : undefined;
  }

  async getClients(clientIds: string[]): Promise<Map<string, Client>> {
    const found = new Map<string, Client>();
    for (const item of await this.batchGet(
      [...new Set(clientIds)].map((id) => ({ pk: clientPk(id), sk: CLIENT_SK })),
    )) {
      const client = strip<Client>(item);
      found.set(client.clientId, client);
    }
    return found;
  }

  async saveClient(client: Client, previous: Client | undefined): Promise<void> {
    const pk = clientPk(client.clientId);
    const added = client.users.filter((u) => !previous?.users.includes(u));
    const removed = (previous?.users ?? []).filter((u) => !client.users.includes(u));
    try {
      await this.db.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Put: {
                TableName: this.tableName,
                Item: { pk, sk: CLIENT_SK, type: 'client', ...client },
                ...(previous
                  ? {
                      ConditionExpression: 'updatedAt = :prev',
                      ExpressionAttributeValues: { ':prev': previous.updatedAt },
                    }
                  : { ConditionExpression: 'attribute_not_exists(pk)' }),
              },
            },
            ...added.map((user) => ({
              Put: {
                TableName: this.tableName,
                Item: {
                  pk,
                  sk: membershipSk(user),
                  type: 'membership',
                  clientId: client.clientId,
                  user,
                  gsi1pk: userClientsPk(user),
                  gsi1sk: userClientsSk(client.clientId),
                },
              },
            })),
            ...removed.map((user) => ({
              Delete: { TableName: this.tableName, Key: { pk, sk: membershipSk(user) } },
            })),
          ],
        }),
      );
    } catch (error) {
      throw conflictOr(error, `Client ${client.clientId} changed meanwhile; read it again and retry`);
    }
    if (previous && (previous.department !== client.department || previous.name !== client.name)) {
      // Installations carry the department and name for sorting and announcements; re-file them
      // through the journal. If another change set is in the way, the client's next inventory
      // report re-files them (it compares department and name too).
      const base = (await this.journal.read([client.clientId])).get(client.clientId)!;
      await this.journal.apply([
        {
          clientId: client.clientId,
          base,
          changes: base.installations.map((i) => ({
            kind: 'put' as const,
            installation: { ...i, department: client.department, clientName: client.name },
            previous: i,
          })),
        },
      ]);
    }
  }

  async departmentSpelling(department: string): Promise<string> {
    const Key = { pk: departmentPk(department), sk: DEPARTMENT_SK };
    try {
      await this.db.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { ...Key, name: department },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
      return department;
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
    const out = await this.db.send(new GetCommand({ TableName: this.tableName, Key, ConsistentRead: true }));
    return String(out.Item?.name ?? department);
  }

  async *allClients(): AsyncIterable<Client> {
    let start: Record<string, unknown> | undefined;
    do {
      const out = await this.db.send(
        new ScanCommand({
          TableName: this.tableName,
          FilterExpression: 'sk = :sk',
          ExpressionAttributeValues: { ':sk': CLIENT_SK },
          ...(start ? { ExclusiveStartKey: start } : {}),
        }),
      );
      for (const item of out.Items ?? []) yield strip<Client>(item);
      start = out.LastEvaluatedKey;
    } while (start);
  }

  async clientsOfUser(user: string, page: PageRequest): Promise<Page<ClientMembership>> {
    const after = stringField(page.after, 'c');
    const out = await this.db.send(
      new QueryCommand({
        TableName: this.tableName,
        IndexName: 'GSI1',
        KeyConditionExpression: 'gsi1pk = :pk AND begins_with(gsi1sk, :prefix)',
        ExpressionAttributeValues: { ':pk': userClientsPk(user), ':prefix': 'CLIENT#' },
        Limit: page.limit + 1,
        ...(after
          ? {
              ExclusiveStartKey: {
                gsi1pk: userClientsPk(user),
                gsi1sk: userClientsSk(after),
                pk: clientPk(after),
                sk: membershipSk(user),
              },
            }
          : {}),
      }),
    );
    const { items, more } = pageOf(out.Items, page.limit);
    const memberships = items.map((i) => ({ clientId: String(i.clientId), user: String(i.user) }));
    const last = more ? memberships[memberships.length - 1] : undefined;
    return { items: memberships, ...(last ? { next: { c: last.clientId } } : {}) };
  }

  // ---- installations and history ------------------------------------------------------------

  installationItem(i: Installation): Item {
    return {
      pk: clientPk(i.clientId),
      sk: installationSk(i.software),
      type: 'installation',
      ...i,
      versionKey: versionKey(i.version),
      ...installationIndexKeys(i),
    };
  }

  historyItem(h: HistoryEntry, id: string): Item {
    return { pk: clientPk(h.clientId), sk: historySk(h.at, h.software, id), type: 'history', ...h };
  }

  async installationsOfClient(clientId: string): Promise<Installation[]> {
    const all: Installation[] = [];
    let after: PageState | undefined;
    do {
      const page = await this.installationsPage(clientId, { limit: 500, ...(after ? { after } : {}) });
      all.push(...page.items);
      after = page.next;
    } while (after);
    return all;
  }

  async installationsPage(clientId: string, page: PageRequest): Promise<Page<Installation>> {
    return this.queryPartition<Installation>(clientPk(clientId), 'SW#', page, true);
  }

  async historyOfClient(clientId: string, page: PageRequest): Promise<Page<HistoryEntry>> {
    return this.queryPartition<HistoryEntry>(clientPk(clientId), 'HIST#', page, false);
  }

  private async queryPartition<T>(
    pk: string,
    prefix: string,
    page: PageRequest,
    forward: boolean,
  ): Promise<Page<T>> {
    const after = stringField(page.after, 'sk');
    if (after !== undefined && !after.startsWith(prefix)) throw new Error('Malformed page state (sk)');
    const out = await this.db.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
        ExpressionAttributeValues: { ':pk': pk, ':prefix': prefix },
        ScanIndexForward: forward,
        Limit: page.limit + 1,
        ...(after ? { ExclusiveStartKey: { pk, sk: after } } : {}),
      }),
    );
    const { items, more } = pageOf(out.Items, page.limit);
    const last = more ? items[items.length - 1] : undefined;
    return { items: items.map((i) => strip<T>(i)), ...(last ? { next: { sk: String(last.sk) } } : {}) };
  }

  inventoriesOf(clientIds: string[]): Promise<Map<string, ClientInventory>> {
    return this.journal.read(clientIds);
  }

  applyInventoryBatch(sets: ClientChanges[]): Promise<Array<Conflict | undefined>> {
    return this.journal.apply(sets);
  }

  /**
   * Installations of one software, sorted, across the write shards: each shard is queried in
   * parallel for up to `limit` matches after its own position, the answers are merged, and the
   * cursor keeps each shard's position. The cost of a page does not grow with the installed base.
   */
  async installationsOfSoftware(q: InstallationQuery): Promise<Page<Installation>> {
    const index = q.sort === 'user' ? 'gsi1' : q.sort === 'department' ? 'gsi2' : 'gsi3';
    const positions = this.shardPositions(q.after);
    const useRangeKeys = q.sort === 'version';
    const bounds = versionRangeBounds(q.minVersion, q.maxVersion);
    const filter: Pick<QueryCommandInput, 'FilterExpression' | 'ExpressionAttributeValues'> = {};
    const values: Record<string, unknown> = {};
    const filters: string[] = [];
    if (!useRangeKeys) {
      if (q.minVersion) {
        filters.push('versionKey >= :minv');
        values[':minv'] = versionKey(q.minVersion);
      }
      if (q.maxVersion) {
        filters.push('versionKey <= :maxv');
        values[':maxv'] = versionKey(q.maxVersion);
      }
      if (filters.length) filter.FilterExpression = filters.join(' AND ');
    }
    const perShard = await Promise.all(
      positions.map(async (position, shard) => {
        if (position === null) return { items: [] as Item[] };
        const pk = installationsPk(q.software, shard);
        let keyCondition = `${index}pk = :pk`;
        const kv: Record<string, unknown> = { ':pk': pk, ...values };
        if (useRangeKeys && bounds.from && bounds.to) {
          keyCondition += ` AND ${index}sk BETWEEN :from AND :to`;
          kv[':from'] = bounds.from;
          kv[':to'] = bounds.to;
        } else if (useRangeKeys && bounds.from) {
          keyCondition += ` AND ${index}sk >= :from`;
          kv[':from'] = bounds.from;
        } else if (useRangeKeys && bounds.to) {
          keyCondition += ` AND ${index}sk <= :to`;
          kv[':to'] = bounds.to;
        }
        let start: Item | undefined =
          position === 0
            ? undefined
            : {
                [`${index}pk`]: pk,
                [`${index}sk`]: position[0],
                pk: clientPk(position[1]),
                sk: installationSk(q.software),
              };
        const items: Item[] = [];
        // One more than a page, so a shard with nothing left is known to be done. With a version
        // filter a query may return fewer than asked; keep reading to fill it.
        const want = q.limit + 1;
        do {
          const out = await this.db.send(
            new QueryCommand({
              TableName: this.tableName,
              IndexName: index.toUpperCase(),
              KeyConditionExpression: keyCondition,
              ExpressionAttributeValues: kv,
              ...(filter.FilterExpression ? { FilterExpression: filter.FilterExpression } : {}),
              Limit: want - items.length,
              ...(start ? { ExclusiveStartKey: start } : {}),
            }),
          );
          items.push(...(out.Items ?? []));
          start = out.LastEvaluatedKey;
        } while (start && items.length < want);
        return { items };
      }),
    );
    const sortKey = `${index}sk`;
    const cursors = perShard.map(() => 0);
    const page: Item[] = [];
    while (page.length < q.limit) {
      let best = -1;
      for (let s = 0; s < perShard.length; s++) {
        const candidate = perShard[s]!.items[cursors[s]!];
        if (!candidate) continue;
        const bestItem = best >= 0 ? perShard[best]!.items[cursors[best]!] : undefined;
        if (!bestItem || byteCompare(String(candidate[sortKey]), String(bestItem[sortKey])) < 0) best = s;
      }
      if (best < 0) break;
      page.push(perShard[best]!.items[cursors[best]!]!);
      cursors[best]!++;
    }
    const next: ShardPosition[] = positions.map((position, s) => {
      const shard = perShard[s]!;
      if (position === null) return null;
      const consumed = cursors[s]!;
      if (consumed < shard.items.length) {
        if (consumed === 0) return position;
        const last = shard.items[consumed - 1]!;
        return [String(last[sortKey]), String(last.clientId)];
      }
      // Everything this shard holds (it returned less than it was asked for) is on the page.
      return null;
    });
    const done = next.every((p) => p === null);
    return { items: page.map((i) => strip<Installation>(i)), ...(done ? {} : { next: { s: next } }) };
  }

  private shardPositions(after: PageState | undefined): ShardPosition[] {
    if (after === undefined) return Array.from({ length: INSTALLATION_SHARDS }, () => 0 as const);
    const s = after.s;
    const valid =
      Array.isArray(s) &&
      s.length === INSTALLATION_SHARDS &&
      s.every(
        (p) =>
          p === null ||
          p === 0 ||
          (Array.isArray(p) &&
            p.length === 2 &&
            p.every((x) => typeof x === 'string' && x.length > 0 && x.length < 1024)),
      );
    if (!valid) throw new Error('Malformed page state (s)');
    return s as ShardPosition[];
  }

  async installationsBelow(
    software: string,
    version: string,
  ): Promise<Array<{ clientId: string; user: string; department?: string }>> {
    const bound = belowVersionBound(version);
    const shards = await Promise.all(
      Array.from({ length: INSTALLATION_SHARDS }, async (_, shard) => {
        const found: Array<{ clientId: string; user: string; department?: string }> = [];
        let start: Item | undefined;
        do {
          const out = await this.db.send(
            new QueryCommand({
              TableName: this.tableName,
              IndexName: 'GSI3',
              KeyConditionExpression: 'gsi3pk = :pk AND gsi3sk < :bound',
              ExpressionAttributeValues: { ':pk': installationsPk(software, shard), ':bound': bound },
              ProjectionExpression: 'clientId, #u, department',
              ExpressionAttributeNames: { '#u': 'user' },
              ...(start ? { ExclusiveStartKey: start } : {}),
            }),
          );
          for (const i of out.Items ?? []) {
            found.push({
              clientId: String(i.clientId),
              user: String(i.user),
              ...(typeof i.department === 'string' ? { department: i.department } : {}),
            });
          }
          start = out.LastEvaluatedKey;
        } while (start);
        return found;
      }),
    );
    return shards.flat();
  }

  // ---- catalog and requests -----------------------------------------------------------------

  async getSoftware(name: string): Promise<CatalogEntry | undefined> {
    const out = await this.db.send(
      new GetCommand({ TableName: this.tableName, Key: { pk: softwarePk(name), sk: SOFTWARE_SK } }),
    );
    return out.Item ? strip<CatalogEntry>(out.Item) : undefined;
  }

  async getSoftwareMany(names: string[]): Promise<Map<string, CatalogEntry>> {
    const found = new Map<string, CatalogEntry>();
    for (const item of await this.batchGet(
      [...new Set(names)].map((n) => ({ pk: softwarePk(n), sk: SOFTWARE_SK })),
    )) {
      const entry = strip<CatalogEntry>(item);
      found.set(entry.name, entry);
      this.knownNames.set(entry.name, Date.now() + this.catalogCacheMs);
    }
    return found;
  }

  async knownSoftware(names: string[]): Promise<Set<string>> {
    const now = Date.now();
    const known = new Set<string>();
    const unknown: string[] = [];
    for (const name of new Set(names)) {
      if ((this.knownNames.get(name) ?? 0) > now) known.add(name);
      else unknown.push(name);
    }
    if (unknown.length > 0) for (const name of (await this.getSoftwareMany(unknown)).keys()) known.add(name);
    return known;
  }

  async putSoftware(entry: CatalogEntry): Promise<void> {
    await this.db.send(
      new PutCommand({
        TableName: this.tableName,
        Item: {
          pk: softwarePk(entry.name),
          sk: SOFTWARE_SK,
          type: 'software',
          ...entry,
          ...catalogIndexKeys(entry.name),
        },
      }),
    );
    this.knownNames.set(entry.name, Date.now() + this.catalogCacheMs);
  }

  async listSoftware(page: PageRequest): Promise<Page<CatalogEntry>> {
    const after = stringField(page.after, 'n');
    const out = await this.db.send(
      new QueryCommand({
        TableName: this.tableName,
        IndexName: 'GSI3',
        KeyConditionExpression: 'gsi3pk = :pk',
        ExpressionAttributeValues: { ':pk': CATALOG_PARTITION },
        Limit: page.limit + 1,
        ...(after
          ? {
              ExclusiveStartKey: {
                gsi3pk: CATALOG_PARTITION,
                gsi3sk: after,
                pk: softwarePk(after),
                sk: SOFTWARE_SK,
              },
            }
          : {}),
      }),
    );
    const page1 = pageOf(out.Items, page.limit);
    const items = page1.items.map((i) => strip<CatalogEntry>(i));
    const last = page1.more ? items[items.length - 1] : undefined;
    return { items, ...(last ? { next: { n: last.name } } : {}) };
  }

  async requestsInFlight(software: string, targetVersion: string): Promise<UpdateRequestRecord[]> {
    const found: UpdateRequestRecord[] = [];
    let start: Item | undefined;
    do {
      const out = await this.db.send(
        new QueryCommand({
          TableName: this.tableName,
          IndexName: 'GSI2',
          KeyConditionExpression: 'gsi2pk = :pk AND begins_with(gsi2sk, :prefix)',
          ExpressionAttributeValues: {
            ':pk': inFlightPk(software),
            ':prefix': `${versionKey(targetVersion)}#`,
          },
          ...(start ? { ExclusiveStartKey: start } : {}),
        }),
      );
      for (const item of out.Items ?? []) {
        const r = strip<UpdateRequestRecord>(item);
        // The index is sparse by contract; the status check keeps a stale entry from counting.
        if (isInFlight(r.status)) found.push(r);
      }
      start = out.LastEvaluatedKey;
    } while (start);
    return found;
  }

  // ---- approver table -----------------------------------------------------------------------

  async putPeriod(period: ApproverPeriod): Promise<void> {
    await this.db.send(
      new PutCommand({
        TableName: this.tableName,
        Item: {
          pk: periodPk(period.kind, period.user),
          sk: periodSk(period.validFrom, period.filedAt, period.periodId),
          type: 'period',
          ...period,
        },
        ConditionExpression: 'attribute_not_exists(pk)',
      }),
    );
  }

  async periodsStartedBy(
    kind: PeriodKind,
    user: string,
    at: string,
    page: PageRequest,
  ): Promise<Page<ApproverPeriod>> {
    const pk = periodPk(kind, user);
    const after = stringField(page.after, 'sk');
    const out = await this.db.send(
      new QueryCommand({
        TableName: this.tableName,
        // "~" sorts after every character of a filedAt/id, so every period starting at `at` is in.
        KeyConditionExpression: 'pk = :pk AND sk BETWEEN :lo AND :hi',
        ExpressionAttributeValues: { ':pk': pk, ':lo': 'PERIOD#', ':hi': `PERIOD#${at}#~` },
        ScanIndexForward: false,
        Limit: page.limit + 1,
        ...(after ? { ExclusiveStartKey: { pk, sk: after } } : {}),
      }),
    );
    const { items, more } = pageOf(out.Items, page.limit);
    const last = more ? items[items.length - 1] : undefined;
    return {
      items: items.map((i) => strip<ApproverPeriod>(i)),
      ...(last ? { next: { sk: String(last.sk) } } : {}),
    };
  }

  async listPeriods(kind: PeriodKind, user: string, page: PageRequest): Promise<Page<ApproverPeriod>> {
    return this.queryPartition<ApproverPeriod>(periodPk(kind, user), 'PERIOD#', page, true);
  }

  // ---- announcements ------------------------------------------------------------------------

  async putAnnouncement(a: Announcement): Promise<'created' | 'exists'> {
    try {
      await this.db.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { pk: announcementPk(a.announcementId), sk: ANNOUNCEMENT_SK, type: 'announcement', ...a },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
      return 'created';
    } catch (error) {
      if (isRace(error)) return 'exists';
      throw error;
    }
  }

  async markQueued(id: string, at: string): Promise<void> {
    await this.db.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { pk: announcementPk(id), sk: ANNOUNCEMENT_SK },
        UpdateExpression: 'SET queuedAt = if_not_exists(queuedAt, :at)',
        ConditionExpression: 'attribute_exists(pk)',
        ExpressionAttributeValues: { ':at': at },
      }),
    );
  }

  async getAnnouncement(id: string): Promise<Announcement | undefined> {
    const out = await this.db.send(
      new GetCommand({ TableName: this.tableName, Key: { pk: announcementPk(id), sk: ANNOUNCEMENT_SK } }),
    );
    return out.Item ? strip<Announcement>(out.Item) : undefined;
  }

  async claimDelivery(id: string, user: string, claim: string, at: string): Promise<ClaimResult> {
    try {
      await this.db.send(
        new PutCommand({
          TableName: this.tableName,
          Item: {
            pk: announcementPk(id),
            sk: deliverySk(user),
            type: 'delivery',
            user,
            status: 'sending',
            claim,
            claimedAt: at,
          },
          // Only the first try, or a retry after a send that is known to have failed.
          ConditionExpression: 'attribute_not_exists(pk) OR #s = :failed',
          ExpressionAttributeNames: { '#s': 'status' },
          ExpressionAttributeValues: { ':failed': 'failed' },
        }),
      );
      return 'claimed';
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return 'skip';
      throw error;
    }
  }

  async completeDelivery(
    id: string,
    user: string,
    claim: string,
    outcome:
      | { status: 'sent'; messageId: string; at: string }
      | { status: 'failed'; error: string; at: string },
  ): Promise<void> {
    const detail =
      outcome.status === 'sent' ? { ':d': outcome.messageId } : { ':d': outcome.error.slice(0, 500) };
    await this.db.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { pk: announcementPk(id), sk: deliverySk(user) },
        UpdateExpression: `SET #s = :s, finishedAt = :at, ${outcome.status === 'sent' ? 'messageId' : 'lastError'} = :d ADD attempts :one`,
        ConditionExpression: 'claim = :claim',
        ExpressionAttributeNames: { '#s': 'status' },
        ExpressionAttributeValues: {
          ':s': outcome.status,
          ':at': outcome.at,
          ':claim': claim,
          ':one': 1,
          ...detail,
        },
      }),
    );
  }

  async deliveryCounts(id: string): Promise<{ sent: number; failed: number; sending: number }> {
    const counts = { sent: 0, failed: 0, sending: 0 };
    let start: Item | undefined;
    do {
      const out = await this.db.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
          ExpressionAttributeValues: { ':pk': announcementPk(id), ':prefix': 'TO#' },
          ProjectionExpression: '#s',
          ExpressionAttributeNames: { '#s': 'status' },
          ...(start ? { ExclusiveStartKey: start } : {}),
        }),
      );
      for (const item of out.Items ?? []) {
        const s = item.status as keyof typeof counts;
        if (s in counts) counts[s]++;
      }
      start = out.LastEvaluatedKey;
    } while (start);
    return counts;
  }

  // ---- helpers ------------------------------------------------------------------------------

  /** BatchGetItem, 100 keys at a time, retrying what DynamoDB leaves unprocessed. */
  private async batchGet(allKeys: Item[], consistent = false): Promise<Item[]> {
    const items: Item[] = [];
    for (let i = 0; i < allKeys.length; i += 100) {
      let keys: Item[] | undefined = allKeys.slice(i, i + 100);
      for (let attempt = 0; keys && keys.length > 0; attempt++) {
        if (attempt > 0) await backoff(attempt);
        const out = await this.db.send(
          new BatchGetCommand({
            RequestItems: {
              [this.tableName]: { Keys: keys, ...(consistent ? { ConsistentRead: true } : {}) },
            },
          }),
        );
        items.push(...(out.Responses?.[this.tableName] ?? []));
        keys = out.UnprocessedKeys?.[this.tableName]?.Keys as Item[] | undefined;
      }
    }
    return items;
  }

  /** BatchWriteItem puts, 25 at a time, retrying what DynamoDB leaves unprocessed. */
  batchPut(items: Item[]): Promise<void> {
    return this.batchWrite(items.map((Item) => ({ PutRequest: { Item } })));
  }

  /** BatchWriteItem requests (PutRequest/DeleteRequest), 25 at a time, with retries. */
  private async batchWrite(all: Item[]): Promise<void> {
    for (let i = 0; i < all.length; i += 25) {
      let requests: Array<Record<string, unknown>> | undefined = all.slice(i, i + 25);
      for (let attempt = 0; requests && requests.length > 0; attempt++) {
        if (attempt > 0) await backoff(attempt);
        const out = await this.db.send(
          new BatchWriteCommand({ RequestItems: { [this.tableName]: requests as never } }),
        );
        requests = out.UnprocessedItems?.[this.tableName] as Array<Record<string, unknown>> | undefined;
      }
    }
  }

  async deleteItem(pk: string, sk: string): Promise<void> {
    await this.db.send(new DeleteCommand({ TableName: this.tableName, Key: { pk, sk } }));
  }
}

/** A query asked for limit + 1 items: the page is the first `limit`; the extra one says "more". */
function pageOf(items: Item[] | undefined, limit: number): { items: Item[]; more: boolean } {
  const all = items ?? [];
  return { items: all.slice(0, limit), more: all.length > limit };
}

function conflictOr(error: unknown, message: string): unknown {
  return isRace(error) ? new Conflict(message) : error;
}

/** DynamoDB sorts strings by their UTF-8 bytes; so must the merge. */
function byteCompare(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}
