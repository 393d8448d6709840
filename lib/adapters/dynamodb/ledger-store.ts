// The budget ledger on the registry table (docs/workflow.md "The ledger"):
//   budget       pk BUDGET#<department>  sk PERIOD#<period>   amount, reserved, committed, used, remaining
//   settings     pk BUDGET#<department>  sk SETTINGS          automaticAnswers
//   entry        pk BUDGET#<department>  sk ENTRY#<period>#<at>#<requestId|->#<kind>
//   reservation  pk REQ#<requestId>      sk LEDGER            department, period, amount, state
// Every movement is ONE transaction: the reservation's state change (conditional, so a retry
// or a second caller changes nothing), the budget's counters, and the entry. A reservation's
// condition is `remaining >= cost`, evaluated by DynamoDB on the item itself: no balance goes
// below zero whatever the concurrency. DynamoDB expressions cannot add two attributes, so the
// item keeps `used` (= reserved + committed) and `remaining` (= amount − used) beside them.
import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import {
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  TransactWriteCommand,
} from '@aws-sdk/lib-dynamodb';
import { BadRequest } from '../../errors.js';
import type { Page, PageRequest } from '../../ports/registry.js';
import { requestPk } from '../../registry/keys.js';
import type { Budget, LedgerEntry, LedgerMovement, LedgerStore, Reservation } from '../../workflow/ledger.js';
import { batchGetItems, queryAllItems, type TransactItem } from './client.js';

type Item = Record<string, unknown>;

export const budgetPk = (department: string) => `BUDGET#${department}`;
export const budgetSk = (period: string) => `PERIOD#${period}`;
export const SETTINGS_SK = 'SETTINGS';
/** GSI1: every department's budget of one period (the report), in department order. */
export const budgetsOfPeriodPk = (period: string) => `BUDGETS#${period}`;
export const RESERVATION_SK = 'LEDGER';
const entrySk = (e: LedgerEntry) => `ENTRY#${e.period}#${e.at}#${e.requestId ?? '-'}#${e.kind}`;

/** Concurrent transactions on one budget item conflict; each retry waits a little longer. */
const MAX_ATTEMPTS = 60;
const pause = (attempt: number) =>
  new Promise((r) => setTimeout(r, Math.min(200, 5 * 2 ** Math.min(attempt, 6)) * (0.5 + Math.random())));

export const isConflict = (e: unknown) =>
  e instanceof TransactionCanceledException &&
  (e.CancellationReasons ?? []).some((r) => r.Code === 'TransactionConflict');

export const failedConditions = (e: unknown): number[] =>
  e instanceof TransactionCanceledException
    ? (e.CancellationReasons ?? []).flatMap((r, i) => (r.Code === 'ConditionalCheckFailed' ? [i] : []))
    : [];

export function toBudget(item: Item): Budget {
  return {
    department: String(item.department),
    period: String(item.period),
    amount: Number(item.amount),
    reserved: Number(item.reserved ?? 0),
    committed: Number(item.committed ?? 0),
    remaining: Number(item.remaining),
    updatedAt: String(item.updatedAt),
    updatedBy: String(item.updatedBy),
  };
}

/** A department's budget items (and its settings item) as budgets by period and the switch. */
export function budgetsFromItems(items: Item[]): { budgets: Map<string, Budget>; automaticAnswers: boolean } {
  const budgets = new Map<string, Budget>();
  let automaticAnswers = true;
  for (const item of items) {
    if (item.sk === SETTINGS_SK) automaticAnswers = item.automaticAnswers !== false;
    else budgets.set(String(item.period), toBudget(item));
  }
  return { budgets, automaticAnswers };
}

/** Runs a transaction, retrying while it only conflicts with another one. */
export async function transactWithRetry(db: DynamoDBDocumentClient, items: TransactItem[]): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await db.send(new TransactWriteCommand({ TransactItems: items }));
      return;
    } catch (e) {
      if (!isConflict(e) || failedConditions(e).length > 0 || attempt >= MAX_ATTEMPTS) throw e;
      await pause(attempt);
    }
  }
}

