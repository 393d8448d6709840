// Conditional writes (PutObject with If-None-Match: * or If-Match: <etag>), which S3 has and
// s3rver ignores. The proxy checks the condition against the stored object and forwards the
// write while holding a per-key lock, so two conditional writes of one key cannot both pass.
// Decision logic is pure; the lock and the lookup are passed in.
import { S3Error } from './s3-error.js';

export type HeaderValue = string | string[] | undefined;

const one = (value: HeaderValue) => (Array.isArray(value) ? value.join(',') : value)?.trim();
const unquote = (etag: string) =>
  etag
    .trim()
    .replace(/^W\//, '')
    .replace(/^"(.*)"$/, '$1');

/** Whether a request carries write conditions the proxy must check. */
export function hasWriteConditions(headers: Record<string, HeaderValue>): boolean {
  return one(headers['if-none-match']) !== undefined || one(headers['if-match']) !== undefined;
}

/**
 * The error S3 answers for these conditions against `current` (the stored object's ETag, or
 * undefined when there is none), or undefined when the write may go ahead.
 */
export function writeConditionError(
  headers: Record<string, HeaderValue>,
  current: { etag: string } | undefined,
): S3Error | undefined {
  const noneMatch = one(headers['if-none-match']);
  const match = one(headers['if-match']);
  if (noneMatch !== undefined && noneMatch !== '*') {
    return new S3Error(
      'NotImplemented',
      'A header you provided implies functionality that is not implemented',
      501,
      {
        Header: 'If-None-Match',
      },
    );
  }
  if (noneMatch === '*' && current) {
    return new S3Error(
      'PreconditionFailed',
      'At least one of the pre-conditions you specified did not hold',
      412,
      {
        Condition: 'If-None-Match',
      },
    );
  }
  if (match !== undefined) {
    if (!current) return new S3Error('NoSuchKey', 'The specified key does not exist.', 404);
    const wanted = match.split(',').map(unquote);
    if (!wanted.includes('*') && !wanted.includes(unquote(current.etag))) {
      return new S3Error(
        'PreconditionFailed',
        'At least one of the pre-conditions you specified did not hold',
        412,
        {
          Condition: 'If-Match',
        },
      );
    }
  }
  return undefined;
}

/** One holder per key at a time (the proxy is one process: a promise chain is the lock). */
export class KeyLocks {
  private readonly tails = new Map<string, Promise<void>>();

  async acquire(key: string): Promise<() => void> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((resolve) => {
      release = resolve;
    });
    const tail = previous.then(() => mine);
    this.tails.set(key, tail);
    await previous;
    return () => {
      release();
      if (this.tails.get(key) === tail) this.tails.delete(key);
    };
  }
}
