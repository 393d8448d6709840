// S504 (who approves) and the ends of a request: S508 approved (grant + key mail), S509
// rejected, expired (no decision, or no budget answer, in time) and failed. Each end sets the
// final status, records its step and mails the employee.
import { mailAddressOf } from '../directory.js';
import {
  approvedMail,
  expiredMail,
  failedMail,
  type RequestFacts,
  rejectedMail,
} from '../mail/workflow-mails.js';
import type { KeyIssuer } from '../ports/key-issuer.js';
import type { ApproverStore } from '../ports/registry-approvers.js';
import { resolveApprover } from '../registry/approvers.js';
import type { ApproverInfo } from './approvals.js';
import { lineIdOf } from './ids.js';
import type { LedgerStore } from './ledger.js';
import type { LicenceStore } from './licences.js';
import type { BudgetResult, Decision, ExecutionInput } from './model.js';
import type { BudgetStore, Clock, Mailer, RequestStore, WorkflowSettings } from './ports.js';

export interface OutcomePorts {
  requests: RequestStore;
  budget: BudgetStore;
  ledger: Pick<LedgerStore, 'commit' | 'release'>;
  licences: Pick<LicenceStore, 'release'>;
  mailer: Mailer;
  keys: KeyIssuer;
  clock: Clock;
  settings: Pick<WorkflowSettings, 'mailDomain'>;
}

/** S504: the approver in force at the time of the request, with the delegate if one is in force then. */
export async function resolveRequestApprover(
  ports: { approvers: ApproverStore; requests: RequestStore; clock: Clock },
  input: Pick<ExecutionInput, 'requestId' | 'requester' | 'createdAt'>,
): Promise<ApproverInfo> {
  const at = ports.clock.now().toISOString();
  const found = await resolveApprover({ approvers: ports.approvers }, input.requester, input.createdAt);
  if (!found) {
    const reason = `No approver is on record for ${input.requester} at ${input.createdAt}.`;
    await ports.requests.recordStep(input.requestId, 'S504', { at, found: false });
    return { found: false, approver: '', delegate: null, reason };
  }
  const deciders = [found.approver, ...(found.delegate ? [found.delegate] : [])];
  await ports.requests.recordStep(
    input.requestId,
    'S504',
    { at, approver: found.approver, ...(found.delegate ? { delegate: found.delegate } : {}) },
    { addDeciders: deciders },
  );
  // Every field present: the state machine's ResultSelector reads each by path.
  return { found: true, approver: found.approver, delegate: found.delegate ?? null, reason: '' };
}

export type Outcome =
  | { outcome: 'approved'; decision: Decision; purchaseOrder: { messageId: string; at: string } }
  | { outcome: 'rejected'; decision: Decision }
  /** Finance said no and the policy lets no approver override it. */
  | { outcome: 'rejected-budget' }
  | { outcome: 'expired'; stage: 'budget' | 'approval' }
  | { outcome: 'failed'; reason?: string; error?: { Error?: string; Cause?: string }; step?: string };

export type OutcomeInput = Outcome & {
  state: ExecutionInput & { budget?: BudgetResult };
};

async function factsOf(ports: OutcomePorts, state: ExecutionInput): Promise<RequestFacts> {
  const r = await ports.requests.getRequest(state.requestId);
  return { ...state, ...(r?.reason ? { reason: r.reason } : {}) };
}

export async function concludeRequest(ports: OutcomePorts, input: OutcomeInput) {
  const { state } = input;
  const at = ports.clock.now().toISOString();
  const to = mailAddressOf(state.requester, ports.settings.mailDomain);
  const request = await factsOf(ports, state);
  switch (input.outcome) {
    case 'approved': {
      // S507 happened in the state machine (sqs:sendMessage); its time is recorded here, and
      // the purchase order commits what the line reserved.
      await ports.requests.recordStep(state.requestId, 'S507', input.purchaseOrder);
      await ports.ledger.commit(state.requestId, 'S507', at);
      const grant = await ports.keys.grant({
        requestId: state.requestId,
        clientId: state.clientId,
        user: state.requester,
        software: state.software,
        targetVersion: state.targetVersion,
      });
      await ports.mailer.send(
        approvedMail({
          to,
          request,
          approvedBy: input.decision.decidedBy,
          grantId: grant.grantId,
          ...(grant.key ? { key: grant.key } : {}),
          ...(input.decision.comment ? { comment: input.decision.comment } : {}),
        }),
      );
      await ports.requests.recordStep(
        state.requestId,
        'S508',
        { at, grantId: grant.grantId, keyIssued: Boolean(grant.key) },
        { status: 'APPROVED' },
      );
      return { status: 'APPROVED', grantId: grant.grantId };
    }
    case 'rejected': {
      await ports.mailer.send(
        rejectedMail({ to, request, rejectedBy: input.decision.decidedBy, comment: input.decision.comment }),
      );
      await ports.ledger.release(state.requestId, 'rejected by the approver', 'S509', at);
      await ports.licences.release(state.requestId, at);
      await ports.requests.recordStep(state.requestId, 'S509', { at }, { status: 'REJECTED' });
      return { status: 'REJECTED' };
    }
    case 'rejected-budget': {
      const note = state.budget?.note ? ` (${state.budget.note})` : '';
      const reason = `Finance answered that no budget is available${note}; the policy lets no approver override that.`;
      await ports.mailer.send(rejectedMail({ to, request, rejectedBy: 'finance', comment: reason }));
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
      await ports.mailer.send(expiredMail({ to, request, reason }));
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
        `A step failed: ${input.error?.Error ?? 'unknown error'}${input.error?.Cause ? ` (${String(input.error.Cause).slice(0, 300)})` : ''}`;
      await ports.ledger.release(state.requestId, reason, 'workflow', at);
      await ports.licences.release(state.requestId, at);
      await ports.mailer.send(failedMail({ to, request, reason }));
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
