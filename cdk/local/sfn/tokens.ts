// Task tokens: minted per task attempt, unguessable (48 random bytes), and answered the way
// AWS answers them once the task is over (TaskTimedOut) or when they were never ours (InvalidToken).
import { randomBytes } from 'node:crypto';
import { SfnApiError, TaskError } from './errors.js';

export interface TokenOwner {
  executionArn: string;
  stateName: string;
}

export interface WaitOptions {
  /** Fail with States.HeartbeatTimeout when no heartbeat (or result) comes for this long. */
  heartbeatMs?: number;
}

interface OpenToken {
  owner: TokenOwner;
  resolve?: (output: unknown) => void;
  reject?: (err: Error) => void;
  heartbeat?: { ms: number; timer: NodeJS.Timeout };
}

const TOKEN_PATTERN = /^[A-Za-z0-9_-]{64}$/;
/** How many finished tokens are remembered for TaskTimedOut answers; older ones answer TaskDoesNotExist. */
const CLOSED_MEMORY = 10_000;

export class TaskTokenRegistry {
  private readonly open = new Map<string, OpenToken>();
  private readonly closed = new Set<string>();

  mint(owner: TokenOwner): string {
    const token = randomBytes(48).toString('base64url');
    this.open.set(token, { owner });
    return token;
  }

  /** Who an open token belongs to (IAM checks SendTask* against its state machine). */
  ownerOf(token: string): TokenOwner | undefined {
    return this.open.get(token)?.owner;
  }

  /** Resolves with the output of SendTaskSuccess; rejects with the SendTaskFailure error or a heartbeat timeout. */
  wait(token: string, options: WaitOptions = {}): Promise<unknown> {
    const entry = this.open.get(token);
    if (!entry) return Promise.reject(new Error(`task token is not open: ${token.slice(0, 8)}…`));
    return new Promise((resolve, reject) => {
      entry.resolve = resolve;
      entry.reject = reject;
      if (options.heartbeatMs !== undefined) {
        entry.heartbeat = { ms: options.heartbeatMs, timer: this.heartbeatTimer(token, options.heartbeatMs) };
      }
    });
  }

  succeed(token: string, output: unknown): void {
    const entry = this.take(token);
    entry.resolve?.(output);
  }

  fail(token: string, error: string | undefined, cause: string | undefined): void {
    const entry = this.take(token);
    entry.reject?.(new TaskError(error ?? '', cause ?? ''));
  }

  heartbeat(token: string): void {
    const entry = this.lookup(token);
    if (entry.heartbeat) {
      clearTimeout(entry.heartbeat.timer);
      entry.heartbeat.timer = this.heartbeatTimer(token, entry.heartbeat.ms);
    }
  }

  /**
   * Ends a token whose task ended another way (TimeoutSeconds, the execution stopped): a pending
   * wait is rejected so nothing stays pending, and later calls answer TaskTimedOut.
   */
  close(token: string): void {
    const entry = this.open.get(token);
    if (!entry) return;
    this.retire(token, entry);
    entry.reject?.(
      new TaskError(
        'States.Runtime',
        `The task '${entry.owner.stateName}' ended before its token was answered`,
      ),
    );
  }

  /** Closes every open token that matches, e.g. all of an execution that ended. */
  closeWhere(match: (owner: TokenOwner) => boolean): void {
    for (const [token, entry] of this.open) if (match(entry.owner)) this.close(token);
  }

  isOpen(token: string): boolean {
    return this.open.has(token);
  }

  private heartbeatTimer(token: string, ms: number): NodeJS.Timeout {
    return setTimeout(() => {
      const entry = this.open.get(token);
      if (!entry) return;
      this.retire(token, entry);
      entry.reject?.(
        new TaskError(
          'States.HeartbeatTimeout',
          `No heartbeat within HeartbeatSeconds for '${entry.owner.stateName}'`,
        ),
      );
    }, ms);
  }

  private lookup(token: string): OpenToken {
    if (typeof token !== 'string' || !TOKEN_PATTERN.test(token)) {
      throw new SfnApiError('InvalidToken', 'Invalid Token: the task token is malformed');
    }
    const entry = this.open.get(token);
    if (entry) return entry;
    if (this.closed.has(token)) {
      throw new SfnApiError('TaskTimedOut', 'Task Timed Out: Provided task does not exist anymore');
    }
    throw new SfnApiError(
      'TaskDoesNotExist',
      'Task Does Not Exist: the token is unknown (tasks waiting before a restart are lost)',
    );
  }

  private take(token: string): OpenToken {
    const entry = this.lookup(token);
    this.retire(token, entry);
    return entry;
  }

  private retire(token: string, entry: OpenToken): void {
    if (entry.heartbeat) clearTimeout(entry.heartbeat.timer);
    this.open.delete(token);
    this.remember(token);
  }

  private remember(token: string): void {
    this.closed.add(token);
    if (this.closed.size > CLOSED_MEMORY) {
      const oldest = this.closed.values().next().value;
      if (oldest !== undefined) this.closed.delete(oldest);
    }
  }
}
