// What the workflow's use cases need from the outside. Adapters: lib/adapters/dynamodb/
// workflow-store.ts (DynamoDB), lib/adapters/sfn.ts (Step Functions), lib/adapters/sqs.ts.
import type { Mailer } from '../ports/mailer.js';
import type { Page, PageRequest } from '../ports/registry.js';
import type { CatalogEntry, Client } from '../registry/model.js';
import type { Budget, Reservation } from './ledger.js';
import type { LicenceHold, LicencePool } from './licences.js';
import type {
  ApprovalLink,
  ApprovalPhase,
  ApprovalWait,
  BudgetAnswer,
  BudgetBatch,
  BudgetLine,
  Decision,
  ExecutionInput,
  RequestStatus,
  StepRecord,
  UpdateRequest,
} from './model.js';

export type CreateOutcome =
  | { outcome: 'created'; request: UpdateRequest }
  | { outcome: 'exists'; request: UpdateRequest }
  /** Another request of the same client and software is in flight (the request was not written). */
  | { outcome: 'in-flight'; existing: { requestId: string; status: string } }
  /** The reservation's budget was short or switched off, or the licence taken (nothing was written). */
  | { outcome: 'insufficient' };

export interface RequestStore {
  /**
   * Creates the request unless it exists, in one transaction with the client+software's
   * in-flight lock and, when given, the ledger reservation of its cost.
   */
  createRequest(
    request: UpdateRequest,
    hold?: { reservation?: Reservation; licence?: LicenceHold },
  ): Promise<CreateOutcome>;
  getRequest(requestId: string): Promise<UpdateRequest | undefined>;
  listByRequester(user: string, page: PageRequest): Promise<Page<UpdateRequest>>;
  /** Records a step (idempotent per key) and optionally a new status and more fields, in one write. */
  recordStep(
    requestId: string,
    key: string,
    step: Omit<StepRecord, 'step'>,
    change?: StepChange,
  ): Promise<void>;
}

export interface StepChange {
  status?: RequestStatus;
  statusReason?: string;
  addDeciders?: string[];
  /** More steps reached in the same write (e.g. S504 with S505, S507 with S508). */
  alsoSteps?: Record<string, Omit<StepRecord, 'step'>>;
  /** Links the execution to the request (S501), by the first task that runs. */
  executionArn?: string;
  /** The purchase order (S507): commits this reservation of the request in the same write. */
  commit?: Reservation;
}

/** A step to record on the request in the same write as something else. */
export interface StepWrite {
  key: string;
  step: Omit<StepRecord, 'step'>;
  change?: StepChange;
}

/**
 * What a submission (S501) reads before its one write, in two reads: the second one's keys come
 * from the first one's answers (the client's department, the catalog's latest version).
 */
export interface SubmissionReads {
  /** The request (present: this is a resend), the client, the catalog entry, what the client runs. */
  subjects(
    requestId: string,
    clientId: string,
    software: string,
  ): Promise<{
    request?: UpdateRequest;
    client?: Client;
    software?: CatalogEntry;
    /** The version of each software installed on the client, by software name. */
    installed: Map<string, string>;
  }>;
  /** The department's budgets of `periods` and its automatic-answer switch; the software's pools of `versions`. */
  funds(
    department: string,
    periods: string[],
    software: string,
    versions: string[],
  ): Promise<{ budgets: Map<string, Budget>; automaticAnswers: boolean; pools: LicencePool[] }>;
}

export type AddLineResult = 'added' | 'token-updated';

export interface BudgetStore {
  /** Adds the line to the open batch, or (a retried S502 task) only replaces its token. */
  putLine(line: BudgetLine, taskToken: string): Promise<AddLineResult>;
  getLine(lineId: string): Promise<(BudgetLine & { taskToken?: string }) | undefined>;
  /** Up to `limit` lines waiting for the next batch, oldest first. */
  openLines(limit: number): Promise<BudgetLine[]>;
  /** Writes the batch in status "closing" and moves each still-open line into it; answers the lines it took. */
  closeBatch(batch: BudgetBatch, lines: BudgetLine[]): Promise<BudgetLine[]>;
  batchesInStatus(status: BudgetBatch['status'], page: PageRequest): Promise<Page<BudgetBatch>>;
  getBatch(batchId: string): Promise<BudgetBatch | undefined>;
  linesOfBatch(batchId: string): Promise<BudgetLine[]>;
  markBatchSent(batchId: string, messageId: string): Promise<void>;
  /** Records the answer unless the line has one (or was withdrawn). */
  answerLine(
    batchId: string,
    lineId: string,
    answer: BudgetAnswer,
  ): Promise<
    | { outcome: 'recorded'; line: BudgetLine; taskToken: string }
    | {
        outcome: 'duplicate';
        line: BudgetLine;
        answer: BudgetAnswer;
        taskToken?: string;
        deliveredAt?: string;
      }
    | { outcome: 'withdrawn' }
    | { outcome: 'unknown' }
  >;
  /** Notes that the answer reached the execution. */
  markDelivered(lineId: string, at: string): Promise<void>;
  /** The request stopped waiting (budget timeout): later answers are late. */
  withdrawLine(lineId: string, at: string): Promise<void>;
  /** Moves the batch to "answered" once no line of it waits any more. */
  refreshBatchStatus(batchId: string): Promise<void>;
}