export class DynamoLedgerStore implements LedgerStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  private entryPut(e: LedgerEntry): TransactItem {
    return {
      Put: {
        TableName: this.tableName,
        Item: { pk: budgetPk(e.department), sk: entrySk(e), ...e },
        ConditionExpression: 'attribute_not_exists(pk)',
      },
    };
  }

  /**
   * The items of a reservation, for a transaction of their own or inside the request's creation
   * (lib/adapters/dynamodb/workflow-store.ts). `automatic`: only while finance has left the
   * department's automatic answers on.
   */
  reservationItems(r: Reservation, by: string, at: string, automatic: boolean): TransactItem[] {
    return [
      {
        Update: {
          TableName: this.tableName,
          Key: { pk: budgetPk(r.department), sk: budgetSk(r.period) },
          UpdateExpression: 'SET reserved = reserved + :c, used = used + :c, remaining = remaining - :c',
          ConditionExpression: 'remaining >= :c',
          ExpressionAttributeValues: { ':c': r.amount },
        },
      },
      {
        Put: {
          TableName: this.tableName,
          Item: { pk: requestPk(r.requestId), sk: RESERVATION_SK, ...r, state: 'reserved', reservedAt: at },
          ConditionExpression: 'attribute_not_exists(pk)',
        },
      },
      this.entryPut({ ...r, kind: 'reserve', at, by }),
      ...(automatic
        ? [
            {
              ConditionCheck: {
                TableName: this.tableName,
                Key: { pk: budgetPk(r.department), sk: SETTINGS_SK },
                ConditionExpression: 'attribute_not_exists(pk) OR automaticAnswers = :on',
                ExpressionAttributeValues: { ':on': true },
              },
            } satisfies TransactItem,
          ]
        : []),
    ];
  }

  async budgetsOf(department: string, periods: string[]) {
    const keys = [
      ...periods.map((p) => ({ pk: budgetPk(department), sk: budgetSk(p) })),
      { pk: budgetPk(department), sk: SETTINGS_SK },
    ];
    return budgetsFromItems(await batchGetItems(this.db, this.tableName, keys, true));
  }

  async setBudget(
    department: string,
    period: string,
    amount: number,
    by: string,
    at: string,
  ): Promise<Budget> {
    await transactWithRetry(this.db, [
      {
        Update: {
          TableName: this.tableName,
          Key: { pk: budgetPk(department), sk: budgetSk(period) },
          // remaining = amount − used, computed by DynamoDB on the item (a reservation between
          // our read and this write is counted).
          UpdateExpression:
            'SET gsi1pk = :gpk, gsi1sk = :d, department = :d, period = :p, amount = :a, reserved = if_not_exists(reserved, :z), committed = if_not_exists(committed, :z), used = if_not_exists(used, :z), remaining = :a - if_not_exists(used, :z), updatedAt = :at, updatedBy = :by',
          ExpressionAttributeValues: {
            ':gpk': budgetsOfPeriodPk(period),
            ':d': department,
            ':p': period,
            ':a': amount,
            ':z': 0,
            ':at': at,
            ':by': by,
          },
        },
      },
      this.entryPut({ department, period, kind: 'set', amount, at, by }),
    ]);
    const { budgets } = await this.budgetsOf(department, [period]);
    return budgets.get(period)!;
  }

  async setAutomaticAnswers(department: string, on: boolean, by: string, at: string): Promise<void> {
    await this.db.send(
      new PutCommand({
        TableName: this.tableName,
        Item: {
          pk: budgetPk(department),
          sk: SETTINGS_SK,
          department,
          automaticAnswers: on,
          updatedAt: at,
          updatedBy: by,
        },
      }),
    );
  }

  async reserve(r: Reservation, by: string, at: string): Promise<'reserved' | 'insufficient' | 'held'> {
    try {
      await transactWithRetry(this.db, this.reservationItems(r, by, at, false));
      return 'reserved';
    } catch (e) {
      const failed = failedConditions(e);
      if (failed.includes(1)) return 'held';
      if (failed.includes(0)) return 'insufficient';
      throw e;
    }
  }

  /** The request's reservation, if it holds one (any state). */
  async reservationOf(requestId: string): Promise<(Reservation & { state: string }) | undefined> {
    const out = await this.db.send(
      new GetCommand({
        TableName: this.tableName,
        Key: { pk: requestPk(requestId), sk: RESERVATION_SK },
        ConsistentRead: true,
      }),
    );
    return out.Item as (Reservation & { state: string }) | undefined;
  }

  /**
   * The items of one movement of a reservation in state `from` (item 0 is its condition): a
   * commit moves reserved to committed; a release gives back what is reserved, or — when an
   * approved request's grant is revoked — what its purchase order committed.
   */
  movementItems(
    held: Reservation,
    from: 'reserved' | 'committed',
    kind: Extract<LedgerMovement, 'commit' | 'release'>,
    by: string,
    at: string,
    note?: string,
  ): TransactItem[] {
    const counters =
      kind === 'commit'
        ? 'SET reserved = reserved - :c, committed = committed + :c'
        : `SET ${from} = ${from} - :c, used = used - :c, remaining = remaining + :c`;
    return [
      {
        Update: {
          TableName: this.tableName,
          Key: { pk: requestPk(held.requestId), sk: RESERVATION_SK },
          UpdateExpression: 'SET #state = :next, movedAt = :at',
          ConditionExpression: '#state = :from',
          ExpressionAttributeNames: { '#state': 'state' },
          ExpressionAttributeValues: {
            ':next': kind === 'commit' ? 'committed' : 'released',
            ':from': from,
            ':at': at,
          },
        },
      },
      {
        Update: {
          TableName: this.tableName,
          Key: { pk: budgetPk(held.department), sk: budgetSk(held.period) },
          UpdateExpression: counters,
          ExpressionAttributeValues: { ':c': held.amount },
        },
      },
      this.entryPut({
        department: held.department,
        period: held.period,
        kind,
        amount: held.amount,
        at,
        by,
        requestId: held.requestId,
        ...(note ? { note } : {}),
      }),
    ];
  }

  /**
   * The items that commit a reservation known to the caller (it carried it from the budget
   * answer), inside another transaction: no read first. Its first item fails its condition when
   * the reservation is no longer reserved.
   */
  commitItems(held: Reservation, by: string, at: string): TransactItem[] {
    return this.movementItems(held, 'reserved', 'commit', by, at);
  }

  private async move(
    requestId: string,
    kind: Extract<LedgerMovement, 'commit' | 'release'>,
    by: string,
    at: string,
    note?: string,
  ): Promise<boolean> {
    // The reservation tells which budget; its state is re-checked by the transaction.
    const held = await this.reservationOf(requestId);
    if (!held || held.state !== 'reserved') return false;
    const reservation = {
      requestId,
      department: held.department,
      period: held.period,
      amount: held.amount,
    };
    try {
      await transactWithRetry(this.db, this.movementItems(reservation, 'reserved', kind, by, at, note));
      return true;
    } catch (e) {
      if (failedConditions(e).includes(0)) return false; // moved meanwhile by another caller
      throw e;
    }
  }

  commit(requestId: string, by: string, at: string): Promise<boolean> {
    return this.move(requestId, 'commit', by, at);
  }

  release(requestId: string, note: string, by: string, at: string): Promise<boolean> {
    return this.move(requestId, 'release', by, at, note);
  }

  async budgetsOfPeriod(period: string): Promise<Budget[]> {
    const items = await queryAllItems(this.db, {
      TableName: this.tableName,
      IndexName: 'GSI1',
      KeyConditionExpression: 'gsi1pk = :pk',
      ExpressionAttributeValues: { ':pk': budgetsOfPeriodPk(period) },
    });
    return items.map(toBudget);
  }

  async entries(department: string, period: string, page: PageRequest): Promise<Page<LedgerEntry>> {
    const prefix = `ENTRY#${period}#`;
    const after = page.after as { sk?: string } | undefined;
    if (after && (typeof after.sk !== 'string' || !after.sk.startsWith(prefix))) {
      throw new BadRequest('cursor is not a cursor this listing gave out', 'cursor');
    }
    const out = await this.db.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
        ExpressionAttributeValues: { ':pk': budgetPk(department), ':prefix': prefix },
        Limit: page.limit,
        ...(after?.sk ? { ExclusiveStartKey: { pk: budgetPk(department), sk: after.sk } } : {}),
      }),
    );
    const items = (out.Items ?? []).map(({ pk: _pk, sk: _sk, ...e }) => e as unknown as LedgerEntry);
    const lastKey = out.LastEvaluatedKey as { sk?: string } | undefined;
    return { items, ...(lastKey?.sk ? { next: { sk: lastKey.sk } } : {}) };
  }
}
