// The purchase policy as a pure function of (request, catalog, budget, config), and the
// budget periods it reads.
import { describe, expect, it } from 'vitest';
import { poolFor, spareFor } from '../../lib/workflow/licences.js';
import { monthsOf, parsePeriod, periodsOf } from '../../lib/workflow/periods.js';
import {
  DEFAULT_POLICY,
  evaluatePolicy,
  type PolicyConfig,
  parsePolicyConfig,
} from '../../lib/workflow/policy.js';

const request = {
  clientId: 'pc-1',
  department: 'Sales',
  software: 'editor',
  targetVersion: '3.1',
  quantity: 1,
};
const catalog = { licencePrice: 150 };
const budget = (remaining: number, automaticAnswers = true) => ({
  period: '2026-12',
  remaining,
  automaticAnswers,
});

describe('the purchase policy', () => {
  it('refuses a version the client already runs, or an older one', () => {
    for (const installedVersion of ['3.1', '3.2', '10.0']) {
      const d = evaluatePolicy(request, { ...catalog, installedVersion }, budget(1000), DEFAULT_POLICY);
      expect(d).toMatchObject({ kind: 'refuse', reason: 'already-installed' });
    }
    expect(
      evaluatePolicy(request, { ...catalog, installedVersion: '3.0.9' }, undefined, DEFAULT_POLICY).kind,
    ).toBe('proceed');
  });

  it('refuses while a request of the same client and software is in flight, naming it', () => {
    const d = evaluatePolicy(
      request,
      { ...catalog, inFlight: { requestId: 'r-xyz', status: 'AWAITING_BUDGET' } },
      undefined,
      DEFAULT_POLICY,
    );
    expect(d).toMatchObject({ kind: 'refuse', reason: 'in-flight', existingRequestId: 'r-xyz' });
    expect(d.kind === 'refuse' && d.message).toContain('r-xyz');
  });

  it('skips finance when there is nothing to pay, budget or not', () => {
    for (const b of [undefined, budget(0), budget(1000, false)]) {
      expect(evaluatePolicy(request, { licencePrice: 0 }, b, DEFAULT_POLICY)).toMatchObject({
        kind: 'proceed',
        cost: 0,
        finance: 'skip',
      });
    }
  });

  it('lets the ledger answer a line within the remaining budget, and only then', () => {
    expect(evaluatePolicy(request, catalog, budget(150), DEFAULT_POLICY)).toMatchObject({
      finance: 'ledger',
      cost: 150,
      budget: { period: '2026-12', remaining: 150 },
    });
    expect(evaluatePolicy(request, catalog, budget(149.99), DEFAULT_POLICY)).toMatchObject({
      finance: 'batch',
      budget: { remaining: 149.99 },
    });
    expect(evaluatePolicy(request, catalog, budget(-20), DEFAULT_POLICY).kind === 'proceed').toBe(true);
    expect(evaluatePolicy(request, catalog, budget(-20), DEFAULT_POLICY)).toMatchObject({ finance: 'batch' });
    // No budget set, or finance switched the department's automatic answers off: the batch.
    expect(evaluatePolicy(request, catalog, undefined, DEFAULT_POLICY)).toMatchObject({ finance: 'batch' });
    expect(evaluatePolicy(request, catalog, budget(1000, false), DEFAULT_POLICY)).toMatchObject({
      finance: 'batch',
    });
  });

  it("takes whether an approver may override finance's no from the department, else the stage", () => {
    const config: PolicyConfig = {
      ...DEFAULT_POLICY,
      departments: { Research: { approverMayOverrideBudget: true }, Sales: {} },
    };
    expect(evaluatePolicy(request, catalog, undefined, config)).toMatchObject({
      approverMayOverrideBudget: false,
    });
    expect(evaluatePolicy({ ...request, department: 'Research' }, catalog, undefined, config)).toMatchObject({
      approverMayOverrideBudget: true,
    });
    const lenient = {
      ...config,
      approverMayOverrideBudget: true,
      departments: { Sales: { approverMayOverrideBudget: false } },
    };
    expect(evaluatePolicy(request, catalog, undefined, lenient)).toMatchObject({
      approverMayOverrideBudget: false,
    });
    expect(evaluatePolicy({ ...request, department: 'Ops' }, catalog, undefined, lenient)).toMatchObject({
      approverMayOverrideBudget: true,
    });
  });

  it("asks the approver's approver too above the cost threshold (the department's, else the stage's)", () => {
    const config: PolicyConfig = {
      ...DEFAULT_POLICY,
      twoStepAboveCost: 1000,
      departments: { Labs: { twoStepAboveCost: 100 } },
    };
    expect(evaluatePolicy(request, { licencePrice: 1000 }, undefined, config)).toMatchObject({
      approvalSteps: 1,
    });
    expect(evaluatePolicy(request, { licencePrice: 1000.01 }, undefined, config)).toMatchObject({
      approvalSteps: 2,
    });
    expect(evaluatePolicy({ ...request, department: 'Labs' }, catalog, undefined, config)).toMatchObject({
      approvalSteps: 2,
    });
    // Two steps whoever pays: the ledger may answer, the approvals stay two.
    expect(evaluatePolicy(request, { licencePrice: 2000 }, budget(5000), config)).toMatchObject({
      finance: 'ledger',
      approvalSteps: 2,
    });
  });

  it('lets a spare owned licence cover the request: nothing to pay, finance not asked, one approval', () => {
    const config: PolicyConfig = { ...DEFAULT_POLICY, twoStepAboveCost: 100 };
    expect(
      evaluatePolicy(request, { licencePrice: 150, spareLicence: { version: '*' } }, budget(1000), config),
    ).toMatchObject({ kind: 'proceed', finance: 'licence', licenceVersion: '*', cost: 0, approvalSteps: 1 });
    // The refusals come first: an owned licence does not make a duplicate acceptable.
    expect(
      evaluatePolicy(
        request,
        { ...catalog, spareLicence: { version: '3.1' }, inFlight: { requestId: 'r-1', status: 'APPROVED' } },
        undefined,
        config,
      ).kind,
    ).toBe('refuse');
  });

  it('picks the version-bound pool first, else any version, and only with a spare licence', () => {
    const pools = [
      { software: 'editor', version: '*', owned: 2, taken: 1 },
      { software: 'editor', version: '3.1', owned: 1, taken: 0 },
      { software: 'editor', version: '2.0', owned: 9, taken: 0 },
    ];
    expect(poolFor(pools, '3.1')?.version).toBe('3.1');
    expect(poolFor([pools[0]!, { ...pools[1]!, taken: 1 }], '3.1')?.version).toBe('*');
    expect(poolFor([{ ...pools[0]!, taken: 2 }, pools[2]!], '3.1')).toBeUndefined();
    expect(spareFor(pools, '3.1')).toBe(2);
    expect(spareFor([{ software: 'editor', version: '*', owned: 1, taken: 3 }], '3.1')).toBe(0);
  });

  it('parses the stage config and names a bad field', () => {
    expect(parsePolicyConfig(DEFAULT_POLICY)).toEqual(DEFAULT_POLICY);
    expect(() => parsePolicyConfig({ ...DEFAULT_POLICY, fiscalYearStartMonth: 13 })).toThrow(
      /fiscalYearStartMonth/,
    );
    expect(() => parsePolicyConfig({ ...DEFAULT_POLICY, currency: 'euro' })).toThrow(/currency/);
    expect(() => parsePolicyConfig({ ...DEFAULT_POLICY, departments: { Sales: { typo: true } } })).toThrow(
      /departments\.Sales/,
    );
  });
});

