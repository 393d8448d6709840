// The workflow's items on the registry table (docs/workflow.md): requests (with the
// registry's keys), budget lines and batches, approval links and waits. Every read is a
// GetItem or a Query on a key or an index; the one decision is a conditional transaction.
import { ConditionalCheckFailedException, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import type { Page, PageRequest } from '../../ports/registry.js';
import { REQUEST_SK, requestItemKeys, requestPk } from '../../registry/keys.js';
import { isInFlight } from '../../registry/model.js';
import { compareVersions } from '../../registry/version.js';
import { requestIdOfApproval } from '../../workflow/ids.js';
import {
  APPROVAL_LINK_SK,
  approvalPk,
  approvalWaitSk,
  BATCH_SK,
  batchesPk,
  batchesSk,
  batchLinesPk,
  batchPk,
  IN_FLIGHT_LOCK_SK,
  inFlightLockPk,
  LINE_SK,
  linePk,
  OPEN_LINES_PK,
  openLineSk,
  requesterPk,
  requesterSk,
  secretMissSk,
  UNASSIGNED_WAITS_PK,
  UNRESUMED_DECISIONS_PK,
  waitIndexSk,
} from '../../workflow/keys.js';
import type { Reservation } from '../../workflow/ledger.js';
import type { LicenceHold } from '../../workflow/licences.js';
import type {
  ApprovalLink,
  ApprovalWait,
  BudgetAnswer,
  BudgetBatch,
  BudgetLine,
  Decision,
  StepRecord,
  UpdateRequest,
} from '../../workflow/model.js';
import type {
  AddLineResult,
  ApprovalStore,
  BudgetStore,
  CreateOutcome,
  RequestStore,
  SecretMisses,
  StepChange,
  StepWrite,
} from '../../workflow/ports.js';
import { batchGetItems, queryAllItems, type TransactItem } from './client.js';
import { DynamoLedgerStore, failedConditions, isConflict, transactWithRetry } from './ledger-store.js';
import { DynamoLicenceStore } from './licence-store.js';

type Item = Record<string, unknown>;

/**
 * Whether an existing request keeps a new one of the same client and software out: while it
 * waits for budget or approval, or once approved for a version at least as new (its key covers it).
 */
function blocks(existing: UpdateRequest, targetVersion: string): boolean {
  if (existing.status === 'AWAITING_BUDGET' || existing.status === 'AWAITING_APPROVAL') return true;
  return existing.status === 'APPROVED' && compareVersions(existing.targetVersion, targetVersion) >= 0;
}

const KEYS = ['pk', 'sk', 'gsi1pk', 'gsi1sk', 'gsi2pk', 'gsi2sk', 'gsi3pk', 'gsi3sk', 'expiresAt'];
/** Links and waits are kept this long after they end (TTL), for the record. */
const KEEP_SECONDS = 90 * 86_400;

function strip(item: Item, also: string[] = []): Item {
  const out: Item = {};
  for (const [k, v] of Object.entries(item)) if (!KEYS.includes(k) && !also.includes(k)) out[k] = v;
  return out;
}

export function toRequest(item: Item): UpdateRequest {
  const { deciderSet, ...rest } = strip(item) as Item & { deciderSet?: Set<string> };
  return {
    ...(rest as unknown as UpdateRequest),
    ...(deciderSet ? { deciders: [...deciderSet].sort() } : {}),
  };
}

const toLine = (item: Item) => strip(item, ['taskToken']) as unknown as BudgetLine;

const isConditionFailure = (e: unknown) => e instanceof ConditionalCheckFailedException;

/** A wait as stored; its step is its sort key's (the second approval's is APPROVAL#2). */
function waitOf(item: Record<string, unknown>): ApprovalWait {
  const wait = strip(item) as unknown as ApprovalWait;
  return item.sk === approvalWaitSk(2) ? { ...wait, step: 2 } : wait;
}

export class DynamoWorkflowStore implements RequestStore, BudgetStore, ApprovalStore {
  private readonly ledger: DynamoLedgerStore;
  private readonly licences: DynamoLicenceStore;

  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {
    this.ledger = new DynamoLedgerStore(db, tableName);
    this.licences = new DynamoLicenceStore(db, tableName);
  }

  // ---- requests --------------------------------------------------------------------------

  async createRequest(
    request: UpdateRequest,
    hold: { reservation?: Reservation; licence?: LicenceHold } = {},
  ): Promise<CreateOutcome> {
    const { reservation, licence } = hold;
    const { deciders: _deciders, ...fields } = request;
    const lockKey = { pk: inFlightLockPk(request.clientId, request.software), sk: IN_FLIGHT_LOCK_SK };
    // A lock whose request has left flight is stale: it is taken over, conditionally on it
    // still naming that request.
    let stale: string | undefined;
    for (let attempt = 1; ; attempt++) {
      const items: TransactItem[] = [
        {
          Put: {
            TableName: this.tableName,
            Item: {
              ...requestItemKeys(request),
              gsi1pk: requesterPk(request.requester),
              gsi1sk: requesterSk(request.createdAt, request.requestId),
              ...fields,
            },
            ConditionExpression: 'attribute_not_exists(pk)',
          },
        },
        {
          Put: {
            TableName: this.tableName,
            Item: {
              ...lockKey,
              requestId: request.requestId,
              targetVersion: request.targetVersion,
              at: request.createdAt,
            },
            ConditionExpression: stale ? 'requestId = :stale' : 'attribute_not_exists(pk)',
            ...(stale ? { ExpressionAttributeValues: { ':stale': stale } } : {}),
          },
        },
        ...(reservation ? this.ledger.reservationItems(reservation, 'ledger', request.createdAt, true) : []),
        ...(licence ? this.licences.takeItems(licence, request.createdAt) : []),
      ];
      try {
        await this.db.send(new TransactWriteCommand({ TransactItems: items }));
        return { outcome: 'created', request };
      } catch (e) {
        const failed = failedConditions(e);
        if (failed.includes(0)) {
          const existing = await this.getRequest(request.requestId);
          if (existing) return { outcome: 'exists', request: existing };
          throw e;
        }
        if (failed.includes(1)) {
          const lock = await this.db.send(
            new GetCommand({ TableName: this.tableName, Key: lockKey, ConsistentRead: true }),
          );
          const holder = lock.Item?.requestId as string | undefined;
          const existing = holder ? await this.getRequest(holder) : undefined;
          if (existing && blocks(existing, request.targetVersion)) {
            return {
              outcome: 'in-flight',
              existing: { requestId: existing.requestId, status: existing.status },
            };
          }
          stale = holder;
        } else if (failed.length > 0) {
          return { outcome: 'insufficient' }; // the budget (or its automatic answers), or the licence pool, said no
        } else if (!isConflict(e)) {
          throw e;
        }
        if (attempt >= 60) throw e;
        await new Promise((r) =>
          setTimeout(r, Math.min(200, 5 * 2 ** Math.min(attempt, 6)) * (0.5 + Math.random())),
        );
      }
    }
  }

  async getRequest(requestId: string): Promise<UpdateRequest | undefined> {
    const out = await this.db.send(
      new GetCommand({
        TableName: this.tableName,
        Key: { pk: requestPk(requestId), sk: REQUEST_SK },
        ConsistentRead: true,
      }),
    );
    return out.Item ? toRequest(out.Item) : undefined;
  }

  async listByRequester(user: string, page: PageRequest): Promise<Page<UpdateRequest>> {
    const after = page.after as { at: string; requestId: string } | undefined;
    const out = await this.db.send(
      new QueryCommand({
        TableName: this.tableName,
        IndexName: 'GSI1',
        KeyConditionExpression: 'gsi1pk = :pk',
        ExpressionAttributeValues: { ':pk': requesterPk(user) },
        ScanIndexForward: false,
        Limit: page.limit,
        ...(after
          ? {
              ExclusiveStartKey: {
                pk: requestPk(after.requestId),
                sk: REQUEST_SK,
                gsi1pk: requesterPk(user),
                gsi1sk: requesterSk(after.at, after.requestId),
              },
            }
          : {}),
      }),
    );
    const items = (out.Items ?? []).map(toRequest);
    const last = items[items.length - 1];
    return {
      items,
      ...(out.LastEvaluatedKey && last ? { next: { at: last.createdAt, requestId: last.requestId } } : {}),
    };
  }

  async recordStep(
    requestId: string,
    key: string,
    step: Omit<StepRecord, 'step'>,
    change: StepChange = {},
  ): Promise<void> {
    const update = this.stepUpdate(requestId, key, step, change);
    if (!change.commit) {
      await this.db.send(new UpdateCommand(update));
      return;
    }
    // The purchase order commits the reservation in the same write that records it.
    try {
      await transactWithRetry(this.db, [
        { Update: update },
        ...this.ledger.commitItems(change.commit, 'S507', String(step.at)),
      ]);
    } catch (e) {
      // Not reserved any more: committed by an earlier attempt of this task. The step alone.
      if (!failedConditions(e).includes(1)) throw e;
      await this.db.send(new UpdateCommand(update));
    }
  }

  /** The update of the request item that records a step (and its status, deciders, …). */
  private stepUpdate(requestId: string, key: string, step: Omit<StepRecord, 'step'>, change: StepChange) {
    const set = ['steps.#key = :step'];
    const names: Record<string, string> = { '#key': key };
    const values: Item = { ':step': step };
    const clauses: string[] = [];
    Object.entries(change.alsoSteps ?? {}).forEach(([k, v], i) => {
      set.push(`steps.#also${i} = :also${i}`);
      names[`#also${i}`] = k;
      values[`:also${i}`] = v;
    });
    if (change.executionArn) {
      set.push('executionArn = if_not_exists(executionArn, :exec)');
      values[':exec'] = change.executionArn;
    }
    if (change.status) {
      set.push('#status = :status');
      names['#status'] = 'status';
      values[':status'] = change.status;
    }
    if (change.statusReason) {
      set.push('statusReason = :reason');
      values[':reason'] = change.statusReason;
    }
    clauses.push(`SET ${set.join(', ')}`);
    if (change.addDeciders && change.addDeciders.length > 0) {
      clauses.push('ADD deciderSet :deciders');
      values[':deciders'] = new Set(change.addDeciders);
    }
    // Leaving flight: the forecast's sparse index must stop counting the request.
    if (change.status && !isInFlight(change.status)) clauses.push('REMOVE gsi2pk, gsi2sk');
    return {
      TableName: this.tableName,
      Key: { pk: requestPk(requestId), sk: REQUEST_SK },
      UpdateExpression: clauses.join(' '),
      ConditionExpression: 'attribute_exists(pk)',
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: values,
    };
  }

  // ---- budget lines and batches ------------------------------------------------------------

  async putLine(line: BudgetLine, taskToken: string): Promise<AddLineResult> {
    try {
      await this.db.send(
        new PutCommand({
          TableName: this.tableName,
          Item: {
            pk: linePk(line.lineId),
            sk: LINE_SK,
            gsi1pk: OPEN_LINES_PK,
            gsi1sk: openLineSk(line.createdAt, line.lineId),
            ...line,
            taskToken,
          },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
      return 'added';
    } catch (e) {
      if (!isConditionFailure(e)) throw e;
      // A retried S502 task: same line, new token.
      await this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: linePk(line.lineId), sk: LINE_SK },
          UpdateExpression: 'SET taskToken = :t',
          ExpressionAttributeValues: { ':t': taskToken },
        }),
      );
      return 'token-updated';
    }
  }

  async getLine(lineId: string): Promise<(BudgetLine & { taskToken?: string }) | undefined> {
    const out = await this.db.send(
      new GetCommand({
        TableName: this.tableName,
        Key: { pk: linePk(lineId), sk: LINE_SK },
        ConsistentRead: true,
      }),
    );
    return out.Item ? (strip(out.Item) as unknown as BudgetLine & { taskToken?: string }) : undefined;
  }

  async openLines(limit: number): Promise<BudgetLine[]> {
    const out = await this.db.send(
      new QueryCommand({
        TableName: this.tableName,
        IndexName: 'GSI1',
        KeyConditionExpression: 'gsi1pk = :pk',
        ExpressionAttributeValues: { ':pk': OPEN_LINES_PK },
        Limit: limit,
      }),
    );
    return (out.Items ?? []).map(toLine);
  }

  async closeBatch(batch: BudgetBatch, lines: BudgetLine[]): Promise<BudgetLine[]> {
    // The batch first: if this closer dies after moving lines, the next close finds the batch
    // in "closing" and sends it.
    await this.db.send(
      new PutCommand({
        TableName: this.tableName,
        Item: {
          pk: batchPk(batch.batchId),
          sk: BATCH_SK,
          gsi1pk: batchesPk('closing'),
          gsi1sk: batchesSk(batch.closedAt, batch.batchId),
          batchId: batch.batchId,
          closedAt: batch.closedAt,
          status: 'closing',
        },
        ConditionExpression: 'attribute_not_exists(pk)',
      }),
    );
    const taken: BudgetLine[] = [];
    const moveOne = async (line: BudgetLine) => {
      try {
        await this.db.send(
          new UpdateCommand({
            TableName: this.tableName,
            Key: { pk: linePk(line.lineId), sk: LINE_SK },
            UpdateExpression: 'SET batchId = :b, gsi1pk = :bp, gsi1sk = :id',
            ConditionExpression: 'gsi1pk = :open',
            ExpressionAttributeValues: {
              ':b': batch.batchId,
              ':bp': batchLinesPk(batch.batchId),
              ':id': line.lineId,
              ':open': OPEN_LINES_PK,
            },
          }),
        );
        taken.push({ ...line, batchId: batch.batchId });
      } catch (e) {
        if (!isConditionFailure(e)) throw e; // another closer (or a withdrawal) had it
      }
    };
    for (let i = 0; i < lines.length; i += 25) await Promise.all(lines.slice(i, i + 25).map(moveOne));
    if (taken.length === 0) {
      await this.db.send(
        new DeleteCommand({ TableName: this.tableName, Key: { pk: batchPk(batch.batchId), sk: BATCH_SK } }),
      );
    } else {
      await this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: batchPk(batch.batchId), sk: BATCH_SK },
          UpdateExpression: 'SET lineCount = :n',
          ExpressionAttributeValues: { ':n': taken.length },
        }),
      );
    }
    return taken.sort((a, b) => (a.createdAt < b.createdAt ? -1 : 1));
  }

  async batchesInStatus(status: BudgetBatch['status'], page: PageRequest): Promise<Page<BudgetBatch>> {
    const after = page.after as { closedAt: string; batchId: string } | undefined;
    const out = await this.db.send(
      new QueryCommand({
        TableName: this.tableName,
        IndexName: 'GSI1',
        KeyConditionExpression: 'gsi1pk = :pk',
        ExpressionAttributeValues: { ':pk': batchesPk(status) },
        Limit: page.limit,
        ...(after
          ? {
              ExclusiveStartKey: {
                pk: batchPk(after.batchId),
                sk: BATCH_SK,
                gsi1pk: batchesPk(status),
                gsi1sk: batchesSk(after.closedAt, after.batchId),
              },
            }
          : {}),
      }),
    );
    const items = (out.Items ?? []).map((i) => strip(i) as unknown as BudgetBatch);
    const last = items[items.length - 1];
    return {
      items,
      ...(out.LastEvaluatedKey && last ? { next: { closedAt: last.closedAt, batchId: last.batchId } } : {}),
    };
  }

  async getBatch(batchId: string): Promise<BudgetBatch | undefined> {
    const out = await this.db.send(
      new GetCommand({
        TableName: this.tableName,
        Key: { pk: batchPk(batchId), sk: BATCH_SK },
        ConsistentRead: true,
      }),
    );
    return out.Item ? (strip(out.Item) as unknown as BudgetBatch) : undefined;
  }

  async linesOfBatch(batchId: string): Promise<BudgetLine[]> {
    const items = await queryAllItems(this.db, {
      TableName: this.tableName,
      IndexName: 'GSI1',
      KeyConditionExpression: 'gsi1pk = :pk',
      ExpressionAttributeValues: { ':pk': batchLinesPk(batchId) },
    });
    return items.map(toLine);
  }

  async markBatchSent(batchId: string, messageId: string): Promise<void> {
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: batchPk(batchId), sk: BATCH_SK },
          UpdateExpression: 'SET #status = :s, gsi1pk = :gpk, messageId = :m',
          ConditionExpression: '#status = :closing',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: {
            ':s': 'awaiting-answer',
            ':gpk': batchesPk('awaiting-answer'),
            ':m': messageId,
            ':closing': 'closing',
          },
        }),
      );
    } catch (e) {
      if (!isConditionFailure(e)) throw e; // a concurrent resend marked it already
    }
  }

  async answerLine(batchId: string, lineId: string, answer: BudgetAnswer) {
    try {
      const out = await this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: linePk(lineId), sk: LINE_SK },
          UpdateExpression: 'SET answer = :a',
          ConditionExpression:
            'attribute_exists(pk) AND batchId = :b AND attribute_not_exists(answer) AND attribute_not_exists(withdrawnAt)',
          ExpressionAttributeValues: { ':a': answer, ':b': batchId },
          ReturnValues: 'ALL_NEW',
        }),
      );
      const item = out.Attributes ?? {};
      return { outcome: 'recorded' as const, line: toLine(item), taskToken: String(item.taskToken) };
    } catch (e) {
      if (!isConditionFailure(e)) throw e;
    }
    const line = await this.getLine(lineId);
    if (!line || line.batchId !== batchId) return { outcome: 'unknown' as const };
    if (line.answer) {
      return {
        outcome: 'duplicate' as const,
        line,
        answer: line.answer,
        ...(line.taskToken ? { taskToken: line.taskToken } : {}),
        ...(line.deliveredAt ? { deliveredAt: line.deliveredAt } : {}),
      };
    }
    return { outcome: 'withdrawn' as const };
  }

  async markDelivered(lineId: string, at: string): Promise<void> {
    await this.db.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { pk: linePk(lineId), sk: LINE_SK },
        UpdateExpression: 'SET deliveredAt = :at',
        ExpressionAttributeValues: { ':at': at },
      }),
    );
  }

  async withdrawLine(lineId: string, at: string): Promise<void> {
    try {
      // Still open: take it out of the next batch altogether.
      await this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: linePk(lineId), sk: LINE_SK },
          UpdateExpression: 'SET withdrawnAt = :at REMOVE gsi1pk, gsi1sk',
          ConditionExpression: 'gsi1pk = :open',
          ExpressionAttributeValues: { ':at': at, ':open': OPEN_LINES_PK },
        }),
      );
      return;
    } catch (e) {
      if (!isConditionFailure(e)) throw e;
    }
    let batchId: string | undefined;
    try {
      const out = await this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: linePk(lineId), sk: LINE_SK },
          UpdateExpression: 'SET withdrawnAt = :at',
          ConditionExpression: 'attribute_exists(pk) AND attribute_not_exists(answer)',
          ExpressionAttributeValues: { ':at': at },
          ReturnValues: 'ALL_NEW',
        }),
      );
      batchId = out.Attributes?.batchId as string | undefined;
    } catch (e) {
      if (!isConditionFailure(e)) throw e; // answered meanwhile, or never filed
    }
    if (batchId) await this.refreshBatchStatus(batchId);
  }

  async refreshBatchStatus(batchId: string): Promise<void> {
    const lines = await this.linesOfBatch(batchId);
    if (lines.some((l) => !l.answer && !l.withdrawnAt)) return;
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: batchPk(batchId), sk: BATCH_SK },
          UpdateExpression: 'SET #status = :s, gsi1pk = :gpk',
          ConditionExpression: '#status = :awaiting',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: {
            ':s': 'answered',
            ':gpk': batchesPk('answered'),
            ':awaiting': 'awaiting-answer',
          },
        }),
      );
    } catch (e) {
      if (!isConditionFailure(e)) throw e;
    }
  }

  // ---- approvals ------------------------------------------------------------------------------

  async openPhase(
    wait: Omit<ApprovalWait, 'decision'>,
    links: ApprovalLink[],
    record: StepWrite,
  ): Promise<{ decision?: Decision }> {
    // One transaction: the links, the wait (only while undecided) and the request's step.
    const items: TransactItem[] = [
      ...links.map((link) => this.newLinkPut(link)),
      {
        Update: {
          TableName: this.tableName,
          Key: { pk: requestPk(wait.requestId), sk: approvalWaitSk(wait.step) },
          // A wait nobody but the requester could decide joins the admins' queue (GSI1); one that
          // has deciders leaves it.
          UpdateExpression: wait.awaitingApprover
            ? 'SET requestId = :r, taskToken = :t, phase = :p, deciders = :d, phaseEndsAt = :e, awaitingApprover = :yes, requester = :req, gsi1pk = :qpk, gsi1sk = :qsk'
            : 'SET requestId = :r, taskToken = :t, phase = :p, deciders = :d, phaseEndsAt = :e REMOVE awaitingApprover, gsi1pk, gsi1sk',
          ConditionExpression: 'attribute_not_exists(decision)',
          ExpressionAttributeValues: {
            ':r': wait.requestId,
            ':t': wait.taskToken,
            ':p': wait.phase,
            ':d': wait.deciders,
            ':e': wait.phaseEndsAt ?? null,
            ...(wait.awaitingApprover
              ? {
                  ':yes': true,
                  ':req': wait.requester ?? null,
                  ':qpk': UNASSIGNED_WAITS_PK,
                  ':qsk': waitIndexSk(new Date().toISOString(), wait.requestId, wait.step),
                }
              : {}),
          },
        },
      },
      { Update: this.stepUpdate(wait.requestId, record.key, record.step, record.change ?? {}) },
    ];
    try {
      await transactWithRetry(this.db, items);
      return {};
    } catch (e) {
      // Decided while no token waited: nothing was written; the caller hands the decision over.
      if (!failedConditions(e).includes(links.length)) throw e;
      const decided = await this.getWait(wait.requestId, wait.step);
      if (!decided?.decision) throw e;
      return { decision: decided.decision };
    }
  }

  async getLink(approvalId: string): Promise<ApprovalLink | undefined> {
    const out = await this.db.send(
      new GetCommand({
        TableName: this.tableName,
        Key: { pk: approvalPk(approvalId), sk: APPROVAL_LINK_SK },
        ConsistentRead: true,
      }),
    );
    return out.Item ? (strip(out.Item) as unknown as ApprovalLink) : undefined;
  }

  async getLinkView(
    approvalId: string,
    source?: string,
  ): Promise<{ link?: ApprovalLink; wait?: ApprovalWait; request?: UpdateRequest; misses?: SecretMisses }> {
    const requestId = requestIdOfApproval(approvalId);
    if (!requestId) {
      // A link from before ids named their request: the link first, then what it names.
      const link = await this.getLink(approvalId);
      const misses = source ? await this.secretMisses(approvalId, source) : undefined;
      return link
        ? {
            link,
            ...(misses ? { misses } : {}),
            ...(await this.getWaitAndRequest(link.requestId, link.step)),
          }
        : {};
    }
    const keys = {
      link: { pk: approvalPk(approvalId), sk: APPROVAL_LINK_SK },
      first: { pk: requestPk(requestId), sk: approvalWaitSk() },
      second: { pk: requestPk(requestId), sk: approvalWaitSk(2) },
      request: { pk: requestPk(requestId), sk: REQUEST_SK },
      // The wrong secrets from this source, read with the rest (no extra call).
      ...(source ? { misses: { pk: approvalPk(approvalId), sk: secretMissSk(source) } } : {}),
    };
    const items = await batchGetItems(this.db, this.tableName, Object.values(keys), true);
    const find = (key: { pk: string; sk: string }) => items.find((i) => i.pk === key.pk && i.sk === key.sk);
    const linkItem = find(keys.link);
    if (!linkItem) return {};
    const link = strip(linkItem) as unknown as ApprovalLink;
    const missItem = keys.misses ? find(keys.misses) : undefined;
    const misses = missItem
      ? { misses: { count: Number(missItem.count), lastAt: String(missItem.lastAt) } }
      : {};
    if (link.requestId !== requestId) return { link, ...misses };
    const waitItem = find(link.step === 2 ? keys.second : keys.first);
    const requestItem = find(keys.request);
    return {
      link,
      ...misses,
      ...(waitItem ? { wait: waitOf(waitItem) } : {}),
      ...(requestItem ? { request: toRequest(requestItem) } : {}),
    };
  }

  private async secretMisses(approvalId: string, source: string): Promise<SecretMisses | undefined> {
    const out = await this.db.send(
      new GetCommand({
        TableName: this.tableName,
        Key: { pk: approvalPk(approvalId), sk: secretMissSk(source) },
        ConsistentRead: true,
      }),
    );
    return out.Item ? { count: Number(out.Item.count), lastAt: String(out.Item.lastAt) } : undefined;
  }

  async recordSecretMiss(approvalId: string, source: string, at: string): Promise<number> {
    const out = await this.db.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { pk: approvalPk(approvalId), sk: secretMissSk(source) },
        UpdateExpression: 'ADD #count :one SET lastAt = :at, expiresAt = :ttl',
        ExpressionAttributeNames: { '#count': 'count' },
        // A day after the last miss the counter goes (DynamoDB TTL).
        ExpressionAttributeValues: {
          ':one': 1,
          ':at': at,
          ':ttl': Math.floor(Date.parse(at) / 1000) + 86_400,
        },
        ReturnValues: 'UPDATED_NEW',
      }),
    );
    return Number(out.Attributes?.count ?? 1);
  }

  async getWait(requestId: string, step?: 2): Promise<ApprovalWait | undefined> {
    const out = await this.db.send(
      new GetCommand({
        TableName: this.tableName,
        Key: { pk: requestPk(requestId), sk: approvalWaitSk(step) },
        ConsistentRead: true,
      }),
    );
    return out.Item ? waitOf(out.Item) : undefined;
  }

  async getWaitAndRequest(
    requestId: string,
    step?: 2,
  ): Promise<{ wait?: ApprovalWait; request?: UpdateRequest }> {
    const out = await this.db.send(
      new BatchGetCommand({
        RequestItems: {
          [this.tableName]: {
            Keys: [
              { pk: requestPk(requestId), sk: approvalWaitSk(step) },
              { pk: requestPk(requestId), sk: REQUEST_SK },
            ],
            ConsistentRead: true,
          },
        },
      }),
    );
    if (Object.keys(out.UnprocessedKeys ?? {}).length > 0) {
      // Throttled: read them one by one rather than answer half.
      const [wait, request] = await Promise.all([this.getWait(requestId, step), this.getRequest(requestId)]);
      return { ...(wait ? { wait } : {}), ...(request ? { request } : {}) };
    }
    const items = out.Responses?.[this.tableName] ?? [];
    const waitItem = items.find((i) => i.sk === approvalWaitSk(step));
    const requestItem = items.find((i) => i.sk === REQUEST_SK);
    return {
      ...(waitItem ? { wait: waitOf(waitItem) } : {}),
      ...(requestItem ? { request: toRequest(requestItem) } : {}),
    };
  }

  async decide(link: ApprovalLink, decision: Decision): Promise<'decided' | 'taken'> {
    try {
      await this.db.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Update: {
                TableName: this.tableName,
                Key: { pk: approvalPk(link.approvalId), sk: APPROVAL_LINK_SK },
                UpdateExpression: 'SET usedAt = :at',
                ConditionExpression: 'attribute_not_exists(usedAt) AND kHash = :h',
                ExpressionAttributeValues: { ':at': decision.decidedAt, ':h': link.kHash },
              },
            },
            {
              Update: {
                TableName: this.tableName,
                Key: { pk: requestPk(link.requestId), sk: approvalWaitSk(link.step) },
                // Marked unresumed (GSI2) until the decision is known to have reached the
                // execution: the sweep and the link's next visit resume what is marked.
                UpdateExpression: 'SET decision = :d, gsi2pk = :upk, gsi2sk = :usk',
                ConditionExpression: 'attribute_not_exists(decision) AND contains(deciders, :u)',
                ExpressionAttributeValues: {
                  ':d': decision,
                  ':u': decision.decidedBy,
                  ':upk': UNRESUMED_DECISIONS_PK,
                  ':usk': waitIndexSk(decision.decidedAt, link.requestId, link.step),
                },
              },
            },
            {
              Update: {
                TableName: this.tableName,
                Key: { pk: requestPk(link.requestId), sk: REQUEST_SK },
                UpdateExpression: 'SET steps.#decided = :step',
                ConditionExpression: '#status = :awaiting',
                ExpressionAttributeNames: {
                  '#status': 'status',
                  '#decided': link.step === 2 ? 'S506.second' : 'S506',
                },
                ExpressionAttributeValues: {
                  ':awaiting': 'AWAITING_APPROVAL',
                  ':step': {
                    at: decision.decidedAt,
                    decision: decision.decision,
                    decidedBy: decision.decidedBy,
                    ...(decision.comment ? { comment: decision.comment } : {}),
                  },
                },
              },
            },
          ],
        }),
      );
      return 'decided';
    } catch (e) {
      // A failed condition: decided already, link used, or no longer a decider. A conflict with
      // a concurrent transaction (the same double click) is thrown and retried by the caller.
      if (
        e instanceof TransactionCanceledException &&
        (e.CancellationReasons ?? []).some((r) => r.Code === 'ConditionalCheckFailed')
      ) {
        return 'taken';
      }
      throw e;
    }
  }

  async markResumed(requestId: string, step: 2 | undefined, at: string): Promise<void> {
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: requestPk(requestId), sk: approvalWaitSk(step) },
          UpdateExpression: 'SET resumedAt = :at REMOVE gsi2pk, gsi2sk',
          ConditionExpression: 'attribute_exists(decision) AND attribute_not_exists(resumedAt)',
          ExpressionAttributeValues: { ':at': at },
        }),
      );
    } catch (e) {
      if (!isConditionFailure(e)) throw e;
    }
  }

  async unresumedDecisions(decidedBefore: string, limit: number): Promise<ApprovalWait[]> {
    const out = await this.db.send(
      new QueryCommand({
        TableName: this.tableName,
        IndexName: 'GSI2',
        KeyConditionExpression: 'gsi2pk = :pk AND gsi2sk < :before',
        ExpressionAttributeValues: { ':pk': UNRESUMED_DECISIONS_PK, ':before': decidedBefore },
        Limit: limit,
      }),
    );
    return (out.Items ?? []).map((i) => waitOf(i));
  }

  async unassignedWaits(page: PageRequest): Promise<Page<ApprovalWait>> {
    const after = page.after as { pk: string; sk: string; gsi1sk: string } | undefined;
    const out = await this.db.send(
      new QueryCommand({
        TableName: this.tableName,
        IndexName: 'GSI1',
        KeyConditionExpression: 'gsi1pk = :pk',
        ExpressionAttributeValues: { ':pk': UNASSIGNED_WAITS_PK },
        Limit: page.limit,
        ...(after ? { ExclusiveStartKey: { ...after, gsi1pk: UNASSIGNED_WAITS_PK } } : {}),
      }),
    );
    const items = out.Items ?? [];
    const last = out.LastEvaluatedKey;
    return {
      items: items.map((i) => waitOf(i)),
      ...(last ? { next: { pk: last.pk, sk: last.sk, gsi1sk: last.gsi1sk } } : {}),
    };
  }

  /** A new approval link, kept a while after it expires; never overwrites one. */
  private newLinkPut(link: ApprovalLink): TransactItem {
    return {
      Put: {
        TableName: this.tableName,
        Item: {
          pk: approvalPk(link.approvalId),
          sk: APPROVAL_LINK_SK,
          ...link,
          expiresAt: Math.floor(Date.parse(link.linkExpiresAt) / 1000) + KEEP_SECONDS,
        },
        ConditionExpression: 'attribute_not_exists(pk)',
      },
    };
  }

  async nameApprover(
    wait: ApprovalWait,
    named: { approver: string; namedBy: string },
    link: ApprovalLink,
  ): Promise<'named' | 'taken'> {
    try {
      await this.db.send(
        new TransactWriteCommand({
          TransactItems: [
            this.newLinkPut(link),
            {
              Update: {
                TableName: this.tableName,
                Key: { pk: requestPk(wait.requestId), sk: approvalWaitSk(wait.step) },
                UpdateExpression:
                  'SET deciders = :d, namedApprover = :a, namedBy = :by REMOVE awaitingApprover, gsi1pk, gsi1sk',
                // Only the phase the admin saw, still unassigned and undecided.
                ConditionExpression:
                  'awaitingApprover = :yes AND taskToken = :t AND attribute_not_exists(decision)',
                ExpressionAttributeValues: {
                  ':d': [named.approver],
                  ':a': named.approver,
                  ':by': named.namedBy,
                  ':yes': true,
                  ':t': wait.taskToken,
                },
              },
            },
          ],
        }),
      );
      return 'named';
    } catch (e) {
      if (
        e instanceof TransactionCanceledException &&
        (e.CancellationReasons ?? []).some((r) => r.Code === 'ConditionalCheckFailed')
      ) {
        return 'taken';
      }
      throw e;
    }
  }
}
