// `upman finance budget|licences|report` as finance runs them (the real bin, a child process)
// against the local cloud: what they print with --json and --csv, and the documented exit
// status of each refusal, with nothing changed by a refused command.
import { afterAll, describe, expect, inject, it } from 'vitest';
import { WorkflowDriver } from '../../scripts/workflow-driver.js';
import { upman } from '../fixtures/agent/cli.js';

const e = inject('endpoints');
const d = new WorkflowDriver(e, inject('dataDir'));
const run = Date.now().toString(36).slice(-6);
const department = `Finance CLI ${run}`;
const software = `fincli-${run}`;
// A period no other test uses: the report lists every department's budget of it.
const period = '2032-07';

afterAll(() => d.destroy());

async function as(groups: string[]) {
  const token = await d.token(`fin-cli-${groups.join('-')}-${run}`, groups);
  return { UPMAN_API: e.api, UPMAN_TOKEN: token };
}
const json = (stdout: string) => JSON.parse(stdout);

describe('upman finance budget, licences and report', () => {
  it('sets and shows a budget; a bad amount or period (2), a non-finance login (3) and an unknown budget (4) change nothing', async () => {
    const env = await as(['finance']);
    const set = await upman(['finance', 'budget', 'set', department, period, '1500.5', '--json'], env);
    expect(set.code, set.stderr).toBe(0);
    expect(json(set.stdout)).toMatchObject({
      department,
      period,
      amount: 1500.5,
      reserved: 0,
      remaining: 1500.5,
    });

    const badAmount = await upman(['finance', 'budget', 'set', department, period, '1.234'], env);
    expect(badAmount.code).toBe(2);
    expect(badAmount.stderr).toContain('amount must be a number');
    const badPeriod = await upman(['finance', 'budget', 'set', department, '2032-13', '10'], env);
    expect(badPeriod.code).toBe(2);
    expect(badPeriod.stderr).toContain('period must be a month');
    const employee = await upman(
      ['finance', 'budget', 'set', department, period, '10'],
      await as(['employees']),
    );
    expect(employee.code).toBe(3);
    expect(employee.stderr).toContain('finance commands need the finance group');

    const shown = await upman(['finance', 'budget', 'show', department, period], env);
    expect(shown.code, shown.stderr).toBe(0);
    expect(shown.stdout).toContain(`${department} ${period}: 1500.50 EUR`);
    expect(shown.stdout).toContain('remaining 1500.50');
    const none = await upman(['finance', 'budget', 'show', department, '2032-Q1', '--json'], env);
    expect(none.code).toBe(4);
    expect(json(none.stdout).error).toMatchObject({ code: 'not-found' });
  });

  it('records and lists the licences owned, per version', async () => {
    const admin = { user: 'wf-admin', groups: ['admins'] };
    const catalog = await d.api('PUT', `/software/${software}`, {
      ...admin,
      body: {
        vendor: 'Contoso',
        latestVersion: '3.1',
        latestRevision: 310,
        licencePrice: 50,
        licenceModel: 'per-user',
      },
    });
    expect(catalog.status).toBe(201);
    const env = await as(['finance']);
    const any = await upman(['finance', 'licences', software, '--owned', '4'], env);
    expect(any.code, any.stderr).toBe(0);
    const bound = await upman(
      ['finance', 'licences', software, '--owned', '2', '--version', '3.1', '--json'],
      env,
    );
    expect(bound.code, bound.stderr).toBe(0);
    expect(json(bound.stdout).pools).toEqual(
      expect.arrayContaining([
        { version: '*', owned: 4, taken: 0, spare: 4 },
        { version: '3.1', owned: 2, taken: 0, spare: 2 },
      ]),
    );
    const bad = await upman(['finance', 'licences', software, '--owned', '-1'], env);
    expect(bad.code).toBe(2);
    const table = await upman(['finance', 'licences', software], env);
    expect(table.stdout).toMatch(/^\*\s+4\s+0\s+4$/m);
  });

  it('reports spend against budget as JSON and as CSV', async () => {
    const env = await as(['finance']);
    const report = await upman(
      ['finance', 'report', '--period', period, '--department', department, '--json'],
      env,
    );
    expect(report.code, report.stderr).toBe(0);
    expect(json(report.stdout)).toEqual({
      period,
      currency: 'EUR',
      departments: [
        { department, period, currency: 'EUR', amount: 1500.5, reserved: 0, committed: 0, remaining: 1500.5 },
      ],
    });
    const csv = await upman(
      ['finance', 'report', '--period', period, '--department', department, '--csv'],
      env,
    );
    expect(csv.code, csv.stderr).toBe(0);
    expect(csv.stdout).toBe(
      `department,period,currency,amount,reserved,committed,remaining\r\n${department},${period},EUR,1500.5,0,0,1500.5\r\n`,
    );
    const both = await upman(['finance', 'report', '--period', period, '--csv', '--json'], env);
    expect(both.code).toBe(2);
  });
});
