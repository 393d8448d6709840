// S502/S503: the batched budget query. Each request's line waits with its task token stored
// server-side; a close (scheduled, or "now") turns the open lines into batches of ONE queue
// message each; finance answers per line and each answer resumes its execution.
import { BadRequest, NotFound } from '../errors.js';
import { type Caller, requireRole } from '../http/identity.js';
import type { Page, PageRequest } from '../ports/registry.js';
import { booleanOf, pageSizeOf, requireObject, textOf } from '../registry/validate.js';
import { isBatchId, isLineId, lineIdOf, newBatchId } from './ids.js';
import { budgetFor, type LedgerStore } from './ledger.js';
import type { BudgetAnswer, BudgetBatch, BudgetLine, BudgetResult, ExecutionInput } from './model.js';
import { isStoredInstant } from './periods.js';
import type { PolicyConfig } from './policy.js';
import type { BudgetStore, Clock, MessageQueue, RequestStore, TaskCallbacks } from './ports.js';

export type BatchSchedule = 'immediate' | 'daily' | 'weekly';

export interface BudgetPorts {
  budget: BudgetStore;
  requests: RequestStore;
  queue: MessageQueue;
  callbacks: TaskCallbacks;
  clock: Clock;
  /** Lines per message; a bigger backlog closes into several batches. */
  maxLinesPerBatch: number;
  /** Where finance posts answers (named in each message). */
  apiUrl: string;
  ledger: Pick<LedgerStore, 'budgetsOf' | 'reserve' | 'release'>;
  policy: PolicyConfig;
}

/** A batch left "closing" this long is taken to have lost its sender, and is sent again. */
const STALE_CLOSING_MS = 5 * 60_000;

const round2 = (n: number) => Math.round(n * 100) / 100;

/** S502 task (lambda:invoke.waitForTaskToken): files the request's line with its token. */
export async function fileBudgetLine(
  ports: BudgetPorts & { schedule: BatchSchedule },
  input: ExecutionInput & { taskToken: string; executionArn?: string },
): Promise<{ lineId: string; closed: boolean }> {
  const at = ports.clock.now().toISOString();
  const line: BudgetLine = {
    lineId: lineIdOf(input.requestId),
    requestId: input.requestId,
    requester: input.requester,
    department: input.department,
    software: input.software,
    version: input.targetVersion,
    quantity: input.quantity,
    unitPrice: input.unitPrice,
    total: round2(input.quantity * input.unitPrice),
    createdAt: at,
  };
  await ports.budget.putLine(line, input.taskToken);
  await ports.requests.recordStep(
    input.requestId,
    'S502',
    { at, lineId: line.lineId },
    { status: 'AWAITING_BUDGET', ...(input.executionArn ? { executionArn: input.executionArn } : {}) },
  );
  if (ports.schedule === 'immediate') {
    await closeBatches(ports);
    return { lineId: line.lineId, closed: true };
  }
  return { lineId: line.lineId, closed: false };
}

export interface BudgetMessage {
  type: 'budget-batch';
  batchId: string;
  closedAt: string;
  answerUrl: string;
  lines: Array<Omit<BudgetLine, 'createdAt' | 'batchId' | 'answer'>>;
}

function messageOf(
  batch: { batchId: string; closedAt: string },
  lines: BudgetLine[],
  apiUrl: string,
): BudgetMessage {
  return {
    type: 'budget-batch',
    batchId: batch.batchId,
    closedAt: batch.closedAt,
    answerUrl: `${apiUrl.replace(/\/$/, '')}/budget-batches/${batch.batchId}/answers`,
    lines: lines.map(financeLine),
  };
}

/** A budget line as finance sees it, on the queue and in the batch list. */
function financeLine(l: BudgetLine) {
  return {
    lineId: l.lineId,
    requestId: l.requestId,
    requester: l.requester,
    department: l.department,
    software: l.software,
    version: l.version,
    quantity: l.quantity,
    unitPrice: l.unitPrice,
    total: l.total,
  };
}

/** Closes every open line into batches; each batch becomes ONE message on the budget queue. */
export async function closeBatches(
  ports: BudgetPorts,
): Promise<{ batches: Array<{ batchId: string; lines: number; resent?: boolean }> }> {
  const done: Array<{ batchId: string; lines: number; resent?: boolean }> = [];
  // First, batches whose sender died between closing and sending.
  const stale = await ports.budget.batchesInStatus('closing', { limit: 25 });
  for (const batch of stale.items) {
    if (ports.clock.now().getTime() - Date.parse(batch.closedAt) < STALE_CLOSING_MS) continue;
    const lines = await ports.budget.linesOfBatch(batch.batchId);
    await send(ports, batch, lines);
    done.push({ batchId: batch.batchId, lines: lines.length, resent: true });
  }
  for (;;) {
    const open = await ports.budget.openLines(ports.maxLinesPerBatch);
    if (open.length === 0) break;
    const now = ports.clock.now();
    const batch: BudgetBatch = { batchId: newBatchId(now), closedAt: now.toISOString(), status: 'closing' };
    const taken = await ports.budget.closeBatch(batch, open);
    if (taken.length === 0) continue; // another closer took them first
    await send(ports, batch, taken);
    done.push({ batchId: batch.batchId, lines: taken.length });
  }
  return { batches: done };
}

