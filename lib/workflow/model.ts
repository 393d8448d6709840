// The update request (MISSION "The request procedure") as the workflow's use cases see it.
import type { RequestStatus } from '../registry/model.js';

/** The registry's statuses: this workflow sets all but DOWNLOADED (the vendor side's). */
export type { RequestStatus };

export const TERMINAL_STATUSES: readonly RequestStatus[] = ['REJECTED', 'EXPIRED', 'FAILED', 'REVOKED'];

/** One step reached, e.g. {step: "S502", at, lineId}. */
export interface StepRecord {
  step: string;
  at: string;
  [detail: string]: unknown;
}

export interface UpdateRequest {
  requestId: string;
  requester: string;
  clientId: string;
  department: string;
  software: string;
  targetVersion: string;
  reason: string;
  quantity: number;
  unitPrice: number;
  status: RequestStatus;
  createdAt: string;
  /** Steps by key ("S502", "S505.reminder"): a map, so a retried write cannot add a step twice. */
  steps: Record<string, Omit<StepRecord, 'step'>>;
  /** Hash of the submitted body, to tell a resend from a reuse of the Idempotency-Key. */
  bodyHash: string;
  /** Everyone who was asked to decide (approvers, delegates, escalation): they may read it. */
  deciders?: string[];
  /** The budget answer given at submission (price 0, or the ledger's automatic "available"). */
  budgetAnswer?: BudgetResult;
  /** What the policy settled for this request at submission. */
  policy?: RequestPolicy;
  statusReason?: string;
  executionArn?: string;
}

export interface RequestPolicy {
  /** May the approver approve after finance said "no"? (No: the request ends rejected for budget.) */
  approverMayOverrideBudget: boolean;
  /** 2: above the cost threshold, the approver's approver approves too (S505/S506 twice). */
  approvalSteps?: 1 | 2;
}

/** What the state machine starts with (also the input of every execution, unchanged). */
export interface ExecutionInput {
  /** Present when the budget was answered at submission: the machine goes straight to S504. */
  budget?: BudgetResult;
  policy: RequestPolicy;
  requestId: string;
  requester: string;
  clientId: string;
  department: string;
  software: string;
  targetVersion: string;
  /**
   * The employee's reason, for the mails of the tasks (so they need not read the request).
   * Absent in executions started before it was carried: those tasks read the request.
   */
  reason?: string;
  quantity: number;
  unitPrice: number;
  createdAt: string;
}

/** One line of a budget batch (S502), as finance sees it. */
export interface BudgetLine {
  lineId: string;
  requestId: string;
  requester: string;
  department: string;
  software: string;
  version: string;
  quantity: number;
  unitPrice: number;
  total: number;
  createdAt: string;
  batchId?: string;
  answer?: BudgetAnswer;
  /** When the answer reached the execution. */
  deliveredAt?: string;
  /** The request stopped waiting for budget (it expired): an answer now is late. */
  withdrawnAt?: string;
}

export interface BudgetAnswer {
  available: boolean;
  note?: string;
  answeredAt: string;
  answeredBy: string;
}

export type BatchStatus = 'closing' | 'awaiting-answer' | 'answered';

export interface BudgetBatch {
  batchId: string;
  closedAt: string;
  status: BatchStatus;
  lineCount?: number;
  messageId?: string;
}

/** The S503 result handed to the execution (SendTaskSuccess output). */
export interface BudgetResult {
  lineId: string;
  /** Who answered: finance's user, "ledger" (within the remaining budget) or "policy" (nothing to pay). */
  answeredBy?: string;
  batchId: string;
  available: boolean;
  note: string;
  answeredAt: string;
  quantity: number;
  unitPrice: number;
  total: number;
  /**
   * What the answer reserved on the ledger (the department is the request's); null when it
   * reserved nothing. Absent when unknown (an answer handed over again, or before this was
   * carried): the purchase order then reads the reservation before committing it.
   */
  reservation?: { period: string; amount: number } | null;
}

export type ApprovalPhase = 'initial' | 'reminder' | 'escalation' | 'second' | 'second-reminder';

/** Which approval a phase belongs to: 1, or 2 (the approver's approver, above the threshold). */
export const stepOfPhase = (phase: ApprovalPhase): 1 | 2 => (phase.startsWith('second') ? 2 : 1);

/** One approval link (S505): the secret `k` is kept only as its SHA-256. */
export interface ApprovalLink {
  approvalId: string;
  requestId: string;
  /** The person the link was mailed to. */
  issuedTo: string;
  phase: ApprovalPhase;
  /** 2 for a link of the second approval (absent: the first). */
  step?: 2;
  kHash: string;
  linkExpiresAt: string;
  createdAt: string;
  usedAt?: string;
}

/** The request's current approval wait: the task token lives here, never in a link. */
export interface ApprovalWait {
  requestId: string;
  /** 2 for the second approval's wait (absent: the first). */
  step?: 2;
  taskToken: string;
  phase: ApprovalPhase;
  /** Who may decide now (approver and delegate, or the escalation approver and theirs). */
  deciders: string[];
  decision?: Decision;
  /** When the phase's wait ends (its links expire then). */
  phaseEndsAt?: string;
  /**
   * Nobody but the requester is on record to decide: the wait sits in the admins' queue
   * (GET /approval-queue) until an admin names an approver.
   */
  awaitingApprover?: boolean;
  /** The requester, on a wait in the admins' queue (the queue lists them). */
  requester?: string;
  /** The approver an admin named; later phases of the same step ask them again. */
  namedApprover?: string;
  namedBy?: string;
  /** When the decision reached the execution (SendTaskSuccess delivered, or the next phase read it). */
  resumedAt?: string;
}

export interface Decision {
  decision: 'approve' | 'reject';
  comment: string;
  decidedBy: string;
  decidedAt: string;
  approvalId: string;
  /** 2 for the second approval's decision (absent: the first). */
  step?: 2;
}

/** S506 result handed to the execution. */
export type DecisionResult = Decision;
