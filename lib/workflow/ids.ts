// Ids of the workflow. A request id is derived from the requester and their Idempotency-Key,
// so a resend lands on the same request and the same execution name (DESIGN §4). Link secrets
// and approval ids are random; only the secret's SHA-256 is stored.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

export function requestIdOf(user: string, idempotencyKey: string): string {
  const digest = createHash('sha256').update(`upman-request\n${user}\n${idempotencyKey}`).digest('base64url');
  // Step Functions execution names: up to 80 of [A-Za-z0-9_-].
  return `r-${digest.slice(0, 24)}`;
}

/** The budget line of a request: one licence line per request. */
export const lineIdOf = (requestId: string) => `l-${requestId.slice(2)}`;

/**
 * A link's id names its request (the request id's 24 characters, then 16 random ones), so the
 * page reads the link, the wait and the request in one call. Links from before: 16 only.
 */
export const newApprovalId = (requestId: string) =>
  `a-${requestId.slice(2)}${randomBytes(12).toString('base64url')}`;
/** The request an approval id names, or undefined for a link from before ids named it. */
export const requestIdOfApproval = (approvalId: string) =>
  approvalId.length === 42 ? `r-${approvalId.slice(2, 26)}` : undefined;
export const newLinkSecret = () => randomBytes(32).toString('base64url');
export const newBatchId = (at: Date) =>
  `b-${at.toISOString().replace(/[-:]/g, '').slice(0, 15)}-${randomBytes(4).toString('hex')}`;

export const sha256 = (text: string) => createHash('sha256').update(text).digest('base64url');

/** Constant-time check of a presented link secret against the stored hash. */
export function secretMatches(presented: string, storedHash: string): boolean {
  const a = Buffer.from(sha256(presented));
  const b = Buffer.from(storedHash);
  return a.length === b.length && timingSafeEqual(a, b);
}

export const isRequestId = (value: string) => /^r-[A-Za-z0-9_-]{24}$/.test(value);
export const isApprovalId = (value: string) => /^a-(?:[A-Za-z0-9_-]{24})?[A-Za-z0-9_-]{16}$/.test(value);
export const isBatchId = (value: string) => /^b-\d{8}T\d{6}-[0-9a-f]{8}$/.test(value);
export const isLineId = (value: string) => /^l-[A-Za-z0-9_-]{24}$/.test(value);