async function send(ports: BudgetPorts, batch: { batchId: string; closedAt: string }, lines: BudgetLine[]) {
  const { messageId } = await ports.queue.send(messageOf(batch, lines, ports.apiUrl), batch.batchId);
  await ports.budget.markBatchSent(batch.batchId, messageId);
}

/** POST /budget-batches/close: finance or an admin closes the open batch now. */
export async function closeNow(ports: BudgetPorts, caller: Caller) {
  requireRole(caller, 'finance', 'admins');
  return closeBatches(ports);
}

export type AnswerOutcome = 'accepted' | 'duplicate' | 'late' | 'unknown' | 'over-budget';

export function parseAnswers(body: unknown): Array<{ lineId: string; available: boolean; note?: string }> {
  const b = requireObject(body);
  if (!Array.isArray(b.answers) || b.answers.length === 0 || b.answers.length > 500) {
    throw new BadRequest('answers must be a list of 1 to 500 answers', 'answers');
  }
  const seen = new Set<string>();
  return b.answers.map((raw, i) => {
    const a = requireObject(raw, `answers[${i}]`);
    if (typeof a.lineId !== 'string' || !isLineId(a.lineId)) {
      throw new BadRequest(`answers[${i}].lineId is not a line id`, `answers[${i}].lineId`);
    }
    if (seen.has(a.lineId))
      throw new BadRequest(`answers[${i}].lineId is answered twice`, `answers[${i}].lineId`);
    seen.add(a.lineId);
    if (typeof a.available !== 'boolean') {
      throw new BadRequest(`answers[${i}].available must be true or false`, `answers[${i}].available`);
    }
    return {
      lineId: a.lineId,
      available: booleanOf(a.available, `answers[${i}].available`, false),
      ...(a.note === undefined || a.note === null || a.note === ''
        ? {}
        : { note: textOf(a.note, `answers[${i}].note`, 500) }),
    };
  });
}

/**
 * S503: records each answer once and resumes its execution. A duplicate (the line already has
 * an answer) or a late one (its execution no longer waits) changes nothing and says so.
 */
export async function answerBatch(ports: BudgetPorts, caller: Caller, batchIdParam: string, body: unknown) {
  requireRole(caller, 'finance', 'admins');
  if (!isBatchId(batchIdParam)) throw new BadRequest('batchId is not a batch id', 'batchId');
  const answers = parseAnswers(body);
  const batch = await ports.budget.getBatch(batchIdParam);
  if (!batch) throw new NotFound(`No batch ${batchIdParam}`, 'batchId');
  const answeredAt = ports.clock.now().toISOString();
  const results: Array<{ lineId: string; outcome: AnswerOutcome; answer?: BudgetAnswer }> = [];
  for (const a of answers) {
    const answer: BudgetAnswer = {
      available: a.available,
      ...(a.note ? { note: a.note } : {}),
      answeredAt,
      answeredBy: caller.user,
    };
    // A "yes" reserves the line's cost on the department's budget, where one is set; a yes the
    // remaining budget cannot cover records nothing (finance raises the budget or answers no).
    let reserved = false;
    // What the execution is told the answer reserved (undefined: not known, read at S507).
    let reservation: BudgetResult['reservation'] = null;
    if (a.available) {
      const held = await reserveForAnswer(ports, batch.batchId, a.lineId, caller.user, answeredAt);
      if (held.outcome === 'insufficient') {
        results.push({ lineId: a.lineId, outcome: 'over-budget' });
        continue;
      }
      reserved = held.outcome === 'reserved';
      reservation = held.outcome === 'held' ? undefined : (held.reservation ?? null);
    }
    const r = await ports.budget.answerLine(batch.batchId, a.lineId, answer);
    if (reserved && r.outcome !== 'recorded') {
      await ports.ledger.release(lineRequestId(a.lineId), `answer ${r.outcome}`, caller.user, answeredAt);
    }
    if (r.outcome === 'unknown') {
      results.push({ lineId: a.lineId, outcome: 'unknown' });
    } else if (r.outcome === 'withdrawn') {
      results.push({ lineId: a.lineId, outcome: 'late' });
    } else if (r.outcome === 'duplicate') {
      // An answer recorded whose hand-over failed is handed over again (the resend's purpose).
      if (r.taskToken && !r.deliveredAt) {
        await deliver(ports, r.line, r.answer, r.taskToken);
      }
      results.push({ lineId: a.lineId, outcome: 'duplicate', answer: r.answer });
    } else {
      const delivered = await deliver(ports, r.line, answer, r.taskToken, reservation);
      results.push({ lineId: a.lineId, outcome: delivered ? 'accepted' : 'late' });
    }
  }
  await ports.budget.refreshBatchStatus(batch.batchId);
  return { batchId: batch.batchId, results };
}

