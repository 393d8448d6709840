// Progress bars in human units with rate and time left (download and publish).
import { describe, expect, it } from 'vitest';
import { humanBytes, humanSeconds, progressLine } from '../../agent/progress.js';

describe('progress in human units', () => {
  it('says bytes, KiB, MiB and GiB, and seconds, minutes and hours', () => {
    expect(humanBytes(512)).toBe('512 B');
    expect(humanBytes(1536)).toBe('1.5 KiB');
    expect(humanBytes(300 * 1024 * 1024)).toBe('300 MiB');
    expect(humanBytes(5 * 1024 ** 3)).toBe('5.0 GiB');
    expect(humanSeconds(42)).toBe('42s');
    expect(humanSeconds(75)).toBe('1m15s');
    expect(humanSeconds(7260)).toBe('2h01m');
    expect(humanSeconds(Number.POSITIVE_INFINITY)).toBe('?');
  });

  it('shows done and total, the rate since the start (a resumed part excluded) and the time left', () => {
    // Resumed at 1 MiB; 2 MiB more in 2 s: 1 MiB/s, 1 MiB to go.
    expect(
      progressLine({ done: 3 * 1024 ** 2, total: 4 * 1024 ** 2, sinceStart: 2 * 1024 ** 2, elapsedMs: 2000 }),
    ).toBe(' 75% | 3.0 MiB / 4.0 MiB | 1.0 MiB/s | 1s left');
    expect(progressLine({ done: 0, total: 10, sinceStart: 0, elapsedMs: 0 })).toBe(
      '  0% | 0 B / 10 B | - | ? left',
    );
  });
});
