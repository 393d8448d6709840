// Licences the organisation owns (per software, per version where version-bound): a request a
// spare one covers costs nothing and skips finance, two requests never take the same one, and
// the forecast subtracts the spare ones and splits by department. Finance's report: spend
// against budget per department and period, as JSON and CSV.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { periodsOf } from '../../lib/workflow/periods.js';
import { WorkflowDriver } from '../../scripts/workflow-driver.js';

const e = inject('endpoints');
const d = new WorkflowDriver(e, inject('dataDir'));
const run = Date.now().toString(36).slice(-6);
const software = `owned-${run}`;
const emp = `lic-${run}`;
const boss = `licboss-${run}`;
const finance = { user: 'wf-finance', groups: ['finance'] };
let pcs = 0;
let keys = 0;

async function freshClient(department = 'Sales'): Promise<string> {
  const pc = `pc-lic-${run}-${++pcs}`;
  await d.addClient(pc, department, [emp]);
  return pc;
}

const licences = async () => (await d.api('GET', `/software/${software}/licences`, finance)).body;
const setOwned = (body: unknown, who = finance) =>
  d.api('PUT', `/software/${software}/licences`, { ...who, body });

async function approvalLink(requestId: string) {
  const mail = await d.until(
    `the approval mail of ${requestId}`,
    async () =>
      (await d.mailbox()).find(
        (m) => m.destination.to.includes(`${boss}@upman.example`) && m.body.text?.includes(requestId),
      ),
    (m) => m !== undefined,
  );
  return WorkflowDriver.linkOf(mail!);
}

beforeAll(async () => {
  await d.setUp({
    software,
    clientId: `pc-lic-${run}-0`,
    department: 'Sales',
    users: [emp],
    approvers: [[emp, boss]],
    price: 100,
  });
});

afterAll(() => d.destroy());

describe('owned licences', () => {
  it('finance records the licences owned, per software or per version; bad input names the field', async () => {
    const any = await setOwned({ owned: 1 });
    expect(any.status).toBe(200);
    expect(any.body).toEqual({ software, version: '*', owned: 1, taken: 0, spare: 1 });
    expect((await setOwned({ owned: 4, version: '2.0' })).body).toMatchObject({ version: '2.0', spare: 4 });
    expect((await setOwned({ owned: -1 })).body.field).toBe('owned');
    expect((await setOwned({ owned: 1, version: 'two' })).body.field).toBe('version');
    expect((await setOwned({ owned: 1 }, { user: emp, groups: ['employees'] })).status).toBe(403);
    expect((await licences()).pools).toEqual([
      { version: '*', owned: 1, taken: 0, spare: 1 },
      { version: '2.0', owned: 4, taken: 0, spare: 4 },
    ]);
  });

  it('two concurrent requests never take the same spare licence: one is covered, the other goes to finance', async () => {
    const clients = await Promise.all([freshClient(), freshClient(), freshClient()]);
    const sent = await Promise.all(
      clients.map((pc) =>
        d.submit(emp, { clientId: pc, software, reason: 'owned' }, `lic-${run}-${++keys}-key`),
      ),
    );
    expect(sent.map((s) => s.status)).toEqual([202, 202, 202]);
    const covered = sent.filter((s) => s.body.status === 'AWAITING_APPROVAL');
    expect(covered).toHaveLength(1);
    const coveredId = covered[0]!.body.requestId as string;
    const r = await d.request(emp, coveredId);
    expect(r.steps.find((s: { step: string }) => s.step === 'S503')).toMatchObject({
      available: true,
      answeredBy: 'licence',
      total: 0,
    });
    // The version-bound pool (2.0) does not cover a request for 3.1.
    expect((await licences()).pools).toEqual([
      { version: '*', owned: 1, taken: 1, spare: 0 },
      { version: '2.0', owned: 4, taken: 0, spare: 4 },
    ]);
    for (const s of sent.filter((x) => x.body.status !== 'AWAITING_APPROVAL')) {
      const waiting = await d.untilStep(emp, s.body.requestId, 'S502');
      expect(waiting.status).toBe('AWAITING_BUDGET');
      await d.closeNow();
      const { batchId, line } = await d.lineOf(s.body.requestId);
      expect(line.total).toBe(100);
      await d.answer(batchId, [{ lineId: line.lineId, available: false }]);
    }

    // Rejected: the licence is spare again.
    const link = await approvalLink(coveredId);
    const page = await d.open(link);
    expect((await d.decide(link, page.html, 'reject', 'not needed')).status).toBe(200);
    await d.untilStatus(emp, coveredId, 'REJECTED');
    const back = await d.until('the licence given back', licences, (l) => l.pools[0].taken === 0);
    expect(back.pools[0]).toEqual({ version: '*', owned: 1, taken: 0, spare: 1 });
  });

  it('the forecast subtracts the spare licences and splits the need by department', async () => {
    const fc = `fc-${run}`;
    const admin = { user: 'wf-admin', groups: ['admins'] };
    const put = await d.api('PUT', `/software/${fc}`, {
      ...admin,
      body: {
        vendor: 'Contoso',
        latestVersion: '3.1',
        latestRevision: 310,
        licencePrice: 40,
        licenceModel: 'per-client',
      },
    });
    expect(put.status).toBeLessThan(300);
    const plan = [`Plant ${run}`, `Plant ${run}`, `Lab ${run}`];
    for (const dept of plan) {
      const pc = await freshClient(dept);
      const inv = await d.api('PUT', `/clients/${pc}/software`, {
        ...admin,
        body: {
          items: [
            { software: fc, version: '3.0', revision: 300, installedAt: '2026-01-01T00:00:00Z', user: emp },
          ],
        },
      });
      expect(inv.status).toBe(200);
    }
    expect((await d.api('PUT', `/software/${fc}/licences`, { ...finance, body: { owned: 2 } })).status).toBe(
      200,
    );
    const f = await d.api('GET', `/software/${fc}/forecast?targetVersion=3.1`, finance);
    expect(f.status).toBe(200);
    expect(f.body).toMatchObject({
      licencesNeeded: 3,
      spareLicences: 2,
      licencesToBuy: 1,
      estimatedCost: 40,
      byDepartment: [
        { department: `Lab ${run}`, licencesNeeded: 1 },
        { department: `Plant ${run}`, licencesNeeded: 2 },
      ],
    });
  });
});

