// The Idempotency-Key header of the routes that create something (POST /update-requests,
// POST /announcements): a client resends with the same key, and gets the same thing back.
import { createHash } from 'node:crypto';
import { BadRequest } from '../errors.js';

const IDEMPOTENCY_KEY = /^[A-Za-z0-9._:-]{8,128}$/;

/** The header's key (headers are lower-cased by the handler); 400 naming it when malformed. */
export function idempotencyKeyOf(headers: Record<string, string>, required: true): string;
export function idempotencyKeyOf(headers: Record<string, string>, required: false): string | undefined;
export function idempotencyKeyOf(headers: Record<string, string>, required: boolean): string | undefined {
  const key = headers['idempotency-key'];
  if (key === undefined && !required) return undefined;
  if (key === undefined || !IDEMPOTENCY_KEY.test(key)) {
    throw new BadRequest('Idempotency-Key header must be 8-128 letters, digits or ._:-', 'Idempotency-Key');
  }
  return key;
}

/** A digest of a parsed body, to tell a resend (same body) from a reuse of the key (another body). */
export const bodyHashOf = (input: unknown) =>
  createHash('sha256').update(JSON.stringify(input)).digest('base64url');
