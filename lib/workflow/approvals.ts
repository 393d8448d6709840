// S505/S506: approval links and the decision. A link is an opaque approval id plus a secret
// `k` (only its SHA-256 is stored), mailed to one decider. GET/HEAD show a page and change
// nothing (mail scanners prefetch links); only the page's POST decides, once.

import { AppError, BadRequest } from '../errors.js';
import { type DirectoryReader, deliver, recipientsOf } from '../mail/delivery.js';
import { approvalMail, type RequestFacts, secretMissesMail } from '../mail/workflow-mails.js';
import type { ApproverStore } from '../ports/registry-approvers.js';
import { resolveApprover } from '../registry/approvers.js';
import { isApprovalId, newApprovalId, newLinkSecret, secretMatches, sha256 } from './ids.js';
import {
  type ApprovalLink,
  type ApprovalPhase,
  type ApprovalWait,
  type BudgetResult,
  type Decision,
  type ExecutionInput,
  stepOfPhase,
  type UpdateRequest,
} from './model.js';
import type { ApprovalStore, Clock, Mailer, RequestStore, TaskCallbacks, WorkflowSettings } from './ports.js';
import { reasonOf } from './requests.js';

export interface ApprovalPorts {
  approvals: ApprovalStore;
  requests: RequestStore;
  callbacks: TaskCallbacks;
  mailer: Mailer;
  clock: Clock;
  settings: WorkflowSettings;
  approvers: ApproverStore;
  /** Addresses and display names of the deciders and the requester. */
  people: DirectoryReader;
}

/** What the link routes need (no mail, no approver table). */
export type LinkPorts = Pick<ApprovalPorts, 'approvals' | 'requests' | 'callbacks' | 'clock'> & {
  /** Told once when wrong secrets from one source pass the alert threshold (mails the approver and admins). */
  alerts?: SecretMissAlerts;
};

export interface SecretMissAlerts {
  secretMisses(link: ApprovalLink, count: number, sourceAddress: string): Promise<void>;
}

/** Who presents a link: the source address (hashed for counting) and, on the decision route, the signed-in caller. */
export interface Presenter {
  sourceAddress?: string;
  caller?: string;
}

/** Wrong secrets from one source allowed before each further try waits (1 s, 2 s, 4 s, … at most an hour). */
export const FREE_SECRET_MISSES = 5;
/** At this many wrong secrets from one source, the approver and the admins are told (once). */
export const SECRET_MISS_ALERT = 10;

export function missBackoffSeconds(count: number): number {
  return count < FREE_SECRET_MISSES ? 0 : Math.min(2 ** (count - FREE_SECRET_MISSES), 3600);
}

/** The counter's key for a source address: a hash, so the table holds no addresses. */
export const sourceOf = (address: string) => sha256(`upman-link-source\n${address}`).slice(0, 32);

/**
 * The alert: one mail to the person the link is for (the directory's address) and the admins'
 * addresses. A failed send is left to the mail's own reporting: the page answers all the same.
 */
export function mailSecretMissAlerts(ports: {
  mailer: Mailer;
  people: DirectoryReader;
  adminAddresses: string[];
}): SecretMissAlerts {
  return {
    async secretMisses(link, count, sourceAddress) {
      const holder = (await recipientsOf(ports.people, [link.issuedTo])).get(link.issuedTo);
      const to = [...(holder?.address ? [holder.address] : []), ...ports.adminAddresses];
      if (to.length === 0) return;
      await ports.mailer
        .send(
          secretMissesMail({
            to,
            requestId: link.requestId,
            linkFor: holder?.name ?? link.issuedTo,
            count,
            sourceAddress,
          }),
        )
        .catch(() => undefined);
    },
  };
}

/** Too many wrong secrets from this source for this link: wait (the rightful approver, signed in, never does). */
export class LinkThrottled extends AppError {
  constructor(
    readonly link: ApprovalLink,
    readonly retryAfterSeconds: number,
  ) {
    super(
      429,
      `Too many wrong link secrets came from your network for this link. Try again in ${retryAfterSeconds} s; if the link is yours, sign in to decide.`,
    );
  }
}

/** What S504 hands on: who decides. `delegate` is null when none is in force. */
export interface ApproverInfo {
  found: boolean;
  approver: string;
  delegate: string | null;
  /** Why none was found ('' when found). */
  reason: string;
}

export interface ApprovalTaskInput {
  taskToken: string;
  phase: ApprovalPhase;
  /** The execution, linked to the request by the first task that runs (S501). */
  executionArn?: string;
  state: ExecutionInput & {
    budget: BudgetResult;
    approver?: ApproverInfo;
    decision?: Decision;
  };
}

