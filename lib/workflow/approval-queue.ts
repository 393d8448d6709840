// The admins' queue of approvals nobody may decide: every level of the approver table that
// could decide the request is the requester (nobody decides their own request). The wait keeps
// its phase's expiry; an admin names an approver, who gets a link like any decider.
import { BadRequest, Conflict, NotFound } from '../errors.js';
import { type Caller, requireRole } from '../http/identity.js';
import { type DirectoryReader, deliver, recipientsOf } from '../mail/delivery.js';
import { approvalMail } from '../mail/workflow-mails.js';
import { type PeoplePorts, resolvePerson } from '../people/directory.js';
import { linkOf } from './approvals.js';
import { isRequestId, newApprovalId, newLinkSecret, sha256 } from './ids.js';
import type { ApprovalLink, ApprovalWait } from './model.js';
import type { ApprovalStore, Clock, Mailer, RequestStore, WorkflowSettings } from './ports.js';

export interface ApprovalQueuePorts {
  approvals: ApprovalStore;
  requests: RequestStore;
  mailer: Mailer;
  clock: Clock;
  settings: Pick<WorkflowSettings, 'apiUrl'>;
  people: DirectoryReader & PeoplePorts['people'];
}

const MAX_PAGE = 100;

function cursorOf(next: unknown): string | undefined {
  return next === undefined ? undefined : Buffer.from(JSON.stringify(next)).toString('base64url');
}

function afterOf(cursor: string | undefined): Record<string, string> | undefined {
  if (cursor === undefined || cursor === '') return undefined;
  const invalid = new BadRequest('cursor is not a cursor this listing gave out', 'cursor');
  let state: unknown;
  try {
    state = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw invalid;
  }
  const s = state as Record<string, unknown>;
  if (
    typeof s !== 'object' ||
    s === null ||
    !['pk', 'sk', 'gsi1sk'].every((k) => typeof s[k] === 'string' && (s[k] as string).length < 200)
  ) {
    throw invalid;
  }
  return { pk: s.pk as string, sk: s.sk as string, gsi1sk: s.gsi1sk as string };
}

/** GET /approval-queue: admins (and auditors, who read) see what waits for an approver to be named. */
export async function listApprovalQueue(
  ports: Pick<ApprovalQueuePorts, 'approvals'>,
  caller: Caller,
  query: Record<string, string>,
) {
  requireRole(caller, 'admins', 'auditors');
  const limit = query.limit === undefined ? 50 : Number(query.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE) {
    throw new BadRequest(`limit must be a whole number from 1 to ${MAX_PAGE}`, 'limit');
  }
  const after = afterOf(query.cursor);
  const page = await ports.approvals.unassignedWaits({ limit, ...(after ? { after } : {}) });
  const cursor = cursorOf(page.next);
  return {
    items: page.items
      .filter((w) => !w.decision)
      .map((w) => ({
        requestId: w.requestId,
        step: w.step ?? 1,
        phase: w.phase,
        requester: w.requester,
        ...(w.phaseEndsAt ? { expiresAt: w.phaseEndsAt } : {}),
      })),
    ...(cursor ? { cursor } : {}),
  };
}

/**
 * PUT /approval-queue/{requestId}: an admin names the approver of a waiting request. The person
 * gets a link valid until the phase ends and decides like any approver; later phases of the
 * same step ask them again. The requester cannot be named (400), nor can the caller name
 * themselves for a request of their own.
 */
export async function nameApprover(
  ports: ApprovalQueuePorts,
  caller: Caller,
  requestIdParam: string,
  body: unknown,
): Promise<{ requestId: string; step: 1 | 2; approver: string; linkExpiresAt: string }> {
  requireRole(caller, 'admins');
  if (!isRequestId(requestIdParam)) throw new BadRequest('requestId is not a request id', 'requestId');
  const form = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
  const approver = await resolvePerson(ports, form.approver, 'approver');
  const request = await ports.requests.getRequest(requestIdParam);
  if (!request) throw new NotFound(`No request ${requestIdParam}`);
  if (approver === request.requester) {
    throw new BadRequest('approver: nobody decides their own request', 'approver');
  }
  // The second step's wait when it is the one in the queue, else the first's.
  const second = await ports.approvals.getWait(request.requestId, 2);
  const wait: ApprovalWait | undefined = second?.awaitingApprover
    ? second
    : await ports.approvals.getWait(request.requestId);
  if (!wait?.awaitingApprover || wait.decision || request.status !== 'AWAITING_APPROVAL') {
    throw new Conflict(`${request.requestId} does not wait for an approver to be named`);
  }
  const now = ports.clock.now();
  const linkExpiresAt = wait.phaseEndsAt ?? now.toISOString();
  if (linkExpiresAt <= now.toISOString()) {
    throw new Conflict(`${request.requestId}'s wait has ended`);
  }
  const k = newLinkSecret();
  const link: ApprovalLink = {
    approvalId: newApprovalId(request.requestId),
    requestId: request.requestId,
    issuedTo: approver,
    phase: wait.phase,
    ...(wait.step === 2 ? { step: 2 as const } : {}),
    kHash: sha256(k),
    linkExpiresAt,
    createdAt: now.toISOString(),
  };
  const outcome = await ports.approvals.nameApprover(wait, { approver, namedBy: caller.user }, link);
  if (outcome === 'taken')
    throw new Conflict(`${request.requestId} no longer waits for an approver to be named`);
  // One naming per step: the named approver stays for the step's later phases.
  const key = wait.step === 2 ? 'S505.second-named' : 'S505.named';
  await ports.requests.recordStep(
    request.requestId,
    key,
    { at: now.toISOString(), deciders: [approver], namedBy: caller.user },
    { addDeciders: [approver] },
  );
  const people = await recipientsOf(ports.people, [approver, request.requester]);
  const recipient = people.get(approver)!;
  const s503 = request.steps.S503 as { available?: boolean; note?: string; total?: number } | undefined;
  const delivery = await deliver(ports.mailer, recipient, (to) =>
    approvalMail({
      to,
      recipient: recipient.name,
      kind: wait.phase,
      request: {
        ...request,
        requester: people.get(request.requester)?.name ?? request.requester,
      },
      budget: {
        available: s503?.available ?? null,
        ...(s503?.note ? { note: s503.note } : {}),
        ...(s503?.total !== undefined ? { total: s503.total } : {}),
      },
      link: linkOf(ports.settings, link.approvalId, k),
      linkExpiresAt,
    }),
  );
  if (!delivery.sent) {
    await ports.requests.recordStep(request.requestId, `${key}-mail-refused`, {
      at: now.toISOString(),
      to: delivery.to,
      code: delivery.code,
      reason: delivery.reason,
    });
  }
  return { requestId: request.requestId, step: wait.step ?? 1, approver, linkExpiresAt };
}
