// The purchase policy: what happens to a request before anyone is asked. A pure function of the
// request, what the catalog and registry say, the department's budget and the stage config, so
// every rule is unit-tested without storage. The stores enforce the same rules with conditional
// writes (the in-flight lock, the ledger's reservation); this decides what to attempt.
import { z } from 'zod';
import { compareVersions } from '../registry/version.js';

/** One department's deviations from the stage's defaults. */
export interface DepartmentPolicy {
  approverMayOverrideBudget?: boolean;
  twoStepAboveCost?: number;
}

/** The stage config's `policy` (cdk/config.ts), as the functions receive it (env POLICY). */
export interface PolicyConfig {
  /** The organisation's one currency (ISO 4217), shown with every amount. */
  currency: string;
  /** First month (1–12) of the fiscal year: quarter budgets ("2026-Q1") start there. */
  fiscalYearStartMonth: number;
  /** Whether an approver may approve a request finance said "no" to (default: no, it ends rejected). */
  approverMayOverrideBudget: boolean;
  /** A request costing more than this needs the approver's approver too (two steps). */
  twoStepAboveCost: number;
  departments: Record<string, DepartmentPolicy>;
}

const policySchema = z
  .object({
    currency: z.string().regex(/^[A-Z]{3}$/, 'currency must be a three-letter ISO 4217 code'),
    fiscalYearStartMonth: z.number().int().min(1).max(12),
    approverMayOverrideBudget: z.boolean(),
    twoStepAboveCost: z.number().min(0),
    departments: z.record(
      z.string().min(1),
      z
        .object({
          approverMayOverrideBudget: z.boolean().optional(),
          twoStepAboveCost: z.number().min(0).optional(),
        })
        .strict(),
    ),
  })
  .strict();

/** Parses the policy (the stage config at synth, env POLICY at load); the error names the field. */
export function parsePolicyConfig(value: unknown): PolicyConfig {
  const parsed = policySchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new Error(`${issue.path.join('.') || '(policy)'}: ${issue.message}`);
  }
  return parsed.data as PolicyConfig;
}

export const DEFAULT_POLICY: PolicyConfig = {
  currency: 'EUR',
  fiscalYearStartMonth: 1,
  approverMayOverrideBudget: false,
  twoStepAboveCost: 5000,
  departments: {},
};

export interface PolicyRequest {
  clientId: string;
  department: string;
  software: string;
  targetVersion: string;
  quantity: number;
}

export interface PolicyCatalog {
  licencePrice: number;
  /** The version the client runs now (from its inventory), if it runs the software at all. */
  installedVersion?: string;
  /** A request of the same client and software still in flight, as last read. */
  inFlight?: { requestId: string; status: string };
  /** A pool of owned licences with one spare for the target version, as last read. */
  spareLicence?: { version: string };
}

/** The department's budget for the request's period, as last read (undefined: none is set). */
export interface PolicyBudget {
  period: string;
  remaining: number;
  automaticAnswers: boolean;
}

export type PolicyDecision =
  | { kind: 'refuse'; reason: 'already-installed' | 'in-flight'; message: string; existingRequestId?: string }
  | {
      kind: 'proceed';
      cost: number;
      /**
       * skip: nothing to pay (price 0), finance is not asked; licence: take a spare owned
       * licence (nothing to pay either); ledger: try to reserve the cost now (an automatic
       * "available"); batch: finance's next batch decides.
       */
      finance: 'skip' | 'licence' | 'ledger' | 'batch';
      /** The pool a 'licence' request takes from. */
      licenceVersion?: string;
      /** The budget the line would draw on, when one is set. */
      budget?: { period: string; remaining: number };
      approverMayOverrideBudget: boolean;
      /** 2: above the cost threshold, the approver's approver approves too. */
      approvalSteps: 1 | 2;
    };

const round2 = (n: number) => Math.round(n * 100) / 100;

export function departmentPolicy(config: PolicyConfig, department: string): Required<DepartmentPolicy> {
  // Own keys only: a department named "constructor" must not find Object's member.
  const own = Object.hasOwn(config.departments, department) ? config.departments[department]! : {};
  return {
    approverMayOverrideBudget: own.approverMayOverrideBudget ?? config.approverMayOverrideBudget,
    twoStepAboveCost: own.twoStepAboveCost ?? config.twoStepAboveCost,
  };
}

export function evaluatePolicy(
  request: PolicyRequest,
  catalog: PolicyCatalog,
  budget: PolicyBudget | undefined,
  config: PolicyConfig,
): PolicyDecision {
  if (
    catalog.installedVersion !== undefined &&
    compareVersions(catalog.installedVersion, request.targetVersion) >= 0
  ) {
    return {
      kind: 'refuse',
      reason: 'already-installed',
      message: `${request.clientId} already runs ${request.software} ${catalog.installedVersion}, not older than ${request.targetVersion}`,
    };
  }
  if (catalog.inFlight) {
    return {
      kind: 'refuse',
      reason: 'in-flight',
      existingRequestId: catalog.inFlight.requestId,
      message: inFlightMessage(request, catalog.inFlight),
    };
  }
  const cost = round2(request.quantity * catalog.licencePrice);
  const { approverMayOverrideBudget, twoStepAboveCost } = departmentPolicy(config, request.department);
  const approvalSteps = cost > twoStepAboveCost ? 2 : 1;
  const common = {
    kind: 'proceed' as const,
    cost,
    approverMayOverrideBudget,
    approvalSteps,
    ...(budget ? { budget: { period: budget.period, remaining: budget.remaining } } : {}),
  } as const;
  if (cost === 0) return { ...common, finance: 'skip' };
  if (catalog.spareLicence) {
    // Owned already: nothing to buy, so nothing to pay and no second approval for the cost.
    return {
      ...common,
      cost: 0,
      approvalSteps: 1,
      finance: 'licence',
      licenceVersion: catalog.spareLicence.version,
    };
  }
  const ledger = budget !== undefined && budget.automaticAnswers && budget.remaining >= cost;
  return { ...common, finance: ledger ? 'ledger' : 'batch' };
}

export function inFlightMessage(
  request: Pick<PolicyRequest, 'clientId' | 'software'>,
  existing: { requestId: string; status: string },
): string {
  return `A request for ${request.software} on ${request.clientId} is already in flight: ${existing.requestId} (${existing.status})`;
}