function phaseSeconds(settings: WorkflowSettings, phase: ApprovalPhase): number {
  const a = settings.approval;
  // A link lives as long as its decider may still decide: the first one until escalation.
  if (phase === 'initial') return a.reminderSeconds + a.escalationSeconds;
  if (phase === 'reminder') return a.escalationSeconds;
  // The second approval: a reminder after reminderSeconds, expiry expirySeconds later.
  if (phase === 'second') return a.reminderSeconds + a.expirySeconds;
  return a.expirySeconds;
}

type Decider = { user: string; onBehalfOf?: string };

/** How far up the approver table a search for someone other than the requester goes. */
const MAX_LEVELS = 10;

/**
 * The deciders of one level of the approver table: the approver and their delegate, never the
 * requester. A level whose approver is the requester has nobody (their delegate would act for
 * the requester); a delegate who is the requester is left out.
 */
function decidersOfLevel(
  level: { approver: string; delegate?: string | null },
  requester: string,
): Decider[] {
  if (level.approver === requester) return [];
  return [
    { user: level.approver },
    ...(level.delegate && level.delegate !== requester
      ? [{ user: level.delegate, onBehalfOf: level.approver }]
      : []),
  ];
}

/**
 * The first level above `user` in the approver table with someone other than the requester to
 * decide: `undefined` when nobody is on record above; `{approver, deciders: []}` when everyone
 * on record up the chain is the requester (the request then waits for an admin to name one).
 */
async function levelAbove(
  ports: ApprovalPorts,
  user: string,
  requester: string,
  at: Date | string,
): Promise<{ approver: string; deciders: Decider[] } | undefined> {
  const seen = new Set([user]);
  let below = user;
  let last: string | undefined;
  for (let i = 0; i < MAX_LEVELS; i++) {
    const found = await resolveApprover({ approvers: ports.approvers }, below, at);
    if (!found || seen.has(found.approver)) break;
    last = found.approver;
    const deciders = decidersOfLevel(found, requester);
    if (deciders.length > 0) return { approver: found.approver, deciders };
    seen.add(found.approver);
    below = found.approver;
  }
  return last === undefined ? undefined : { approver: last, deciders: [] };
}

/**
 * Who decides in this phase: the approver and their delegate; on escalation, the approver's own
 * approver; in the second step, the first level's approver's approver. Nobody decides their own
 * request: where the requester would, the next level up decides, and where there is none the
 * list is empty (an admin names an approver, docs/workflow.md).
 */
async function decidersOf(
  ports: ApprovalPorts,
  phase: ApprovalPhase,
  info: ApproverInfo,
  requester: string,
  at: Date,
): Promise<{ deciders: Decider[]; escalatedFrom?: string; note?: string }> {
  // The first level: the approver in force, or above them when the approver is the requester.
  const own = decidersOfLevel(info, requester);
  const first =
    own.length > 0 || info.approver !== requester
      ? { approver: info.approver, deciders: own }
      : ((await levelAbove(ports, info.approver, requester, at)) ?? {
          approver: info.approver,
          deciders: [],
        });
  if (stepOfPhase(phase) === 2) {
    const above = await levelAbove(ports, first.approver, requester, at);
    if (!above) {
      throw new NoSecondApprover(`No approver is on record above ${first.approver} for the second approval.`);
    }
    return { deciders: above.deciders };
  }
  if (phase !== 'escalation') return { deciders: first.deciders };
  const next = await levelAbove(ports, first.approver, requester, at);
  if (!next || next.deciders.length === 0) {
    return {
      deciders: first.deciders,
      note: `No approver on record above ${first.approver}: asked again.`,
    };
  }
  return { escalatedFrom: first.approver, deciders: next.deciders };
}

export function linkOf(settings: Pick<WorkflowSettings, 'apiUrl'>, approvalId: string, k: string): string {
  return `${settings.apiUrl.replace(/\/$/, '')}/approvals/${approvalId}?k=${encodeURIComponent(k)}`;
}

/**
 * The S505 task (lambda:invoke.waitForTaskToken), once per phase: stores the token against the
 * request, issues one link per decider and mails it. If a decision came while no token waited
 * (between phases), it fails with AlreadyDecided and the state machine reads that decision.
 */
