// What the registry's adapters call a lost race, and how they wait before trying again.
import { ConditionalCheckFailedException, TransactionCanceledException } from '@aws-sdk/client-dynamodb';

/**
 * Codes that mean "someone else wrote first": a failed condition, an existing key (PartiQL
 * INSERT), or another transaction on the same item.
 */
export const RACE_CODES = new Set(['ConditionalCheckFailed', 'DuplicateItem', 'TransactionConflict']);

/** A lost race: a condition failed, or a transaction was cancelled for one of RACE_CODES. */
export function isRace(error: unknown): boolean {
  if (error instanceof ConditionalCheckFailedException) return true;
  return (
    error instanceof TransactionCanceledException &&
    (error.CancellationReasons ?? []).some((r) => RACE_CODES.has(r.Code ?? ''))
  );
}

/** Exponential backoff with jitter, capped at one second. */
export function backoff(attempt: number): Promise<void> {
  const ms = Math.min(1000, 25 * 2 ** attempt) * (0.5 + Math.random() / 2);
  return new Promise((resolve) => setTimeout(resolve, ms));
}