const lineRequestId = (lineId: string) => `r-${lineId.slice(2)}`;

async function reserveForAnswer(
  ports: BudgetPorts,
  batchId: string,
  lineId: string,
  by: string,
  at: string,
): Promise<{
  outcome: 'reserved' | 'insufficient' | 'held' | 'none';
  reservation?: { period: string; amount: number };
}> {
  const line = await ports.budget.getLine(lineId);
  if (!line || line.batchId !== batchId || line.answer || line.withdrawnAt) return { outcome: 'none' };
  const budget = await budgetFor(ports, line.department, new Date(line.createdAt));
  if (!budget) return { outcome: 'none' };
  const reservation = { period: budget.period, amount: line.total };
  const outcome = await ports.ledger.reserve(
    { requestId: line.requestId, department: line.department, ...reservation },
    by,
    at,
  );
  return outcome === 'reserved' ? { outcome, reservation } : { outcome };
}

async function deliver(
  ports: BudgetPorts,
  line: BudgetLine,
  answer: BudgetAnswer,
  token: string,
  reservation?: BudgetResult['reservation'],
): Promise<boolean> {
  const result: BudgetResult = {
    lineId: line.lineId,
    batchId: line.batchId ?? '',
    available: answer.available,
    note: answer.note ?? '',
    answeredAt: answer.answeredAt,
    quantity: line.quantity,
    unitPrice: line.unitPrice,
    total: line.total,
    ...(reservation !== undefined ? { reservation } : {}),
  };
  const outcome = await ports.callbacks.succeed(token, result);
  if (outcome === 'delivered') await ports.budget.markDelivered(line.lineId, ports.clock.now().toISOString());
  return outcome === 'delivered';
}

/** GET /budget-batches?status=awaiting-answer|answered: batches with their lines. */
export async function listBatches(
  ports: Pick<BudgetPorts, 'budget' | 'ledger' | 'policy'>,
  caller: Caller,
  query: Record<string, string>,
) {
  requireRole(caller, 'finance', 'admins', 'auditors');
  const status = query.status ?? 'awaiting-answer';
  if (status !== 'awaiting-answer' && status !== 'answered') {
    throw new BadRequest('status must be awaiting-answer or answered', 'status');
  }
  const limit = pageSizeOf(query.limit);
  const after = decodeBatchCursor(query.cursor);
  const page: Page<BudgetBatch> = await ports.budget.batchesInStatus(status, {
    limit,
    ...(after ? { after } : {}),
  } as PageRequest);
  // The remaining budget beside each line, read once per department and month.
  const remaining = new Map<string, Promise<{ period: string; remaining: number } | null>>();
  const budgetOf = (l: BudgetLine) => {
    const key = `${l.department}\n${l.createdAt.slice(0, 7)}`;
    if (!remaining.has(key)) {
      remaining.set(
        key,
        budgetFor(ports, l.department, new Date(l.createdAt)).then((b) =>
          b ? { period: b.period, remaining: b.remaining } : null,
        ),
      );
    }
    return remaining.get(key)!;
  };
  const items = await Promise.all(
    page.items.map(async (b) => {
      const lines = await ports.budget.linesOfBatch(b.batchId);
      const shown = status === 'awaiting-answer' ? lines.filter((l) => !l.answer && !l.withdrawnAt) : lines;
      return {
        batchId: b.batchId,
        closedAt: b.closedAt,
        lines: await Promise.all(
          shown.map(async (l) => ({
            ...financeLine(l),
            budget: await budgetOf(l),
            ...(l.answer ? { answer: l.answer } : {}),
          })),
        ),
      };
    }),
  );
  return {
    items,
    ...(page.next ? { cursor: Buffer.from(JSON.stringify(page.next)).toString('base64url') } : {}),
  };
}

function decodeBatchCursor(cursor: string | undefined): Record<string, unknown> | undefined {
  if (cursor === undefined || cursor === '') return undefined;
  try {
    const state = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as Record<string, unknown>;
    if (isStoredInstant(state.closedAt) && typeof state.batchId === 'string' && isBatchId(state.batchId)) {
      return { closedAt: state.closedAt, batchId: state.batchId };
    }
  } catch {
    // below
  }
  throw new BadRequest('cursor is not a cursor this listing gave out', 'cursor');
}