export async function openApprovalPhase(ports: ApprovalPorts, input: ApprovalTaskInput) {
  const { state, phase } = input;
  const now = ports.clock.now();
  const at = now.toISOString();
  // S504 runs here rather than in a state of its own (a transition less): the approver in force
  // at the time of the request, the same answer in every phase.
  const found = state.approver
    ? undefined
    : await resolveApprover({ approvers: ports.approvers }, state.requester, state.createdAt);
  if (!state.approver && !found) {
    const reason = `No approver is on record for ${state.requester} at ${state.createdAt}.`;
    await ports.requests.recordStep(
      state.requestId,
      'S504',
      { at, found: false },
      {
        ...(input.executionArn ? { executionArn: input.executionArn } : {}),
      },
    );
    throw new NoApprover(reason);
  }
  const approver: ApproverInfo = state.approver ?? {
    found: true,
    approver: found!.approver,
    delegate: found!.delegate ?? null,
    reason: '',
  };
  const step = stepOfPhase(phase);
  const chosen = await decidersOf(ports, phase, approver, state.requester, now);
  const { escalatedFrom } = chosen;
  let { deciders, note } = chosen;
  if (deciders.length === 0) {
    // Nobody but the requester is on record: an admin's earlier choice for this request stands.
    const named = (await ports.approvals.getWait(state.requestId, step === 2 ? 2 : undefined))?.namedApprover;
    if (named && named !== state.requester) deciders = [{ user: named }];
    else note = UNASSIGNED_NOTE;
  }
  const linkExpiresAt = new Date(now.getTime() + phaseSeconds(ports.settings, phase) * 1000).toISOString();
  const issued = deciders.map((d) => {
    const k = newLinkSecret();
    const link: ApprovalLink = {
      approvalId: newApprovalId(state.requestId),
      requestId: state.requestId,
      issuedTo: d.user,
      phase,
      ...(step === 2 ? { step } : {}),
      kHash: sha256(k),
      linkExpiresAt,
      createdAt: at,
    };
    return { link, k, onBehalfOf: d.onBehalfOf };
  });
  const users = deciders.map((d) => d.user);
  const key = phase === 'initial' ? 'S505' : `S505.${phase}`;
  const resolved =
    phase === 'initial'
      ? {
          S504: {
            at,
            approver: approver.approver,
            ...(approver.delegate ? { delegate: approver.delegate } : {}),
          },
        }
      : undefined;
  // The links, the wait and the request's status in one write: a decider who clicks at once
  // finds the request waiting.
  const { decision } = await ports.approvals.openPhase(
    {
      requestId: state.requestId,
      taskToken: input.taskToken,
      phase,
      deciders: users,
      phaseEndsAt: linkExpiresAt,
      ...(step === 2 ? { step } : {}),
      ...(users.length === 0 ? { awaitingApprover: true, requester: state.requester } : {}),
    },
    issued.map((i) => i.link),
    {
      key,
      step: { at, deciders: users, ...(note ? { note } : {}) },
      change: {
        status: 'AWAITING_APPROVAL',
        ...(users.length > 0 ? { addDeciders: users } : {}),
        ...(resolved ? { alsoSteps: resolved } : {}),
        ...(input.executionArn ? { executionArn: input.executionArn } : {}),
      },
    },
  );
  if (decision) {
    // The state machine catches this and reads the decision itself (S506 ReadDecision), so
    // this task needs no Step Functions permission (which would make a dependency cycle).
    throw new AlreadyDecided(`${state.requestId} was decided by ${decision.decidedBy} between phases`);
  }
  const reason = await reasonOf(ports.requests, state);
  const named = [...users, state.requester, ...(escalatedFrom ? [escalatedFrom] : [])];
  for (const i of issued) if (i.onBehalfOf) named.push(i.onBehalfOf);
  const people = await recipientsOf(ports.people, named);
  const nameOf = (key: string) => people.get(key)?.name ?? key;
  const facts: RequestFacts = {
    ...state,
    requester: nameOf(state.requester),
    ...(reason ? { reason } : {}),
  };
  for (const i of issued) {
    const recipient = people.get(i.link.issuedTo)!;
    const delivery = await deliver(ports.mailer, recipient, (to) =>
      approvalMail({
        to,
        recipient: recipient.name,
        kind: phase,
        request: facts,
        budget: { available: state.budget.available, note: state.budget.note, total: state.budget.total },
        link: linkOf(ports.settings, i.link.approvalId, i.k),
        linkExpiresAt,
        ...(escalatedFrom ? { escalatedFrom: nameOf(escalatedFrom) } : {}),
        ...(i.onBehalfOf ? { onBehalfOf: nameOf(i.onBehalfOf) } : {}),
        ...(step === 2 && state.decision ? { firstApprovedBy: nameOf(state.decision.decidedBy) } : {}),
      }),
    );
    // A refused mail is on the request for admins to see (and act on): never dropped.
    if (!delivery.sent) {
      await ports.requests.recordStep(state.requestId, `${key}.mail-refused.${i.link.issuedTo}`, {
        at,
        to: delivery.to,
        code: delivery.code,
        reason: delivery.reason,
      });
    }
  }
  return { approvalIds: issued.map((i) => i.link.approvalId), deciders: users };
}

