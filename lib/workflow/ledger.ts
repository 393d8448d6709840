// Finance's budget ledger: a budget per department and period, and every movement against it
// (set, reserve, commit, release) as an entry. A line reserves its cost when its budget is
// answered; the purchase order (S507) commits it; rejection, expiry and failure release it, and
// so does revoking the grant of an approved request (the committed cost: DynamoGrantStore.revoke).
// The store makes each movement one transaction whose condition keeps the balance >= 0.
import { BadRequest, NotFound } from '../errors.js';
import { type Caller, requireRole } from '../http/identity.js';
import type { Page, PageRequest } from '../ports/registry.js';
import { booleanOf, departmentOf, pageSizeOf, requireObject } from '../registry/validate.js';
import { parsePeriod, periodsOf } from './periods.js';
import type { PolicyBudget, PolicyConfig } from './policy.js';
import type { Clock } from './ports.js';

export interface Budget {
  department: string;
  period: string;
  amount: number;
  reserved: number;
  committed: number;
  /** amount − reserved − committed; below 0 only when finance lowered the amount. */
  remaining: number;
  updatedAt: string;
  updatedBy: string;
}

export type LedgerMovement = 'set' | 'reserve' | 'commit' | 'release';

export interface LedgerEntry {
  department: string;
  period: string;
  kind: LedgerMovement;
  amount: number;
  at: string;
  by: string;
  requestId?: string;
  note?: string;
}

/** What a request holds on a budget (on the request's partition). */
export interface Reservation {
  requestId: string;
  department: string;
  period: string;
  amount: number;
}

export interface LedgerStore {
  /** The department's budgets of these periods (absent: none set), and its automatic-answer switch. */
  budgetsOf(
    department: string,
    periods: string[],
  ): Promise<{ budgets: Map<string, Budget>; automaticAnswers: boolean }>;
  setBudget(department: string, period: string, amount: number, by: string, at: string): Promise<Budget>;
  setAutomaticAnswers(department: string, on: boolean, by: string, at: string): Promise<void>;
  /** Reserves unless the remaining budget is short ('insufficient') or the request holds one ('held'). */
  reserve(r: Reservation, by: string, at: string): Promise<'reserved' | 'insufficient' | 'held'>;
  /** Moves the request's reservation to committed; false when it holds none still reserved. */
  commit(requestId: string, by: string, at: string): Promise<boolean>;
  /** Gives the request's reservation back; false when it holds none still reserved. */
  release(requestId: string, note: string, by: string, at: string): Promise<boolean>;
  entries(department: string, period: string, page: PageRequest): Promise<Page<LedgerEntry>>;
  /** Every department's budget of a period, in department order. */
  budgetsOfPeriod(period: string): Promise<Budget[]>;
}

export interface LedgerPorts {
  ledger: LedgerStore;
  clock: Clock;
  policy: PolicyConfig;
}

/** The budget a request created at `at` draws on: the month's if set, else the fiscal quarter's. */
export async function budgetFor(
  ports: { ledger: Pick<LedgerStore, 'budgetsOf'>; policy: PolicyConfig },
  department: string,
  at: Date,
): Promise<(PolicyBudget & { budget: Budget }) | undefined> {
  const periods = periodsOf(at, ports.policy.fiscalYearStartMonth);
  return budgetOfPeriods(await ports.ledger.budgetsOf(department, [periods.month, periods.quarter]), periods);
}

/** Of a department's budgets, the one a request draws on: the month's if set, else the quarter's. */
export function budgetOfPeriods(
  found: { budgets: Map<string, Budget>; automaticAnswers: boolean },
  periods: { month: string; quarter: string },
): (PolicyBudget & { budget: Budget }) | undefined {
  const budget = found.budgets.get(periods.month) ?? found.budgets.get(periods.quarter);
  return budget
    ? { period: budget.period, remaining: budget.remaining, automaticAnswers: found.automaticAnswers, budget }
    : undefined;
}

function amountOf(value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > 1e12) {
    throw new BadRequest('amount must be a number from 0 to 1000000000000', 'amount');
  }
  if (Math.round(value * 100) !== value * 100) {
    throw new BadRequest('amount must have at most two decimals', 'amount');
  }
  return value;
}

export const budgetView = (b: Budget, currency: string) => ({
  department: b.department,
  period: b.period,
  currency,
  amount: b.amount,
  reserved: b.reserved,
  committed: b.committed,
  remaining: b.remaining,
  updatedAt: b.updatedAt,
  updatedBy: b.updatedBy,
});