export interface ApprovalStore {
  /**
   * Sets the request's current wait (token, phase, deciders), adds the phase's links and records
   * the phase's step, in one transaction. If a decision was already taken (it came while no
   * token waited), writes nothing and answers it.
   */
  openPhase(
    wait: Omit<ApprovalWait, 'decision'>,
    links: ApprovalLink[],
    record: StepWrite,
  ): Promise<{ decision?: Decision }>;
  getLink(approvalId: string): Promise<ApprovalLink | undefined>;
  /**
   * The link with its request's wait (of the link's step) and the request, in one read where the
   * id names the request; with `source`, also the wrong secrets presented for it from there.
   */
  getLinkView(
    approvalId: string,
    source?: string,
  ): Promise<{ link?: ApprovalLink; wait?: ApprovalWait; request?: UpdateRequest; misses?: SecretMisses }>;
  /** Counts one more wrong secret for the link from `source` (expires a day after the last); answers the count. */
  recordSecretMiss(approvalId: string, source: string, at: string): Promise<number>;
  /** The wait of the first approval, or of the second (`step` 2, above the cost threshold). */
  getWait(requestId: string, step?: 2): Promise<ApprovalWait | undefined>;
  /** The wait and the request together (one read: both live on the request's partition). */
  getWaitAndRequest(requestId: string, step?: 2): Promise<{ wait?: ApprovalWait; request?: UpdateRequest }>;
  /**
   * The one decision: marks the link used and records the decision, both only if neither
   * happened yet and `decision.decidedBy` is a current decider. 'taken' otherwise.
   */
  decide(link: ApprovalLink, decision: Decision): Promise<'decided' | 'taken'>;
  /** The decision reached its execution: it leaves the unresumed index. Idempotent. */
  markResumed(requestId: string, step: 2 | undefined, at: string): Promise<void>;
  /** Waits whose decision was recorded before `decidedBefore` and is not known to have reached its execution. */
  unresumedDecisions(decidedBefore: string, limit: number): Promise<ApprovalWait[]>;
  /** The admins' queue: waits nobody but the requester could decide, oldest first. */
  unassignedWaits(page: PageRequest): Promise<Page<ApprovalWait>>;
  /**
   * An admin names the approver of a wait in the queue: the link is added and the wait leaves the
   * queue, in one transaction, only if it still waits unassigned with the same token. 'taken' otherwise.
   */
  nameApprover(
    wait: ApprovalWait,
    named: { approver: string; namedBy: string },
    link: ApprovalLink,
  ): Promise<'named' | 'taken'>;
}

/** Wrong secrets presented for one link from one source. */
export interface SecretMisses {
  count: number;
  lastAt: string;
}

export type CallbackOutcome = 'delivered' | 'gone';

/** Resumes a waiting execution (SendTaskSuccess). 'gone' when the task no longer waits. */
export interface TaskCallbacks {
  succeed(taskToken: string, output: unknown): Promise<CallbackOutcome>;
}

export interface Executions {
  /** Starts the execution named `name`; starting it again with the same input is a no-op. */
  start(name: string, input: ExecutionInput): Promise<{ executionArn: string }>;
}

export interface MessageQueue {
  send(body: unknown, dedupeId?: string): Promise<{ messageId: string }>;
}

export interface Clock {
  now(): Date;
}

export interface WorkflowSettings {
  /** Base URL of the HTTP API, for approval links. */
  apiUrl: string;
  /** Seconds of each approval phase: the link of a phase lives as long as its wait. */
  approval: { reminderSeconds: number; escalationSeconds: number; expirySeconds: number };
  /** Lines per budget message (one SQS message holds a closed batch). */
  maxLinesPerBatch: number;
}

export type { ApprovalPhase, Mailer };
