// S501 and the request's read side: POST /update-requests, GET /update-requests/{id},
// GET /update-requests (the caller's own, paginated).
import { BadRequest, Conflict, Forbidden, NotFound } from '../errors.js';
import { bodyHashOf, idempotencyKeyOf } from '../http/idempotency.js';
import { type Caller, readsEverything, requireRole } from '../http/identity.js';
import { clientIdOf, pageSizeOf, requireObject, softwareNameOf, textOf } from '../registry/validate.js';
import { parseVersion } from '../registry/version.js';
import { isRequestId, lineIdOf, requestIdOf } from './ids.js';
import { budgetOfPeriods } from './ledger.js';
import { ANY_VERSION, poolFor } from './licences.js';
import type { BudgetResult, ExecutionInput, StepRecord, UpdateRequest } from './model.js';
import { isStoredInstant, periodsOf } from './periods.js';
import { evaluatePolicy, inFlightMessage, type PolicyConfig } from './policy.js';
import type { Clock, CreateOutcome, Executions, RequestStore, SubmissionReads } from './ports.js';

export interface SubmitPorts {
  requests: RequestStore;
  /** Everything the submission reads before its write, in two reads. */
  reads: SubmissionReads;
  policy: PolicyConfig;
  executions: Executions;
  clock: Clock;
}

export function parseSubmission(body: unknown) {
  const b = requireObject(body);
  return {
    clientId: clientIdOf(b.clientId),
    software: softwareNameOf(b.software, 'software'),
    ...(b.targetVersion === undefined || b.targetVersion === null
      ? {}
      : { targetVersion: parseVersion(b.targetVersion, 'targetVersion') }),
    reason: textOf(b.reason, 'reason', 1000),
  };
}

/** S501: records the request and starts its execution (name = request id). */
export async function submitRequest(
  ports: SubmitPorts,
  caller: Caller,
  headers: Record<string, string>,
  body: unknown,
): Promise<{ requestId: string; status: string }> {
  requireRole(caller, 'employees');
  const key = idempotencyKeyOf(headers, true);
  const input = parseSubmission(body);
  const bodyHash = bodyHashOf(input);
  const requestId = requestIdOf(caller.user, key);

  const subjects = await ports.reads.subjects(requestId, input.clientId, input.software);
  let request = subjects.request;
  if (!request) {
    const { client, software } = subjects;
    if (!client) throw new NotFound(`No client ${input.clientId}`, 'clientId');
    if (!client.users.includes(caller.user)) {
      throw new Forbidden(`${caller.user} is not a user of client ${input.clientId}`);
    }
    if (!software) throw new NotFound(`No software ${input.software} in the catalog`, 'software');
    const now = ports.clock.now();
    const at = now.toISOString();
    const targetVersion = input.targetVersion ?? software.latestVersion;
    const periods = periodsOf(now, ports.policy.fiscalYearStartMonth);
    const funds = await ports.reads.funds(
      client.department,
      [periods.month, periods.quarter],
      software.name,
      [targetVersion, ANY_VERSION],
    );
    const budget = budgetOfPeriods(funds, periods);
    const pools = funds.pools;
    const installedVersion = subjects.installed.get(software.name);
    const base = {
      requestId,
      requester: caller.user,
      clientId: client.clientId,
      department: client.department,
      software: software.name,
      targetVersion,
      reason: input.reason,
      quantity: 1,
      unitPrice: software.licencePrice,
      createdAt: at,
      bodyHash,
    };
    const pool = poolFor(pools, base.targetVersion);
    const catalog = {
      licencePrice: software.licencePrice,
      ...(installedVersion ? { installedVersion } : {}),
    };
    const attempt = async (withLicence: boolean): Promise<CreateOutcome> => {
      const decision = evaluatePolicy(
        base,
        { ...catalog, ...(withLicence && pool ? { spareLicence: { version: pool.version } } : {}) },
        budget,
        ports.policy,
      );
      if (decision.kind === 'refuse') throw new Conflict(decision.message, 'targetVersion');
      const policy = {
        approverMayOverrideBudget: decision.approverMayOverrideBudget,
        approvalSteps: decision.approvalSteps,
      };
      const waiting: UpdateRequest = { ...base, policy, status: 'AWAITING_BUDGET', steps: { S501: { at } } };
      const answered = (
        answeredBy: 'ledger' | 'policy' | 'licence',
        note: string,
        reservation: BudgetResult['reservation'] = null,
      ): UpdateRequest => {
        const budgetAnswer: BudgetResult = {
          lineId: lineIdOf(requestId),
          batchId: '',
          answeredBy,
          available: true,
          note,
          answeredAt: at,
          quantity: base.quantity,
          unitPrice: base.unitPrice,
          total: decision.cost,
          reservation,
        };
        return {
          ...waiting,
          budgetAnswer,
          status: 'AWAITING_APPROVAL',
          steps: {
            S501: { at },
            S502: { at, lineId: budgetAnswer.lineId, answeredBy },
            S503: { at, available: true, note, total: decision.cost, answeredBy },
          },
        };
      };
      if (decision.finance === 'skip') {
        return ports.requests.createRequest(answered('policy', 'Nothing to pay: finance is not asked.'));
      }
      if (decision.finance === 'licence' && decision.licenceVersion) {
        const which = decision.licenceVersion === '*' ? 'any version' : `version ${decision.licenceVersion}`;
        const taken = await ports.requests.createRequest(
          answered('licence', `A spare licence the organisation owns (${which}) covers it: nothing to buy.`),
          { licence: { requestId, software: base.software, version: decision.licenceVersion } },
        );
        // Another request took the last spare one first: the cost is paid after all.
        return taken.outcome === 'insufficient' ? attempt(false) : taken;
      }
      if (decision.finance === 'ledger' && budget) {
        const note = `Within the ${client.department} budget for ${budget.period}.`;
        const reservation = { period: budget.period, amount: decision.cost };
        const reserved = await ports.requests.createRequest(answered('ledger', note, reservation), {
          reservation: {
            requestId,
            department: client.department,
            period: budget.period,
            amount: decision.cost,
          },
        });
        // Short after all (others reserved first) or switched off meanwhile: finance's batch decides.
        if (reserved.outcome !== 'insufficient') return reserved;
      }
      return ports.requests.createRequest(waiting);
    };
    const created = await attempt(true);
    if (created.outcome === 'in-flight') {
      throw new Conflict(inFlightMessage(base, created.existing), 'software');
    }
    if (created.outcome === 'insufficient')
      throw new Error('A request without a reservation was refused for budget');
    request = created.request;
  }
  if (request.bodyHash !== bodyHash) {
    throw new Conflict('This Idempotency-Key was already used for a different request', 'Idempotency-Key');
  }
  // Also on a resend: if the first attempt stopped before starting, this starts it; if not,
  // the same name and input make StartExecution a no-op.
  await ports.executions.start(requestId, executionInputOf(request));
  return { requestId, status: request.status };
}