describe('budget periods', () => {
  it('names the month and the fiscal quarter of an instant', () => {
    expect(periodsOf(new Date('2026-12-02T00:50:00Z'), 1)).toEqual({ month: '2026-12', quarter: '2026-Q4' });
    // A fiscal year starting in April is named by the year it starts in.
    expect(periodsOf(new Date('2027-02-10T00:00:00Z'), 4)).toEqual({ month: '2027-02', quarter: '2026-Q4' });
    expect(periodsOf(new Date('2026-04-01T00:00:00Z'), 4)).toEqual({ month: '2026-04', quarter: '2026-Q1' });
    expect(periodsOf(new Date('2026-03-31T23:59:59Z'), 4)).toEqual({ month: '2026-03', quarter: '2025-Q4' });
  });

  it("lists a quarter's months", () => {
    expect(monthsOf('2026-Q4', 1)).toEqual(['2026-10', '2026-11', '2026-12']);
    expect(monthsOf('2026-Q4', 4)).toEqual(['2027-01', '2027-02', '2027-03']);
    expect(monthsOf('2026-Q4', 11)).toEqual(['2027-08', '2027-09', '2027-10']);
    expect(monthsOf('2026-07', 4)).toEqual(['2026-07']);
  });

  it('refuses anything but a month or a quarter, naming the field', () => {
    for (const bad of ['2026-13', '2026-Q5', '2026', 'Q4-2026', '2026-1', 42]) {
      expect(() => parsePeriod(bad)).toThrow(/period must be a month/);
    }
    expect(parsePeriod('2026-Q1')).toBe('2026-Q1');
  });
});
