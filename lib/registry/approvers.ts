// The user → approver table (S504). Periods are appended, never overwritten. At time T the
// period in force is, among those with validFrom <= T < validTo (validTo absent = open), the
// one with the latest validFrom; equal validFrom goes to the later filing. Delegation works the
// same way, per approver, and is applied on top: if the approver has a delegation in force at
// T, the delegate decides.
import { BadRequest, Forbidden, NotFound } from '../errors.js';
import { type Caller, hasRole, readsEverything } from '../http/identity.js';
import { resolvePerson } from '../people/directory.js';
import type { PeopleStore } from '../ports/people.js';
import type { ApproverStore } from '../ports/registry-approvers.js';
import { type ClientPorts, cursorOf, type Listing, newId } from './clients.js';
import type { PageState } from './cursor.js';
import type { ApproverLookup, ApproverPeriod, PeriodKind } from './model.js';
import { instantOf, oneOf, pageSizeOf, requireObject, textOf, userOf } from './validate.js';

export interface ApproverPorts {
  approvers: ApproverStore;
  cursors: ClientPorts['cursors'];
  now?: () => Date;
}

/** An approver may not file a period that starts earlier than this before now (clock skew). */
const BACKDATE_TOLERANCE_MS = 5 * 60_000;

/** The period of (kind, user) in force at `at`, by the rule above. */
export async function periodInForce(
  store: ApproverStore,
  kind: PeriodKind,
  user: string,
  at: string,
): Promise<ApproverPeriod | undefined> {
  let after: PageState | undefined;
  do {
    const page = await store.periodsStartedBy(kind, user, at, { limit: 25, ...(after ? { after } : {}) });
    const hit = page.items.find((p) => p.validTo === undefined || p.validTo > at);
    if (hit) return hit;
    after = page.next;
  } while (after);
  return undefined;
}

/**
 * Who approves for `user` at `at` (default now), and the delegate acting for that approver if
 * one is in force. For the workflow's S504; undefined when the table has no approver for them.
 */
export async function resolveApprover(
  ports: { approvers: ApproverStore },
  user: string,
  at: Date | string = new Date(),
): Promise<ApproverLookup | undefined> {
  const when = typeof at === 'string' ? instantOf(at, 'at') : at.toISOString();
  const period = await periodInForce(ports.approvers, 'approver', user, when);
  if (!period?.approver) return undefined;
  const delegation = await periodInForce(ports.approvers, 'delegation', period.approver, when);
  return {
    user,
    approver: period.approver,
    validFrom: period.validFrom,
    ...(period.validTo ? { validTo: period.validTo } : {}),
    ...(delegation?.delegate
      ? {
          delegate: delegation.delegate,
          delegateValidFrom: delegation.validFrom,
          ...(delegation.validTo ? { delegateValidTo: delegation.validTo } : {}),
        }
      : {}),
    decidedBy: delegation?.delegate ?? period.approver,
  };
}

/** GET /approvers/{user}?at=: the user themselves, approvers and admins may look. */
export async function lookUpApprover(
  ports: ApproverPorts,
  caller: Caller,
  userParam: string,
  query: Record<string, string>,
) {
  const user = userOf(userParam);
  if (caller.user !== user && !hasRole(caller, 'approvers') && !readsEverything(caller)) {
    throw new Forbidden("Only the user, approvers, an admin or an auditor may look up a user's approver");
  }
  const at = query.at ? instantOf(query.at, 'at') : (ports.now?.() ?? new Date()).toISOString();
  const found = await resolveApprover(ports, user, at);
  if (!found) throw new NotFound(`No approver on record for ${user} at ${at}`, 'user');
  return found;
}