/** PUT /budgets/{department}/{period} {amount}: finance sets (or lowers) a budget. */
export async function setBudget(
  ports: LedgerPorts,
  caller: Caller,
  params: Record<string, string>,
  body: unknown,
) {
  requireRole(caller, 'finance');
  const department = departmentOf(params.department);
  const period = parsePeriod(params.period);
  const b = requireObject(body);
  if (b.currency !== undefined && b.currency !== ports.policy.currency) {
    throw new BadRequest(
      `currency must be ${ports.policy.currency}, the organisation's currency`,
      'currency',
    );
  }
  const amount = amountOf(b.amount);
  const at = ports.clock.now().toISOString();
  return budgetView(
    await ports.ledger.setBudget(department, period, amount, caller.user, at),
    ports.policy.currency,
  );
}

/** GET /budgets?department=&period=: {amount, reserved, committed, remaining}. */
export async function getBudget(ports: LedgerPorts, caller: Caller, query: Record<string, string>) {
  requireRole(caller, 'finance', 'admins');
  const department = departmentOf(query.department);
  const period = parsePeriod(query.period);
  const { budgets, automaticAnswers } = await ports.ledger.budgetsOf(department, [period]);
  const budget = budgets.get(period);
  if (!budget) throw new NotFound(`No budget for ${department} in ${period}`, 'period');
  return { ...budgetView(budget, ports.policy.currency), automaticAnswers };
}

/** PUT /budget-settings/{department} {automaticAnswers}: finance switches the ledger's answers. */
export async function setDepartmentSettings(
  ports: LedgerPorts,
  caller: Caller,
  params: Record<string, string>,
  body: unknown,
) {
  requireRole(caller, 'finance');
  const department = departmentOf(params.department);
  const b = requireObject(body);
  if (typeof b.automaticAnswers !== 'boolean') {
    throw new BadRequest('automaticAnswers must be true or false', 'automaticAnswers');
  }
  const on = booleanOf(b.automaticAnswers, 'automaticAnswers', true);
  await ports.ledger.setAutomaticAnswers(department, on, caller.user, ports.clock.now().toISOString());
  return { department, automaticAnswers: on };
}

/** GET /budgets/{department}/{period}/entries: every movement, oldest first. */
export async function listEntries(
  ports: LedgerPorts,
  caller: Caller,
  params: Record<string, string>,
  query: Record<string, string>,
) {
  requireRole(caller, 'finance', 'admins');
  const department = departmentOf(params.department);
  const period = parsePeriod(params.period);
  const limit = pageSizeOf(query.limit);
  let after: PageRequest['after'];
  if (query.cursor) {
    try {
      after = JSON.parse(Buffer.from(query.cursor, 'base64url').toString('utf8'));
    } catch {
      throw new BadRequest('cursor is not a cursor this listing gave out', 'cursor');
    }
    if (typeof after !== 'object' || after === null || typeof (after as { sk?: unknown }).sk !== 'string') {
      throw new BadRequest('cursor is not a cursor this listing gave out', 'cursor');
    }
  }
  const page = await ports.ledger.entries(department, period, { limit, ...(after ? { after } : {}) });
  return {
    currency: ports.policy.currency,
    items: page.items,
    ...(page.next ? { cursor: Buffer.from(JSON.stringify(page.next)).toString('base64url') } : {}),
  };
}

const CSV_COLUMNS = [
  'department',
  'period',
  'currency',
  'amount',
  'reserved',
  'committed',
  'remaining',
] as const;

/** RFC 4180: a field with a comma, quote or line break is quoted, quotes doubled. */
const csvField = (v: string | number) => {
  const text = String(v);
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
};

/**
 * GET /budget-reports?period=&department=&format=json|csv: spend against budget per department
 * for a period: committed (purchase orders sent), reserved (answered, not yet ordered), remaining.
 */
export async function budgetReport(ports: LedgerPorts, caller: Caller, query: Record<string, string>) {
  requireRole(caller, 'finance', 'admins');
  const period = parsePeriod(query.period);
  const format = query.format ?? 'json';
  if (format !== 'json' && format !== 'csv') throw new BadRequest('format must be json or csv', 'format');
  const department = query.department === undefined ? undefined : departmentOf(query.department);
  const all = await ports.ledger.budgetsOfPeriod(period);
  const rows = all
    .filter((b) => department === undefined || b.department === department)
    .map((b) => ({
      department: b.department,
      period: b.period,
      currency: ports.policy.currency,
      amount: b.amount,
      reserved: b.reserved,
      committed: b.committed,
      remaining: b.remaining,
    }));
  if (format === 'json')
    return { format, body: { period, currency: ports.policy.currency, departments: rows } };
  const lines = [CSV_COLUMNS.join(','), ...rows.map((r) => CSV_COLUMNS.map((c) => csvField(r[c])).join(','))];
  return { format, body: `${lines.join('\r\n')}\r\n` };
}
