// The workflow's routes at the edge: update requests, finance's batches and ledger, owned
// licences, fresh download keys, grant confirmations, and the approval page's form.
import { z } from 'zod';
import {
  approvalId,
  batchId,
  clientId,
  department,
  grantId,
  idempotencyKey,
  optionalParam,
  page,
  period,
  requestId,
  softwareName,
  text,
  user,
  version,
} from '../fields.js';

export const RequestPath = z.object({ id: requestId });
export const QueuedRequestPath = z.object({ requestId });
export const NameApproverBody = z.object({ approver: user });
/** The request a grant was made for: any short id (grants name requests the store gave them). */
export const GrantRequestPath = z.object({ id: clientId });
export const IdempotencyHeaders = z.object({ 'idempotency-key': idempotencyKey });
export const OptionalIdempotencyHeaders = z.object({ 'idempotency-key': idempotencyKey.optional() });
export const SubmissionBody = z.object({
  clientId,
  software: softwareName,
  targetVersion: version.nullable().optional(),
  reason: text(1000),
});

export const BatchPath = z.object({ batchId });
export const BatchesQuery = z.object({
  status: optionalParam(z.enum(['awaiting-answer', 'answered'])),
  ...page,
});
export const AnswersBody = z.object({
  answers: z
    .array(
      z.object({
        lineId: z.string().regex(/^l-[A-Za-z0-9_-]{24}$/, 'is not a line id'),
        available: z.boolean(),
        note: z
          .union([z.literal(''), text(500)])
          .nullable()
          .optional(),
      }),
    )
    .min(1)
    .max(500),
});

export const BudgetPath = z.object({ department, period });
export const DepartmentPath = z.object({ department });
export const BudgetQuery = z.object({ department, period });
export const ReportQuery = z.object({
  period,
  format: optionalParam(z.enum(['json', 'csv'])),
  department: department.optional(),
});
export const BudgetBody = z.object({
  amount: z.number().min(0).max(1e12),
  currency: z.string().max(8).optional(),
});
export const SettingsBody = z.object({ automaticAnswers: z.boolean() });
export const LicencesBody = z.object({
  owned: z.number().int().min(0).max(10_000_000),
  version: version.nullable().optional(),
});

export const KeyBody = z.object({
  clientId,
  currentRevision: z
    .union([z.number().int().min(1).max(999_999_999), z.string().regex(/^\d{1,9}$/)], {
      error: 'must be a whole number from 1 to 999999999',
    })
    .nullable()
    .optional(),
});
export const GrantPath = z.object({ grantId });
export const ConfirmationBody = z.object({
  sha256: z.string().regex(/^[0-9a-fA-F]{64}$/, 'must be 64 hexadecimal digits'),
});

export const ApprovalPath = z.object({ id: approvalId });
export const LinkQuery = z.object({ k: z.string().max(100).optional() });
/** The decision the approval page's script sends (JSON), with the link's secret from the page. */
export const DecisionBody = z.object({
  decision: z.enum(['approve', 'reject']),
  comment: z.string().max(1000).optional(),
  k: z.string().min(1).max(100),
});
