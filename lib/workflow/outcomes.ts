// S504 (who approves) and the ends of a request: S508 approved (grant + mail), S509
// rejected, expired (no decision, or no budget answer, in time) and failed. Each end sets the
// final status, records its step and mails the employee.
import { type DirectoryReader, deliver, recipientsOf } from '../mail/delivery.js';
import {
  approvedMail,
  expiredMail,
  failedMail,
  type RequestFacts,
  rejectedMail,
} from '../mail/workflow-mails.js';
import type { KeyIssuer } from '../ports/key-issuer.js';
import type { Mail } from '../ports/mailer.js';
import type { ApproverStore } from '../ports/registry-approvers.js';
import { resolveApprover } from '../registry/approvers.js';
import type { ApproverInfo } from './approvals.js';
import { lineIdOf } from './ids.js';
import type { LedgerStore } from './ledger.js';
import type { LicenceStore } from './licences.js';
import type { BudgetResult, Decision, ExecutionInput } from './model.js';
import type { BudgetStore, Clock, Mailer, MessageQueue, RequestStore } from './ports.js';
import { reasonOf } from './requests.js';

export interface OutcomePorts {
  requests: RequestStore;
  budget: BudgetStore;
  ledger: Pick<LedgerStore, 'commit' | 'release'>;
  /** Finance's purchase-order queue (S507). */
  orders: MessageQueue;
  licences: Pick<LicenceStore, 'release'>;
  mailer: Mailer;
  keys: KeyIssuer;
  clock: Clock;
  /** The requester's address and the display names mails show. */
  people: DirectoryReader;
}

export type Outcome =
  | { outcome: 'approved'; decision: Decision }
  | { outcome: 'rejected'; decision: Decision }
  /** Finance said no and the policy lets no approver override it. */
  | { outcome: 'rejected-budget' }
  | { outcome: 'expired'; stage: 'budget' | 'approval' }
  | { outcome: 'failed'; reason?: string; error?: { Error?: string; Cause?: string }; step?: string };

export type OutcomeInput = Outcome & {
  state: ExecutionInput & { budget?: BudgetResult };
};

async function factsOf(
  ports: OutcomePorts,
  state: ExecutionInput,
  requesterName: string,
): Promise<RequestFacts> {
  const reason = await reasonOf(ports.requests, state);
  return { ...state, requester: requesterName, ...(reason ? { reason } : {}) };
}

/** A Lambda task's error Cause is the JSON of {errorType, errorMessage}: its message. */
function causeMessage(cause: string | undefined): string {
  try {
    const parsed = JSON.parse(cause ?? '') as { errorMessage?: unknown };
    if (typeof parsed.errorMessage === 'string') return parsed.errorMessage;
  } catch {
    // not JSON: the cause as it is
  }
  return String(cause ?? 'No approver is on record.').slice(0, 300);
}