describe("finance's report: spend against budget", () => {
  it('per department and period, as JSON and CSV', async () => {
    const dept = `Report ${run}`;
    const period = periodsOf(new Date(), 1).month;
    expect((await d.setBudget(dept, period, 500)).status).toBe(200);
    await d.api('PUT', `/software/${software}/licences`, { ...finance, body: { owned: 0 } });
    const pc = await freshClient(dept);
    const sent = await d.submit(
      emp,
      { clientId: pc, software, reason: 'report' },
      `lic-${run}-${++keys}-key`,
    );
    const id = sent.body.requestId as string;
    expect(sent.body.status).toBe('AWAITING_APPROVAL');
    const link = await approvalLink(id);
    const page = await d.open(link);
    await d.decide(link, page.html, 'approve');
    await d.untilStatus(emp, id, 'APPROVED');
    await d.until(
      'the commit',
      async () => (await d.budget(dept, period)).body,
      (b) => b.committed === 100,
    );

    const q = new URLSearchParams({ period, department: dept });
    const json = await d.api('GET', `/budget-reports?${q}`, finance);
    expect(json.status).toBe(200);
    expect(json.body).toEqual({
      period,
      currency: 'EUR',
      departments: [
        {
          department: dept,
          period,
          currency: 'EUR',
          amount: 500,
          reserved: 0,
          committed: 100,
          remaining: 400,
        },
      ],
    });
    const csv = await d.api('GET', `/budget-reports?${q}&format=csv`, finance);
    expect(csv.status).toBe(200);
    expect(csv.headers.get('content-type')).toContain('text/csv');
    expect(csv.body).toBe(
      `department,period,currency,amount,reserved,committed,remaining\r\n${dept},${period},EUR,500,0,100,400\r\n`,
    );
    // Every department of the period, without the filter; bad input names the field.
    const all = await d.api('GET', `/budget-reports?period=${period}`, finance);
    expect(all.body.departments.map((r: { department: string }) => r.department)).toContain(dept);
    expect((await d.api('GET', '/budget-reports?period=2026-13', finance)).body.field).toBe('period');
    expect((await d.api('GET', `/budget-reports?period=${period}&format=xml`, finance)).body.field).toBe(
      'format',
    );
    expect((await d.api('GET', `/budget-reports?period=${period}`, { user: emp })).status).toBe(403);
  });
});
