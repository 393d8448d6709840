// Batches access log records and writes them as objects into the target bucket, the way S3
// delivers server access logs (later and in batches, never inline with the request).
import { randomBytes } from 'node:crypto';
import { type AccessLogRecord, accessLogObjectKey, formatAccessLogRecord } from './access-log.js';

export interface AccessLogTarget {
  targetBucket: string;
  prefix: string;
}

export type PutLogObject = (bucket: string, key: string, body: string) => Promise<void>;

export class AccessLogDelivery {
  private readonly pending = new Map<string, { target: AccessLogTarget; lines: string[] }>();
  private timer: NodeJS.Timeout | undefined;
  private inFlight: Promise<void> = Promise.resolve();

  constructor(
    private readonly put: PutLogObject,
    private readonly flushAfterMs = 1000,
    private readonly onError: (error: unknown) => void = (error) =>
      console.error('access log delivery failed', error),
  ) {}

  add(target: AccessLogTarget, record: AccessLogRecord): void {
    const id = `${target.targetBucket}\n${target.prefix}`;
    const batch = this.pending.get(id) ?? { target, lines: [] };
    batch.lines.push(formatAccessLogRecord(record));
    this.pending.set(id, batch);
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      void this.flush();
    }, this.flushAfterMs);
  }

  /** Writes everything batched so far; resolves when it is stored. */
  flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const batches = [...this.pending.values()];
    this.pending.clear();
    const now = new Date();
    // Chained so files are written in order and flush() waits for earlier deliveries too.
    this.inFlight = this.inFlight.then(() =>
      Promise.all(
        batches.map(({ target, lines }) =>
          this.put(
            target.targetBucket,
            accessLogObjectKey(target.prefix, now, randomBytes(8).toString('hex')),
            `${lines.join('\n')}\n`,
          ).catch(this.onError),
        ),
      ).then(() => undefined),
    );
    return this.inFlight;
  }
}
