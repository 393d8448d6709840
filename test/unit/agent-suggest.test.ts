import { describe, expect, it } from 'vitest';
import { closestNames, distance } from '../../lib/suggest.js';

describe('did you mean', () => {
  it('measures edits case-insensitively', () => {
    expect(distance('officesuite', 'OfficeSuite')).toBe(0);
    expect(distance('OficeSuite', 'OfficeSuite')).toBe(1);
    expect(distance('kitten', 'sitting')).toBe(3);
  });

  it('offers the closest names first, at most three, and nothing for a name far from all', () => {
    const catalog = ['OfficeSuite', 'OfficeSuite Pro', 'PhotoStudio', 'Mailer', 'Mailbox'];
    expect(closestNames('officesuite', catalog)).toEqual(['OfficeSuite']);
    expect(closestNames('Mailbo', catalog)).toEqual(['Mailbox', 'Mailer']);
    expect(closestNames('Spreadsheet', catalog)).toEqual([]);
  });
});
