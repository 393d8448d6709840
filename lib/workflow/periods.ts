// Budget periods: a calendar month ("2026-12") or a quarter of the fiscal year ("2026-Q4").
// A fiscal year is named by the calendar year it starts in; with the first month M, Q1 is
// months M..M+2 of that year (so with M = 4, "2026-Q4" is January to March 2027).
import { BadRequest } from '../errors.js';

const MONTH = /^(\d{4})-(0[1-9]|1[0-2])$/;
const QUARTER = /^(\d{4})-Q([1-4])$/;

export function isPeriod(value: string): boolean {
  return MONTH.test(value) || QUARTER.test(value);
}

export function parsePeriod(value: unknown, field = 'period'): string {
  if (typeof value !== 'string' || !isPeriod(value)) {
    throw new BadRequest(`${field} must be a month (2026-12) or a fiscal quarter (2026-Q4)`, field);
  }
  return value;
}

/** The month and the fiscal quarter that `at` falls in (UTC). */
export function periodsOf(at: Date, fiscalYearStartMonth: number): { month: string; quarter: string } {
  const year = at.getUTCFullYear();
  const month = at.getUTCMonth() + 1;
  const offset = (month - fiscalYearStartMonth + 12) % 12;
  const fiscalYear = month >= fiscalYearStartMonth ? year : year - 1;
  return {
    month: `${year}-${String(month).padStart(2, '0')}`,
    quarter: `${fiscalYear}-Q${Math.floor(offset / 3) + 1}`,
  };
}

/** The calendar months of a period, first to last ("2026-12" is itself). */
export function monthsOf(period: string, fiscalYearStartMonth: number): string[] {
  if (MONTH.test(period)) return [period];
  const [, y, q] = QUARTER.exec(period)!;
  const first = fiscalYearStartMonth - 1 + (Number(q) - 1) * 3;
  return [0, 1, 2].map((i) => {
    const m = first + i;
    return `${Number(y) + Math.floor(m / 12)}-${String((m % 12) + 1).padStart(2, '0')}`;
  });
}

/** A UTC instant as the store writes it (toISOString): what a cursor may carry into a key. */
export const isStoredInstant = (value: unknown): value is string =>
  typeof value === 'string' && /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{3})?Z$/.test(value);
