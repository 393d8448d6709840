// The input fields the routes share, as zod schemas over the same patterns the domain checks.
// Every string is bounded: a key part stays far below DynamoDB's 1,024/2,048-byte key limits,
// and none may be empty or carry "#" (the key separator) or control characters.
import { z } from 'zod';
import { isValidUserName } from '../directory.js';
import {
  CONTROL_CHARACTERS,
  DEPARTMENT_PATTERN,
  ID_PATTERN,
  INSTANT_PATTERN,
  MAX_PAGE_SIZE,
  REVISION_PATTERN,
  SOFTWARE_PATTERN,
} from '../registry/validate.js';
import { isVersion } from '../registry/version.js';
import { isPeriod } from '../workflow/periods.js';

const pattern = (re: RegExp, max: number, what: string) =>
  z.string().max(max, `must be at most ${max} characters`).regex(re, `must be ${what}`);

export const clientId = pattern(ID_PATTERN, 64, '1-64 letters, digits, ".", "_" or "-"');
export const softwareName = pattern(SOFTWARE_PATTERN, 100, '1-100 letters, digits, ".", "_", "+" or "-"');
export const department = pattern(DEPARTMENT_PATTERN, 64, '1-64 letters, digits, spaces or ._&()/-');
export const user = z
  .string()
  .max(128, 'must be at most 128 characters')
  .refine(isValidUserName, 'must be a user name (letters, digits, "._@+=:|-")');
export const version = z
  .string()
  .max(69)
  .refine(isVersion, 'must be a version like 1.10 or 2.0.3 (numbers separated by dots)');
export const revision = z.union(
  [z.number().int().min(0).max(Number.MAX_SAFE_INTEGER), pattern(REVISION_PATTERN, 64, 'a short token')],
  { error: 'must be a non-negative integer or a short token (letters, digits, ._-)' },
);
export const instant = z
  .string()
  .max(40)
  .regex(INSTANT_PATTERN, 'must be an ISO-8601 date-time such as 2025-04-01T09:00:00Z');
export const period = z.string().max(7).refine(isPeriod, 'must be a month (2025-04) or a quarter (2025-Q2)');

/** Printable text of at most `max` characters: no control characters, not blank. */
export const text = (max: number) =>
  z
    .string()
    .max(max, `must be at most ${max} characters`)
    .refine((s) => s.trim() !== '', 'must not be blank')
    .refine((s) => !CONTROL_CHARACTERS.test(s), 'must not contain control characters');

/** Ids the API hands out, by their prefix: checked before they reach a key. */
const issuedId = (prefix: string, body: string) =>
  z.string().regex(new RegExp(`^${prefix}-${body}$`), `is not a ${prefix}- id this API gave out`);
export const requestId = issuedId('r', '[A-Za-z0-9_-]{24}');
export const approvalId = issuedId('a', '[A-Za-z0-9_-]{16}');
export const batchId = issuedId('b', '\\d{8}T\\d{6}-[0-9a-f]{8}');
export const grantId = issuedId('g', '[A-Za-z0-9_-]{16,24}');
export const announcementId = z.string().regex(/^[a-f0-9]{16}$/, 'is not an announcement id');

/** Query parameters of a listing. */
/** An optional query parameter: absent, or empty (the same), or the schema's value. */
export const optionalParam = <T extends z.ZodType>(schema: T) => z.union([z.literal(''), schema]).optional();
export const limit = optionalParam(
  z
    .string()
    .regex(/^\d{1,3}$/, `must be an integer from 1 to ${MAX_PAGE_SIZE}`)
    .refine(
      (s) => Number(s) >= 1 && Number(s) <= MAX_PAGE_SIZE,
      `must be an integer from 1 to ${MAX_PAGE_SIZE}`,
    ),
);
export const cursor = z
  .string()
  .max(4096)
  .regex(/^[A-Za-z0-9_.-]*$/, 'is not a cursor this listing gave out')
  .optional();
export const page = { limit, cursor };
export const booleanText = z.enum(['true', 'false']);

/** The Idempotency-Key header of routes that create something. */
export const idempotencyKey = z
  .string()
  .regex(/^[A-Za-z0-9._:-]{8,128}$/, 'must be 8-128 letters, digits or ._:-');