export async function concludeRequest(ports: OutcomePorts, input: OutcomeInput) {
  const { state } = input;
  const at = ports.clock.now().toISOString();
  const decidedBy = 'decision' in input ? input.decision.decidedBy : undefined;
  const people = await recipientsOf(ports.people, [state.requester, ...(decidedBy ? [decidedBy] : [])]);
  const requester = people.get(state.requester)!;
  const nameOf = (key: string) => people.get(key)?.name ?? key;
  const request = await factsOf(ports, state, requester.name);
  // The requester's mail, or — when it cannot go — a step saying why, for admins to see.
  const mailRequester = async (step: string, build: (address: string) => Mail) => {
    const delivery = await deliver(ports.mailer, requester, build);
    if (!delivery.sent) {
      await ports.requests.recordStep(state.requestId, `${step}.mail-refused.${state.requester}`, {
        at,
        to: delivery.to,
        code: delivery.code,
        reason: delivery.reason,
      });
    }
  };
  switch (input.outcome) {
    case 'approved': {
      // S507: the purchase order to finance (orderId = request id: a retried send may deliver
      // twice, finance de-duplicates), sent here rather than by a state of its own.
      const budget = state.budget;
      const order = await ports.orders.send(
        {
          type: 'purchase-order',
          orderId: state.requestId,
          requestId: state.requestId,
          requester: state.requester,
          department: state.department,
          clientId: state.clientId,
          software: state.software,
          version: state.targetVersion,
          quantity: budget?.quantity ?? state.quantity,
          unitPrice: budget?.unitPrice ?? state.unitPrice,
          total: budget?.total ?? Math.round(state.quantity * state.unitPrice * 100) / 100,
          budgetAvailable: budget?.available ?? true,
          budgetLineId: budget?.lineId ?? '',
          approvedBy: input.decision.decidedBy,
          approvedAt: input.decision.decidedAt,
        },
        state.requestId,
      );
      // The purchase order commits what the line reserved: in the write that records it when
      // the budget answer says what that is, else read first.
      const reserved = budget?.reservation;
      if (reserved === undefined) await ports.ledger.commit(state.requestId, 'S507', at);
      const grant = await ports.keys.grant({
        requestId: state.requestId,
        clientId: state.clientId,
        user: state.requester,
        software: state.software,
        targetVersion: state.targetVersion,
      });
      await mailRequester('S508', (to) =>
        approvedMail({
          to,
          request,
          approvedBy: nameOf(input.decision.decidedBy),
          grantId: grant.grantId,
          ...(grant.release ? { release: grant.release } : {}),
          ...(grant.keyPending ? { keyPending: grant.keyPending.reason } : {}),
          ...(input.decision.comment ? { comment: input.decision.comment } : {}),
        }),
      );
      await ports.requests.recordStep(
        state.requestId,
        'S508',
        {
          at,
          grantId: grant.grantId,
          ...(grant.release ? { revision: grant.release.revision } : {}),
          ...(grant.keyPending ? { keyPending: grant.keyPending.reason } : {}),
          ...(grant.keyPending?.detail ? { keyPendingDetail: grant.keyPending.detail } : {}),
        },
        {
          status: 'APPROVED',
          alsoSteps: { S507: { at, messageId: order.messageId } },
          ...(reserved
            ? { commit: { requestId: state.requestId, department: state.department, ...reserved } }
            : {}),
        },
      );
      return { status: 'APPROVED', grantId: grant.grantId };
    }
    case 'rejected': {
      await mailRequester('S509', (to) =>
        rejectedMail({
          to,
          request,
          rejectedBy: nameOf(input.decision.decidedBy),
          comment: input.decision.comment,
        }),
      );
      await ports.ledger.release(state.requestId, 'rejected by the approver', 'S509', at);
      await ports.licences.release(state.requestId, at);
      await ports.requests.recordStep(state.requestId, 'S509', { at }, { status: 'REJECTED' });
      return { status: 'REJECTED' };
    }
    case 'rejected-budget': {
      const note = state.budget?.note ? ` (${state.budget.note})` : '';
      const reason = `Finance answered that no budget is available${note}; the policy lets no approver override that.`;
      await mailRequester('S509', (to) =>
        rejectedMail({ to, request, rejectedBy: 'finance', comment: reason }),
      );
      await ports.requests.recordStep(
        state.requestId,
        'S509',
        { at, rejectedBy: 'finance', reason: 'budget' },
        { status: 'REJECTED', statusReason: reason },
      );
      return { status: 'REJECTED' };
    }
    case 'expired': {
      const reason =
        input.stage === 'budget'
          ? 'Finance did not answer the budget query in time.'
          : 'No approver decided in time (after a reminder and an escalation).';
      if (input.stage === 'budget') {
        // A finance answer that comes now is reported late instead of resuming nothing.
        await ports.budget.withdrawLine(lineIdOf(state.requestId), at);
      }
      await ports.ledger.release(state.requestId, reason, 'workflow', at);
      await ports.licences.release(state.requestId, at);
      await mailRequester(input.stage === 'budget' ? 'S503.expired' : 'S506.expired', (to) =>
        expiredMail({ to, request, reason }),
      );
      const key = input.stage === 'budget' ? 'S503.expired' : 'S506.expired';
      await ports.requests.recordStep(
        state.requestId,
        key,
        { at },
        { status: 'EXPIRED', statusReason: reason },
      );
      return { status: 'EXPIRED' };
    }
    case 'failed': {
      const reason =
        input.reason ??
        (input.error?.Error === 'NoApprover'
          ? causeMessage(input.error.Cause)
          : `A step failed: ${input.error?.Error ?? 'unknown error'}${input.error?.Cause ? ` (${String(input.error.Cause).slice(0, 300)})` : ''}`);
      await ports.ledger.release(state.requestId, reason, 'workflow', at);
      await ports.licences.release(state.requestId, at);
      await mailRequester('FAILED', (to) => failedMail({ to, request, reason }));
      await ports.requests.recordStep(
        state.requestId,
        input.step ? `${input.step}.failed` : 'FAILED',
        { at, reason },
        { status: 'FAILED', statusReason: reason },
      );
      return { status: 'FAILED' };
    }
  }
}
