// Timers for scheduled functions: EventBridge Scheduler schedules and EventBridge rules from
// the template, with rate() and cron() expressions as AWS reads them (UTC unless the schedule
// names a time zone).
import { CronExpressionParser } from 'cron-parser';
import type { TemplateResolver } from './template.js';

export interface LocalSchedule {
  id: string;
  expression: string;
  timezone?: string;
  /** Function name or ARN the schedule invokes. */
  target: string;
  input: unknown;
}

export function templateSchedules(resolver: TemplateResolver): LocalSchedule[] {
  const schedules: LocalSchedule[] = [];
  for (const { stack, logicalId, resource } of resolver.resourcesOfType('AWS::Scheduler::Schedule')) {
    const p = resolver.resolve(stack, resource.Properties ?? {}) as Record<string, any>;
    if (p.State === 'DISABLED') continue;
    schedules.push({
      id: logicalId,
      expression: String(p.ScheduleExpression),
      ...(p.ScheduleExpressionTimezone ? { timezone: String(p.ScheduleExpressionTimezone) } : {}),
      target: String(p.Target?.Arn),
      input: p.Target?.Input ? JSON.parse(String(p.Target.Input)) : {},
    });
  }
  for (const { stack, logicalId, resource } of resolver.resourcesOfType('AWS::Events::Rule')) {
    const p = resolver.resolve(stack, resource.Properties ?? {}) as Record<string, any>;
    if (!p.ScheduleExpression || p.State === 'DISABLED') continue;
    for (const target of (p.Targets ?? []) as Array<Record<string, any>>) {
      schedules.push({
        id: `${logicalId}/${target.Id}`,
        expression: String(p.ScheduleExpression),
        target: String(target.Arn),
        input: target.Input ? JSON.parse(String(target.Input)) : scheduledEvent(logicalId),
      });
    }
  }
  return schedules;
}

function scheduledEvent(rule: string) {
  return {
    version: '0',
    'detail-type': 'Scheduled Event',
    source: 'aws.events',
    resources: [rule],
    detail: {},
  };
}

const RATE = /^rate\((\d+)\s+(minute|minutes|hour|hours|day|days)\)$/;
const CRON = /^cron\((.+)\)$/;

/** Milliseconds from `now` until the expression next fires. */
export function nextDelayMs(expression: string, now: Date, timezone?: string): number {
  const rate = RATE.exec(expression);
  if (rate) {
    const unit = rate[2]!.replace(/s$/, '');
    const ms = { minute: 60_000, hour: 3_600_000, day: 86_400_000 }[unit]!;
    return Number(rate[1]) * ms;
  }
  const cron = CRON.exec(expression);
  if (cron) {
    // AWS cron has six fields (min hour dom month dow year) and uses "?"; cron-parser takes
    // the first five with "*" for "?". AWS numbers weekdays 1-7 from Sunday, cron 0-6.
    const fields = cron[1]!.trim().split(/\s+/);
    if (fields.length !== 6) throw new Error(`cron() needs six fields: ${expression}`);
    const [min, hour, dom, month, dow] = fields.map((f) => (f === '?' ? '*' : f)) as string[];
    const dowCron = dow!.replace(/\d/g, (d) => String((Number(d) + 6) % 7));
    const interval = CronExpressionParser.parse(`${min} ${hour} ${dom} ${month} ${dowCron}`, {
      currentDate: now,
      tz: timezone ?? 'UTC',
    });
    return interval.next().getTime() - now.getTime();
  }
  throw new Error(`Unsupported schedule expression: ${expression}`);
}

/** Runs each schedule on its timer until stopped. */
export class LocalScheduler {
  private readonly timers = new Set<NodeJS.Timeout>();
  private stopped = false;

  constructor(
    private readonly schedules: LocalSchedule[],
    private readonly invoke: (target: string, input: unknown) => Promise<unknown>,
    private readonly onError: (schedule: LocalSchedule, error: unknown) => void,
  ) {}

  start(): void {
    for (const schedule of this.schedules) this.arm(schedule);
  }

  /** Fires a schedule now (the "close a batch now" command uses this path too). */
  async fire(id: string): Promise<unknown> {
    const schedule = this.schedules.find((s) => s.id === id);
    if (!schedule) throw new Error(`No schedule ${id} (have: ${this.schedules.map((s) => s.id).join(', ')})`);
    return this.invoke(schedule.target, schedule.input);
  }

  list(): LocalSchedule[] {
    return [...this.schedules];
  }

  private arm(schedule: LocalSchedule): void {
    if (this.stopped) return;
    // setTimeout holds at most ~24.8 days; longer waits re-arm.
    const delay = Math.min(nextDelayMs(schedule.expression, new Date(), schedule.timezone), 2 ** 31 - 1);
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      this.invoke(schedule.target, schedule.input)
        .catch((error) => this.onError(schedule, error))
        .finally(() => this.arm(schedule));
    }, delay);
    timer.unref();
    this.timers.add(timer);
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }
}