export function executionInputOf(r: UpdateRequest): ExecutionInput {
  return {
    requestId: r.requestId,
    requester: r.requester,
    clientId: r.clientId,
    department: r.department,
    software: r.software,
    targetVersion: r.targetVersion,
    reason: r.reason,
    quantity: r.quantity,
    unitPrice: r.unitPrice,
    createdAt: r.createdAt,
    // Requests from before the policy existed: the approver decides as before.
    policy: r.policy ?? { approverMayOverrideBudget: true },
    ...(r.budgetAnswer ? { budget: r.budgetAnswer } : {}),
  };
}

/** The employee's reason: carried in the execution's input, read only for executions from before. */
export async function reasonOf(
  requests: Pick<RequestStore, 'getRequest'>,
  state: Pick<ExecutionInput, 'requestId' | 'reason'>,
): Promise<string | undefined> {
  if (state.reason !== undefined) return state.reason;
  return (await requests.getRequest(state.requestId))?.reason;
}

/** The request as its readers see it: steps as a list in the order they were reached. */
export function requestView(r: UpdateRequest) {
  const steps: StepRecord[] = Object.entries(r.steps)
    .map(([key, detail]) => {
      const [step, phase] = key.split('.');
      return { ...detail, step: step!, ...(phase ? { phase } : {}) } as StepRecord;
    })
    .sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : a.step < b.step ? -1 : a.step > b.step ? 1 : 0));
  return {
    requestId: r.requestId,
    status: r.status,
    ...(r.statusReason ? { statusReason: r.statusReason } : {}),
    requester: r.requester,
    clientId: r.clientId,
    department: r.department,
    software: r.software,
    targetVersion: r.targetVersion,
    reason: r.reason,
    quantity: r.quantity,
    unitPrice: r.unitPrice,
    createdAt: r.createdAt,
    steps,
  };
}

export async function getRequest(ports: { requests: RequestStore }, caller: Caller, idParam: string) {
  if (!isRequestId(idParam)) throw new BadRequest('id is not a request id', 'id');
  const r = await ports.requests.getRequest(idParam);
  if (!r) throw new NotFound(`No request ${idParam}`, 'id');
  const allowed =
    r.requester === caller.user || (r.deciders ?? []).includes(caller.user) || readsEverything(caller);
  if (!allowed) {
    throw new Forbidden('Only the requester, their approver, an admin or an auditor may read this request');
  }
  return requestView(r);
}

/** Cursor: the position inside the caller's own partition only, so it cannot point elsewhere. */
export async function listOwnRequests(
  ports: { requests: RequestStore },
  caller: Caller,
  query: Record<string, string>,
) {
  const limit = pageSizeOf(query.limit);
  const after = decodeCursor(query.cursor);
  const page = await ports.requests.listByRequester(caller.user, { limit, ...(after ? { after } : {}) });
  return {
    items: page.items.map(requestView),
    ...(page.next ? { cursor: Buffer.from(JSON.stringify(page.next)).toString('base64url') } : {}),
  };
}

function decodeCursor(cursor: string | undefined): { at: string; requestId: string } | undefined {
  if (cursor === undefined || cursor === '') return undefined;
  try {
    const state = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as Record<string, unknown>;
    if (isStoredInstant(state.at) && typeof state.requestId === 'string' && isRequestId(state.requestId)) {
      return { at: state.at, requestId: state.requestId };
    }
  } catch {
    // falls through to the error below
  }
  throw new BadRequest('cursor is not a cursor this listing gave out', 'cursor');
}