export function parsePeriodBody(body: unknown) {
  const b = requireObject(body);
  const kind: PeriodKind =
    b.kind !== undefined
      ? oneOf(
          typeof b.kind === 'string' ? b.kind : '?',
          'kind',
          ['approver', 'delegation'] as const,
          'approver',
        )
      : b.delegate !== undefined
        ? 'delegation'
        : 'approver';
  if (kind === 'approver' && b.delegate !== undefined) {
    throw new BadRequest('delegate belongs to a delegation, not an approver change', 'delegate');
  }
  if (kind === 'delegation' && b.approver !== undefined) {
    throw new BadRequest('approver belongs to an approver change, not a delegation', 'approver');
  }
  const validFrom = instantOf(b.validFrom, 'validFrom');
  const validTo = b.validTo === undefined || b.validTo === null ? undefined : instantOf(b.validTo, 'validTo');
  if (validTo !== undefined && validTo <= validFrom)
    throw new BadRequest('validTo must be after validFrom', 'validTo');
  if (kind === 'delegation' && validTo === undefined) {
    throw new BadRequest('a delegation needs validTo (when the approver is back)', 'validTo');
  }
  return {
    kind,
    ...(kind === 'approver'
      ? { approver: userOf(b.approver, 'approver') }
      : { delegate: userOf(b.delegate, 'delegate') }),
    validFrom,
    ...(validTo ? { validTo } : {}),
    ...(b.note !== undefined ? { note: textOf(b.note, 'note', 500) } : {}),
  };
}

/**
 * POST /approvers/{user}/periods. kind "approver" ({approver}) changes who approves for
 * `user`: filed by an admin, or by the approver in force for `user` at validFrom (handing
 * over). kind "delegation" ({delegate}) says approver `user` is away: filed by an admin or by
 * that approver. Approvers may not backdate; admins may (corrections).
 */
export async function fileApproverPeriod(
  ports: ApproverPorts & { people: PeopleStore },
  caller: Caller,
  userParam: string,
  body: unknown,
): Promise<ApproverPeriod> {
  const user = await resolvePerson(ports, userOf(userParam), 'user');
  const input = parsePeriodBody(body);
  if ('approver' in input) input.approver = await resolvePerson(ports, input.approver, 'approver');
  else input.delegate = await resolvePerson(ports, input.delegate, 'delegate');
  const other = 'approver' in input ? input.approver : input.delegate;
  if (other === user) {
    const field = 'approver' in input ? 'approver' : 'delegate';
    throw new BadRequest(`${field} cannot be ${user} themselves`, field);
  }
  const now = ports.now?.() ?? new Date();
  if (!hasRole(caller, 'admins')) {
    if (!hasRole(caller, 'approvers'))
      throw new Forbidden('Only approvers or an admin may file approver periods');
    if (input.kind === 'delegation' && caller.user !== user) {
      throw new Forbidden(`Only ${user} or an admin may file a delegation for ${user}`);
    }
    if (input.kind === 'approver') {
      const current = await periodInForce(ports.approvers, 'approver', user, input.validFrom);
      if (current?.approver !== caller.user) {
        throw new Forbidden(
          `Only ${user}'s approver at ${input.validFrom} or an admin may change ${user}'s approver`,
        );
      }
    }
    if (Date.parse(input.validFrom) < now.getTime() - BACKDATE_TOLERANCE_MS) {
      throw new BadRequest('validFrom is in the past: only an admin may backdate a period', 'validFrom');
    }
  }
  const period: ApproverPeriod = {
    periodId: newId(),
    user,
    ...input,
    filedAt: now.toISOString(),
    filedBy: caller.user,
  };
  await ports.approvers.putPeriod(period);
  return period;
}

/** GET /approvers/{user}/periods?kind=: the table's rows for a user, in validFrom order. */
export async function listApproverPeriods(
  ports: ApproverPorts,
  caller: Caller,
  userParam: string,
  query: Record<string, string>,
): Promise<Listing<ApproverPeriod>> {
  const user = userOf(userParam);
  if (caller.user !== user && !hasRole(caller, 'approvers') && !readsEverything(caller)) {
    throw new Forbidden(
      "Only the user, approvers, an admin or an auditor may read a user's approver periods",
    );
  }
  const kind = oneOf(query.kind, 'kind', ['approver', 'delegation'] as const, 'approver');
  const key = `periods|${kind}|${user}`;
  const page = await ports.approvers.listPeriods(kind, user, {
    limit: pageSizeOf(query.limit),
    after: ports.cursors.decode(key, query.cursor),
  });
  return { items: page.items, ...cursorOf(ports, key, page.next) };
}
