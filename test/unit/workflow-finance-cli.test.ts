import { describe, expect, it } from 'vitest';
import { formatLines, parseLineAnswer } from '../../cli/finance/index.js';

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
