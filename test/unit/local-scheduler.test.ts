import { describe, expect, it } from 'vitest';
import { nextDelayMs } from '../../cdk/local/scheduler.js';

describe('nextDelayMs', () => {
  const now = new Date('2026-11-24T10:15:00Z'); // a Tuesday

  it('reads rate() expressions', () => {
    expect(nextDelayMs('rate(5 minutes)', now)).toBe(5 * 60_000);
    expect(nextDelayMs('rate(1 day)', now)).toBe(86_400_000);
  });

  it('reads AWS cron() with six fields, "?" and weekday numbers from Sunday = 1', () => {
    // 17:00 UTC every day → 6 h 45 min from 10:15.
    expect(nextDelayMs('cron(0 17 * * ? *)', now)).toBe((6 * 60 + 45) * 60_000);
    // Mondays (AWS 2) at 09:00 → next Monday 2026-11-30 09:00.
    expect(nextDelayMs('cron(0 9 ? * 2 *)', now)).toBe(
      new Date('2026-11-30T09:00:00Z').getTime() - now.getTime(),
    );
    expect(nextDelayMs('cron(0 9 ? * MON *)', now)).toBe(
      new Date('2026-11-30T09:00:00Z').getTime() - now.getTime(),
    );
  });

  it('honours a schedule time zone', () => {
    // 18:00 in Tokyo (UTC+9) is 09:00 UTC: next one is tomorrow.
    expect(nextDelayMs('cron(0 18 * * ? *)', now, 'Asia/Tokyo')).toBe(
      new Date('2026-11-25T09:00:00Z').getTime() - now.getTime(),
    );
  });

  it('rejects what it cannot read', () => {
    expect(() => nextDelayMs('at(2026-01-01T00:00:00)', now)).toThrow(/Unsupported schedule expression/);
    expect(() => nextDelayMs('cron(0 17 * * ?)', now)).toThrow(/six fields/);
  });
});
