// How a client's inventory is written (docs/registry.md "Writing an inventory").
//
// The head item (pk CLIENT#<id>, sk INVENTORY) holds the client's installations as the registry
// knows them and `seq`, the number of change sets applied. A change set is committed by ONE
// conditional write of the head: seq n → n+1, the new installations, and the set itself as
// `pending`. Then it is materialised with batched writes: installation items, then history
// entries, then the last history entry of the set (its marker). Materialising is idempotent
// (history ids derive from seq, items from the head), so it can be repeated safely.
//
// A reader that finds a pending set whose marker is missing knows it is still being written:
// within the lease it is busy (the caller answers 409), after the lease its writer is gone
// (the lease outlasts every function that writes inventories) and the reader claims the set
// and completes it. Only the winner of the head's condition writes anything, so two reports of
// one client never interleave.
//
// Why not one transaction per report, as DESIGN §3 first suggests: DynamoDB (and DynamoDB Local
// even more) charges a transactional write about twice a batched one, and a report is mostly
// many small items. One conditional write per report keeps the agreement of history and
// installations (a committed set is always completed, never half-applied for good) at batch cost.
// Sets with no history (re-filings after a client's department or name changed) and the single
// change of a completed download (S605, with its grant) use one transaction instead.
import {
  BatchExecuteStatementCommand,
  type DynamoDBDocumentClient,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { Conflict } from '../../errors.js';
import type { ClientChanges, ClientInventory, InventoryChange } from '../../ports/registry.js';
import { clientPk, historyId, historySk, INVENTORY_SK, installationSk } from '../../registry/keys.js';
import type { HistoryEntry, Installation } from '../../registry/model.js';
import { backoff, isRace, RACE_CODES } from './races.js';

type Item = Record<string, unknown>;

/**
 * How long a pending change set belongs to the writer that committed it. It must outlast the
 * longest function that writes inventories (the registry API: 29 s; asserted in
 * test/cdk/registry-api.test.ts), so that a set is only ever taken over from a dead writer.
 */
export const INVENTORY_LEASE_MS = 5 * 60_000;

/** What the head keeps of an installation (the client id is the head's). */
type HeldInstallation = Omit<Installation, 'clientId'>;

const heldOf = ({ clientId: _c, ...held }: Installation): HeldInstallation => held;

/** A history entry as the pending set keeps it: what the head's installations cannot tell. */
interface PackedHistory {
  software: string;
  change: HistoryEntry['change'];
  at: string;
  previousVersion?: string;
  previousRevision?: HistoryEntry['revision'];
  /** Only for removals: the removed installation is no longer in the head. */
  version?: string;
  revision?: HistoryEntry['revision'];
  user?: string;
}

interface PendingSet {
  /** When its writer committed it (or last claimed it): the lease runs from here. */
  at: string;
  recordedAt: string;
  source: HistoryEntry['source'];
  put: string[];
  delete: string[];
  history: PackedHistory[];
}

export interface HeadItem {
  pk: string;
  sk: string;
  type: 'inventory';
  clientId: string;
  seq: number;
  // A Map, never a plain object: software names are keys, and a name such as "constructor"
  // must neither find an inherited member nor trip the marshaller.
  installed: Map<string, HeldInstallation>;
  pending?: PendingSet;
}

/** The item shapes of the registry's adapter: one definition of installation/history items. */
export interface ItemShapes {
  installationItem(i: Installation): Item;
  historyItem(h: HistoryEntry, id: string): Item;
}

export interface JournalOptions {
  now?: () => Date;
  leaseMs?: number;
}

/** A transaction holds at most 100 actions: the head plus up to 99 writes. */
const TRANSACTION_WRITES = 99;
/** BatchExecuteStatement takes at most 25 statements. */
const STATEMENTS_PER_CALL = 25;
const RETRY_CODES = new Set([
  'ProvisionedThroughputExceeded',
  'ThrottlingError',
  'RequestLimitExceeded',
  'InternalServerError',
]);

export const headKey = (clientId: string) => ({ pk: clientPk(clientId), sk: INVENTORY_SK });

export class InventoryJournal {
  private readonly now: () => Date;
  private readonly leaseMs: number;

  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly shapes: ItemShapes,
    private readonly io: {
      batchGet(keys: Item[], consistent: boolean): Promise<Item[]>;
      batchWrite(requests: Item[]): Promise<void>;
    },
    options: JournalOptions = {},
  ) {
    this.now = options.now ?? (() => new Date());
    this.leaseMs = options.leaseMs ?? INVENTORY_LEASE_MS;
  }

  /**
   * The inventories of `clientIds` (every id answers; a client never reported has seq 0 and no
   * installations). A set left pending by a writer whose lease ran out is completed first.
   */
  async read(clientIds: string[]): Promise<Map<string, ClientInventory>> {
    const ids = [...new Set(clientIds)];
    const heads = new Map<string, HeadItem>();
    for (const item of await this.io.batchGet(ids.map(headKey), true)) {
      const stored = item as unknown as Omit<HeadItem, 'installed'> & {
        installed?: Record<string, HeldInstallation>;
      };
      heads.set(String(item.clientId), {
        ...stored,
        installed: new Map(Object.entries(stored.installed ?? {})),
      });
    }
    const open = [...heads.values()].filter((h) => h.pending);
    const markers = open.map(markerKey);
    const keyOf = (m: Item) => `${m.pk}|${m.sk}`;
    const written = new Set((await this.io.batchGet(markers, true)).map(keyOf));
    const busy = new Set<string>();
    const abandoned: HeadItem[] = [];
    for (const [k, head] of open.entries()) {
      if (written.has(keyOf(markers[k]!))) continue;
      const age = this.now().getTime() - Date.parse(head.pending!.at);
      if (age < this.leaseMs || !(await this.claim(head))) busy.add(head.clientId);
      else abandoned.push(head);
    }
    await this.materialise(abandoned);
    return new Map(
      ids.map((clientId) => {
        const head = heads.get(clientId);
        const installations = [...(head?.installed.values() ?? [])].map((i) => ({ clientId, ...i }));
        return [clientId, { clientId, seq: head?.seq ?? 0, installations, busy: busy.has(clientId) }];
      }),
    );
  }

  /**
   * Applies each client's change set, conditional on the inventory it was worked out from. A
   * set whose base is busy or no longer current gets a Conflict (same order as `sets`); the
   * others are applied.
   */
  async apply(sets: ClientChanges[]): Promise<Array<Conflict | undefined>> {
    const outcome: Array<Conflict | undefined> = sets.map(() => undefined);
    const journaled: number[] = [];
    for (const [i, set] of sets.entries()) {
      if (set.changes.length === 0) continue;
      if (set.base.busy) outcome[i] = busyConflict(set.clientId);
      else if (set.changes.some((c) => c.history)) journaled.push(i);
      else outcome[i] = await this.applyInTransactions(set);
    }
    const heads = journaled.map((i) => this.headAfter(sets[i]!));
    const lost = await this.commit(
      heads,
      journaled.map((i) => sets[i]!.base.seq),
    );
    for (const [k, i] of journaled.entries()) {
      if (lost.has(k)) outcome[i] = changedConflict(sets[i]!.clientId);
    }
    await this.materialise(heads.filter((_, k) => !lost.has(k)));
    return outcome;
  }

  /**
   * The actions that write one small change set in a transaction (at most 99 writes, with the
   * head's update): for callers that add their own actions, like a grant's completion (S605).
   */
  transactionActions(set: ClientChanges): Item[] {
    if (set.base.busy) throw busyConflict(set.clientId);
    const TableName = this.tableName;
    const next = set.base.seq + 1;
    const writes: Item[] = [];
    const puts = new Map<string, HeldInstallation>();
    const removed: string[] = [];
    for (const change of set.changes) {
      if (change.kind === 'put') {
        puts.set(change.installation.software, heldOf(change.installation));
        writes.push({ Put: { TableName, Item: this.shapes.installationItem(change.installation) } });
      } else {
        removed.push(change.previous.software);
        writes.push({
          Delete: {
            TableName,
            Key: { pk: clientPk(set.clientId), sk: installationSk(change.previous.software) },
          },
        });
      }
      if (change.history) {
        writes.push({
          Put: {
            TableName,
            Item: this.shapes.historyItem(change.history, historyId(next)),
            ConditionExpression: 'attribute_not_exists(pk)',
          },
        });
      }
    }
    if (writes.length > TRANSACTION_WRITES)
      throw new Error('A transactional change set is limited to 99 writes');
    if (set.base.seq === 0) {
      const head: HeadItem = {
        ...headKey(set.clientId),
        type: 'inventory',
        clientId: set.clientId,
        seq: 1,
        installed: puts,
      };
      return [{ Put: { TableName, Item: head, ConditionExpression: 'attribute_not_exists(pk)' } }, ...writes];
    }
    const names: Record<string, string> = { '#i': 'installed' };
    const values: Record<string, unknown> = { ':seq': set.base.seq, ':next': next };
    const sets = ['seq = :next'];
    [...puts].forEach(([software, held], k) => {
      names[`#p${k}`] = software;
      values[`:p${k}`] = held;
      sets.push(`#i.#p${k} = :p${k}`);
    });
    const removes = ['pending'];
    removed.forEach((software, k) => {
      names[`#r${k}`] = software;
      removes.push(`#i.#r${k}`);
    });
    return [
      {
        Update: {
          TableName,
          Key: headKey(set.clientId),
          UpdateExpression: `SET ${sets.join(', ')} REMOVE ${removes.join(', ')}`,
          ConditionExpression: 'seq = :seq',
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
        },
      },
      ...writes,
    ];
  }

  /** A history-less set in transactions of up to 99 writes, each its own step of seq. */
  private async applyInTransactions(set: ClientChanges): Promise<Conflict | undefined> {
    let seq = set.base.seq;
    for (let i = 0; i < set.changes.length; i += TRANSACTION_WRITES) {
      const chunk = {
        ...set,
        base: { ...set.base, seq },
        changes: set.changes.slice(i, i + TRANSACTION_WRITES),
      };
      try {
        await this.db.send(
          new TransactWriteCommand({ TransactItems: this.transactionActions(chunk) as never }),
        );
      } catch (error) {
        if (isRace(error)) return changedConflict(set.clientId);
        throw error;
      }
      seq++;
    }
    return undefined;
  }

  /** The head after a set: its new installations, and the set as pending. */
  private headAfter(set: ClientChanges): HeadItem {
    const installed = new Map(set.base.installations.map((i) => [i.software, heldOf(i)]));
    // A journaled set has history (apply sends the others to transactions); its entries share
    // when they were recorded and where they came from.
    const { recordedAt, source } = set.changes.find((c) => c.history)!.history!;
    const pending: PendingSet = {
      at: this.now().toISOString(),
      recordedAt,
      source,
      put: [],
      delete: [],
      history: [],
    };
    for (const change of set.changes) {
      if (change.kind === 'put') {
        installed.set(change.installation.software, heldOf(change.installation));
        pending.put.push(change.installation.software);
      } else {
        installed.delete(change.previous.software);
        pending.delete.push(change.previous.software);
      }
      if (change.history) pending.history.push(pack(change));
    }
    return {
      ...headKey(set.clientId),
      type: 'inventory',
      clientId: set.clientId,
      seq: set.base.seq + 1,
      installed,
      pending,
    };
  }

  /**
   * The commit: each head written only if its seq is still `bases[k]` (absent for 0), 25 to a
   * BatchExecuteStatement. Answers the positions that lost their condition.
   */
  private async commit(heads: HeadItem[], bases: number[]): Promise<Set<number>> {
    const lost = new Set<number>();
    const table = `"${this.tableName}"`;
    for (let from = 0; from < heads.length; from += STATEMENTS_PER_CALL) {
      let todo = heads.slice(from, from + STATEMENTS_PER_CALL).map((_, k) => from + k);
      for (let attempt = 0; todo.length > 0; attempt++) {
        if (attempt > 0) await backoff(attempt);
        const statements = todo.map((k) => {
          const h = heads[k]!;
          return bases[k] === 0
            ? {
                Statement: `INSERT INTO ${table} VALUE {'pk': ?, 'sk': ?, 'type': ?, 'clientId': ?, 'seq': ?, 'installed': ?, 'pending': ?}`,
                Parameters: [h.pk, h.sk, h.type, h.clientId, h.seq, h.installed, h.pending],
              }
            : {
                Statement: `UPDATE ${table} SET seq = ? SET installed = ? SET pending = ? WHERE pk = ? AND sk = ? AND seq = ?`,
                Parameters: [h.seq, h.installed, h.pending, h.pk, h.sk, bases[k]],
              };
        });
        const out = await this.db.send(new BatchExecuteStatementCommand({ Statements: statements }));
        const again: number[] = [];
        todo.forEach((k, s) => {
          const code = out.Responses?.[s]?.Error?.Code;
          if (code === undefined) return;
          if (RACE_CODES.has(code)) lost.add(k);
          else if (RETRY_CODES.has(code) && attempt < 5) again.push(k);
          else throw new Error(`Writing the inventory head of ${heads[k]!.clientId} failed: ${code}`);
        });
        todo = again;
      }
    }
    return lost;
  }

  /** Takes over an abandoned set: only one reader may complete it. */
  private async claim(head: HeadItem): Promise<boolean> {
    const at = this.now().toISOString();
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: headKey(head.clientId),
          UpdateExpression: 'SET pending.#at = :at',
          ConditionExpression: 'seq = :seq AND pending.#at = :was',
          ExpressionAttributeNames: { '#at': 'at' },
          ExpressionAttributeValues: { ':at': at, ':seq': head.seq, ':was': head.pending!.at },
        }),
      );
      head.pending!.at = at;
      return true;
    } catch (error) {
      if (isRace(error)) return false;
      throw error;
    }
  }

  /** Installation items, then history entries, then each set's marker: all idempotent. */
  private async materialise(heads: HeadItem[]): Promise<void> {
    const items: Item[] = [];
    const history: Item[] = [];
    const markers: Item[] = [];
    for (const head of heads) {
      const pending = head.pending!;
      for (const software of pending.put) {
        items.push({ PutRequest: { Item: this.shapes.installationItem(installationOf(head, software)) } });
      }
      for (const software of pending.delete) {
        items.push({ DeleteRequest: { Key: { pk: clientPk(head.clientId), sk: installationSk(software) } } });
      }
      const entries = historyOf(head).map((h) => ({
        PutRequest: { Item: this.shapes.historyItem(h, historyId(head.seq)) },
      }));
      history.push(...entries.slice(0, -1));
      markers.push(...entries.slice(-1));
    }
    await this.io.batchWrite(items);
    await this.io.batchWrite(history);
    await this.io.batchWrite(markers);
  }
}