export const UNASSIGNED_NOTE =
  'Nobody but the requester is on record to decide: the request waits for an admin to name an approver.';

/** Thrown by a phase's task when the decision came while no token waited (error name matched in the ASL). */
export class AlreadyDecided extends Error {
  override name = 'AlreadyDecided';
}

/** S504 found nobody (error name matched in the ASL: the machine records FAILED and mails). */
export class NoApprover extends Error {
  override name = 'NoApprover';
}

/** The second approval has nobody to ask (the machine's catch-all records the failure). */
export class NoSecondApprover extends Error {
  override name = 'NoSecondApprover';
}

/** A refused link: the page tells why, with a 4xx status. */
export class LinkRefused extends AppError {}

export interface LinkView {
  link: ApprovalLink;
  request: UpdateRequest;
  wait: ApprovalWait;
}

/** Checks a presented link; throws LinkRefused (403/404/409/410) with a reason fit for the page. */
async function checkLink(
  ports: LinkPorts,
  idParam: string,
  k: string | undefined,
  presenter: Presenter = {},
): Promise<LinkView> {
  if (!isApprovalId(idParam) || !k || k.length > 100) {
    throw new LinkRefused(403, 'This link is not valid. Open the link from your mail as it is.');
  }
  const source = presenter.sourceAddress ? sourceOf(presenter.sourceAddress) : undefined;
  const { link, wait, request, misses } = await ports.approvals.getLinkView(idParam, source);
  if (!link) throw new LinkRefused(404, 'This link is not known. It may have been mistyped.');
  const now = ports.clock.now();
  // Wrong secrets slow their source down: while it waits, every try answers 429 whether its
  // secret is right or not (no oracle), and wrong ones still count. The person the link is for,
  // signed in, is never held up.
  const waitUntil = misses ? Date.parse(misses.lastAt) + missBackoffSeconds(misses.count) * 1000 : 0;
  const throttled = presenter.caller !== link.issuedTo && now.getTime() < waitUntil;
  const right = secretMatches(k, link.kHash);
  if (!right && source && presenter.sourceAddress) {
    const count = await ports.approvals.recordSecretMiss(link.approvalId, source, now.toISOString());
    if (count === SECRET_MISS_ALERT) await ports.alerts?.secretMisses(link, count, presenter.sourceAddress);
  }
  if (throttled) throw new LinkThrottled(link, Math.ceil((waitUntil - now.getTime()) / 1000));
  if (!right) throw new LinkRefused(403, 'This link is not valid. Open the link from your mail as it is.');
  if (!request || !wait) throw new LinkRefused(404, 'The request of this link no longer exists.');
  if (link.usedAt || wait.decision) {
    const d = wait.decision;
    // A decision whose hand-over failed reaches its execution on the link's next visit.
    if (d && !wait.resumedAt) await resumeDecision(ports, wait);
    throw new LinkRefused(
      409,
      d
        ? `This request was already decided: ${d.decision === 'approve' ? 'approved' : 'rejected'} by ${d.decidedBy} at ${d.decidedAt}.`
        : 'This link was already used.',
    );
  }
  if (request.status !== 'AWAITING_APPROVAL') {
    throw new LinkRefused(410, `This request no longer waits for a decision (it is ${request.status}).`);
  }
  if (ports.clock.now().toISOString() >= link.linkExpiresAt) {
    throw new LinkRefused(410, `This link expired at ${link.linkExpiresAt}.`);
  }
  if (!wait.deciders.includes(link.issuedTo)) {
    throw new LinkRefused(
      403,
      `This link was issued to ${link.issuedTo}, who no longer decides this request (now: ${wait.deciders.join(', ')}).`,
    );
  }
  return { link, request, wait };
}

/** GET and HEAD: the page with the form. Changes nothing. */
export async function viewApproval(
  ports: LinkPorts,
  idParam: string,
  k: string | undefined,
  presenter: Presenter = {},
) {
  return checkLink(ports, idParam, k, presenter);
}

