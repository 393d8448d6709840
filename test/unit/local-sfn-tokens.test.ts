import { afterEach, describe, expect, it, vi } from 'vitest';
import { SfnApiError, TaskError } from '../../cdk/local/sfn/errors.js';
import { TaskTokenRegistry } from '../../cdk/local/sfn/tokens.js';

const owner = { executionArn: 'arn:aws:states:eu-west-1:000000000000:execution:m:e', stateName: 'Ask' };

function apiErrorOf(fn: () => void): string | undefined {
  try {
    fn();
  } catch (err) {
    return err instanceof SfnApiError ? err.type : `not an API error: ${String(err)}`;
  }
  return undefined;
}

afterEach(() => {
  vi.useRealTimers();
});

describe('TaskTokenRegistry', () => {
  it('mints a fresh 64-character token per attempt', () => {
    const tokens = new TaskTokenRegistry();
    const minted = new Set(Array.from({ length: 50 }, () => tokens.mint(owner)));
    expect(minted.size).toBe(50);
    for (const t of minted) expect(t).toMatch(/^[A-Za-z0-9_-]{64}$/);
  });

  it('resolves the wait with the output of SendTaskSuccess, once', async () => {
    const tokens = new TaskTokenRegistry();
    const token = tokens.mint(owner);
    const waiting = tokens.wait(token);
    tokens.succeed(token, { approved: true });
    await expect(waiting).resolves.toEqual({ approved: true });
    expect(apiErrorOf(() => tokens.succeed(token, {}))).toBe('TaskTimedOut');
    expect(apiErrorOf(() => tokens.heartbeat(token))).toBe('TaskTimedOut');
  });

  it('rejects the wait with the error and cause of SendTaskFailure', async () => {
    const tokens = new TaskTokenRegistry();
    const token = tokens.mint(owner);
    const waiting = tokens.wait(token);
    tokens.fail(token, 'Rejected', 'no budget');
    const err = await waiting.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TaskError);
    expect(err).toMatchObject({ name: 'Rejected', message: 'no budget' });
  });

  it('answers InvalidToken for malformed tokens and TaskDoesNotExist for tokens it never issued', () => {
    const tokens = new TaskTokenRegistry();
    expect(apiErrorOf(() => tokens.succeed('not a token', {}))).toBe('InvalidToken');
    expect(apiErrorOf(() => tokens.fail('x'.repeat(65), 'E', 'c'))).toBe('InvalidToken');
    expect(apiErrorOf(() => tokens.succeed('A'.repeat(64), {}))).toBe('TaskDoesNotExist');
  });

  it('fails the wait with States.HeartbeatTimeout when heartbeats stop, and heartbeats keep it alive', async () => {
    vi.useFakeTimers();
    const tokens = new TaskTokenRegistry();
    const token = tokens.mint(owner);
    const waiting = tokens.wait(token, { heartbeatMs: 1000 });
    const outcome = waiting.catch((e: unknown) => e);
    vi.advanceTimersByTime(900);
    tokens.heartbeat(token);
    vi.advanceTimersByTime(900);
    expect(tokens.isOpen(token)).toBe(true);
    vi.advanceTimersByTime(200);
    expect(await outcome).toMatchObject({ name: 'States.HeartbeatTimeout' });
    expect(apiErrorOf(() => tokens.succeed(token, {}))).toBe('TaskTimedOut');
  });

  it('closes every token of an execution that ended, so late answers get TaskTimedOut', async () => {
    const tokens = new TaskTokenRegistry();
    const mine = tokens.mint(owner);
    const other = tokens.mint({ ...owner, executionArn: `${owner.executionArn}-2` });
    const waiting = tokens.wait(mine).catch((e: unknown) => e);
    tokens.closeWhere((o) => o.executionArn === owner.executionArn);
    expect(await waiting).toBeInstanceOf(TaskError);
    expect(apiErrorOf(() => tokens.succeed(mine, {}))).toBe('TaskTimedOut');
    expect(tokens.isOpen(other)).toBe(true);
  });
});