const installationOf = (head: HeadItem, software: string): Installation => ({
  clientId: head.clientId,
  ...head.installed.get(software)!,
});

function pack(change: InventoryChange): PackedHistory {
  const h = change.history!;
  return {
    software: h.software,
    change: h.change,
    at: h.at,
    ...(h.previousVersion !== undefined ? { previousVersion: h.previousVersion } : {}),
    ...(h.previousRevision !== undefined ? { previousRevision: h.previousRevision } : {}),
    ...(change.kind === 'delete' ? { version: h.version, revision: h.revision, user: h.user } : {}),
  };
}

/** The pending set's history entries, whole again. */
function historyOf(head: HeadItem): HistoryEntry[] {
  const pending = head.pending!;
  return pending.history.map((p) => {
    const now = head.installed.get(p.software);
    const { software, change, at, previousVersion, previousRevision } = p;
    return {
      clientId: head.clientId,
      software,
      change,
      version: p.version ?? now!.version,
      revision: p.revision ?? now!.revision,
      ...(previousVersion !== undefined ? { previousVersion } : {}),
      ...(previousRevision !== undefined ? { previousRevision } : {}),
      at,
      user: p.user ?? now!.user,
      recordedAt: pending.recordedAt,
      source: pending.source,
    };
  });
}

/** The key of the history entry a pending set writes last: present = the set is complete. */
function markerKey(head: HeadItem): Item {
  const last = head.pending!.history[head.pending!.history.length - 1]!;
  return { pk: clientPk(head.clientId), sk: historySk(last.at, last.software, historyId(head.seq)) };
}

const busyConflict = (clientId: string) =>
  new Conflict(
    `Another change of the inventory of ${clientId} is still being written; report again in a moment`,
  );
const changedConflict = (clientId: string) =>
  new Conflict(`The inventory of ${clientId} changed meanwhile; report it again`);