export function parseDecisionBody(body: unknown): {
  decision: 'approve' | 'reject';
  comment: string;
  k: string;
} {
  const form = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
  const decision = form.decision;
  if (decision !== 'approve' && decision !== 'reject') {
    throw new BadRequest('decision must be approve or reject', 'decision');
  }
  if (form.comment !== undefined && typeof form.comment !== 'string') {
    throw new BadRequest('comment must be text', 'comment');
  }
  const comment = typeof form.comment === 'string' ? form.comment.trim() : '';
  if (comment.length > 1000) throw new BadRequest('comment must be at most 1000 characters', 'comment');
  if (typeof form.k !== 'string' || form.k === '' || form.k.length > 100) {
    throw new BadRequest("k (the link's secret, from the page) is missing", 'k');
  }
  return { decision, comment, k: form.k };
}

/**
 * POST /approvals/{id}/decision: the one decision, by the signed-in approver or their delegate
 * holding the link's secret. Anyone else signed in (a forwarded link) is refused with whom the
 * link is for, and nothing is recorded. The link is marked used and the decision recorded in one
 * conditional transaction, so a double click or a replay gets 409 and changes nothing; then the
 * waiting execution resumes with it.
 */
export async function decide(
  ports: LinkPorts,
  idParam: string,
  body: unknown,
  caller: { user: string },
  sourceAddress?: string,
): Promise<{ decision: Decision; request: UpdateRequest; resumed: boolean }> {
  const form = parseDecisionBody(body);
  const { link, request, wait } = await checkLink(ports, idParam, form.k, {
    caller: caller.user,
    ...(sourceAddress ? { sourceAddress } : {}),
  });
  // The designated approver or their delegate: whoever the wait names as deciding now (the
  // requester never is). A forwarded link decides nothing for whoever else holds it.
  if (caller.user === request.requester || !wait.deciders.includes(caller.user)) {
    throw new LinkRefused(
      403,
      `This link is for ${link.issuedTo}; you are signed in as ${caller.user}, who does not decide this request. Nothing was recorded.`,
    );
  }
  const decision: Decision = {
    decision: form.decision,
    comment: form.comment,
    decidedBy: caller.user,
    decidedAt: ports.clock.now().toISOString(),
    approvalId: link.approvalId,
    ...(link.step === 2 ? { step: link.step } : {}),
  };
  const outcome = await ports.approvals.decide(link, decision);
  if (outcome === 'taken') {
    const wait = await ports.approvals.getWait(link.requestId, link.step);
    const d = wait?.decision;
    throw new LinkRefused(
      409,
      d
        ? `This request was already decided by ${d.decidedBy} at ${d.decidedAt}.`
        : 'This link was already used, or its holder no longer decides this request.',
    );
  }
  // The token as read for the checks (no second read). No write follows on this path: the
  // decision stays marked unresumed until the sweep finds its token spent ('gone') and clears
  // the mark, so a hand-over that failed here is retried there (or by the link's next visit).
  let resumed = false;
  try {
    resumed = (await ports.callbacks.succeed(wait.taskToken, decision)) === 'delivered';
  } catch {
    // Recorded all the same: the link's next visit or the sweep hands it over (the answer says so).
  }
  return { decision, request, resumed };
}

/**
 * Hands a stored decision to its execution and notes that it arrived. 'gone': no task waits on
 * the token any more (a retried hand-over already arrived, or the phase moved on and the next
 * phase's task reads the decision itself), so it is noted as well. A failed call throws and
 * leaves the decision marked for the next visit of the link and the sweep.
 */
export async function resumeDecision(
  ports: Pick<LinkPorts, 'approvals' | 'callbacks' | 'clock'>,
  wait: ApprovalWait,
): Promise<'delivered' | 'gone'> {
  if (!wait.decision) throw new Error(`${wait.requestId} has no decision to resume`);
  const outcome = await ports.callbacks.succeed(wait.taskToken, wait.decision);
  await ports.approvals.markResumed(wait.requestId, wait.step, ports.clock.now().toISOString());
  return outcome;
}

/**
 * The periodic sweep: every decision recorded more than `graceSeconds` ago and not known to
 * have reached its execution is handed over again. One failure does not stop the others.
 */
export async function resumeStuckDecisions(
  ports: Pick<LinkPorts, 'approvals' | 'callbacks' | 'clock'>,
  options: { graceSeconds: number; limit: number },
): Promise<{ resumed: string[]; failed: Array<{ requestId: string; error: string }> }> {
  const before = new Date(ports.clock.now().getTime() - options.graceSeconds * 1000).toISOString();
  const resumed: string[] = [];
  const failed: Array<{ requestId: string; error: string }> = [];
  for (const wait of await ports.approvals.unresumedDecisions(before, options.limit)) {
    try {
      await resumeDecision(ports, wait);
      resumed.push(wait.requestId);
    } catch (error) {
      failed.push({ requestId: wait.requestId, error: (error as Error).name });
    }
  }
  return { resumed, failed };
}
