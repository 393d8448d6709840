import { describe, expect, it } from 'vitest';
import {
  formatBudget,
  formatLines,
  formatReport,
  parseAmount,
  parseLineAnswer,
} from '../../cli/finance/index.js';

describe('upman finance', () => {
  it('parses --line answers, with an optional note', () => {
    expect(parseLineAnswer('l-abc=yes')).toEqual({ lineId: 'l-abc', available: true });
    expect(parseLineAnswer('l-abc=no:over budget')).toEqual({
      lineId: 'l-abc',
      available: false,
      note: 'over budget',
    });
    expect(() => parseLineAnswer('l-abc=maybe')).toThrow(/--line must look like/);
  });

  it('prints a batch as a table with its total', () => {
    const out = formatLines([
      {
        lineId: 'l-1',
        requestId: 'r-1',
        requester: 'ando',
        department: 'Sales',
        software: 'OfficeSuite',
        version: '2.10',
        quantity: 1,
        unitPrice: 120,
        total: 120,
      },
      {
        lineId: 'l-2',
        requestId: 'r-2',
        requester: 'suzuki',
        department: 'Sales',
        software: 'OfficeSuite',
        version: '2.10',
        quantity: 2,
        unitPrice: 120,
        total: 240,
        answer: { available: false },
      },
    ]);
    const lines = out.split('\n');
    expect(lines[0]).toMatch(/^line\s+requester\s+department\s+software\s+qty\s+unit\s+total\s+answer$/);
    expect(lines[2]).toMatch(/^l-2\s+suzuki\s+Sales\s+OfficeSuite 2\.10\s+2\s+120\.00\s+240\.00\s+no$/);
    expect(lines[3]).toBe('2 line(s), total 360.00');
  });
});

describe('upman finance budget, licences and report', () => {
  it('takes an amount of at most two decimals from 0, refusing anything else as a usage error', () => {
    expect(parseAmount('1500')).toBe(1500);
    expect(parseAmount('2500.5')).toBe(2500.5);
    expect(parseAmount('0')).toBe(0);
    for (const bad of ['', '-1', '1.234', 'ten', 'NaN', 'Infinity']) {
      expect(() => parseAmount(bad), bad).toThrow(expect.objectContaining({ code: 'usage', exitCode: 2 }));
    }
  });

  it('shows a budget with what is reserved, committed and remaining', () => {
    expect(
      formatBudget({
        department: 'Sales',
        period: '2026-Q4',
        currency: 'EUR',
        amount: 1000,
        reserved: 150,
        committed: 300,
        remaining: 550,
        automaticAnswers: false,
      }),
    ).toEqual([
      'Sales 2026-Q4: 1000.00 EUR',
      '  reserved 150.00, committed 300.00, remaining 550.00',
      '  automatic answers off (the ledger answers lines it covers)',
    ]);
  });

  it('prints the report as a table with a total line, and says when no budget is set', () => {
    const row = (department: string, amount: number, committed: number) => ({
      department,
      period: '2026-12',
      currency: 'EUR',
      amount,
      reserved: 0,
      committed,
      remaining: amount - committed,
    });
    const lines = formatReport({
      period: '2026-12',
      currency: 'EUR',
      departments: [row('Research', 500, 120), row('Sales', 1000, 300.5)],
    });
    expect(lines[0]).toBe('Spend against budget, 2026-12 (EUR)');
    expect(lines[1]).toMatch(/^department\s+amount\s+reserved\s+committed\s+remaining$/);
    expect(lines[3]).toMatch(/^Sales\s+1000\.00\s+0\.00\s+300\.50\s+699\.50$/);
    expect(lines[4]).toMatch(/^total\s+1500\.00\s+0\.00\s+420\.50\s+1079\.50$/);
    expect(formatReport({ period: '2031-01', currency: 'EUR', departments: [] })).toEqual([
      'No budget is set for 2031-01.',
    ]);
  });
});
