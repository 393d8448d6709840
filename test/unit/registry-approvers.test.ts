import { beforeEach, describe, expect, it } from 'vitest';
import {
  fileApproverPeriod,
  listApproverPeriods,
  lookUpApprover,
  resolveApprover,
} from '../../lib/registry/approvers.js';
import { admin, approver, employee, errorOf, memoryPorts } from './registry-fakes.js';

describe('the approver table', () => {
  let ports: ReturnType<typeof memoryPorts>;
  let clock: Date;
  beforeEach(async () => {
    ports = memoryPorts();
    clock = new Date('2025-01-01T00:00:00Z');
    ports.now = () => clock;
    await fileApproverPeriod(ports, admin, 'ando', { approver: 'okachi', validFrom: '2024-01-01T00:00:00Z' });
  });
  const at = async (user: string, when: string) => resolveApprover(ports, user, when);

  it('answers the approver in force, with validity, from the validFrom boundary on', async () => {
    expect(await at('ando', '2023-12-31T23:59:59.999Z')).toBeUndefined();
    expect(await at('ando', '2024-01-01T00:00:00Z')).toMatchObject({
      user: 'ando',
      approver: 'okachi',
      validFrom: '2024-01-01T00:00:00.000Z',
    });
  });

  it('takes a change filed for the future only from its validFrom, and ends a bounded period at validTo', async () => {
    clock = new Date('2025-02-01T00:00:00Z');
    await fileApproverPeriod(ports, approver('okachi'), 'ando', {
      approver: 'itou',
      validFrom: '2025-03-01T00:00:00Z',
      validTo: '2025-04-01T00:00:00Z',
    });
    expect((await at('ando', '2025-02-28T23:59:59Z'))?.approver).toBe('okachi');
    expect(await at('ando', '2025-03-01T00:00:00Z')).toMatchObject({
      approver: 'itou',
      validTo: '2025-04-01T00:00:00.000Z',
    });
    // validTo is exclusive: the earlier open period answers again.
    expect((await at('ando', '2025-04-01T00:00:00Z'))?.approver).toBe('okachi');
  });

  it('resolves overlaps: the later validFrom wins, equal validFrom goes to the later filing', async () => {
    await fileApproverPeriod(ports, admin, 'ando', { approver: 'itou', validFrom: '2024-06-01T00:00:00Z' });
    clock = new Date('2025-01-02T00:00:00Z');
    // Filed later but starting earlier: does not override the period that started after it.
    await fileApproverPeriod(ports, admin, 'ando', { approver: 'kojima', validFrom: '2024-03-01T00:00:00Z' });
    expect((await at('ando', '2024-07-01T00:00:00Z'))?.approver).toBe('itou');
    expect((await at('ando', '2024-04-01T00:00:00Z'))?.approver).toBe('kojima');
    clock = new Date('2025-01-03T00:00:00Z');
    await fileApproverPeriod(ports, admin, 'ando', { approver: 'suzuki', validFrom: '2024-06-01T00:00:00Z' });
    expect((await at('ando', '2024-07-01T00:00:00Z'))?.approver).toBe('suzuki');
    expect((await listApproverPeriods(ports, admin, 'ando', {})).items).toHaveLength(4);
  });

  it('names the delegate while the approver is away, and only then', async () => {
    await fileApproverPeriod(ports, approver('okachi'), 'okachi', {
      delegate: 'kojima',
      validFrom: '2025-01-10T00:00:00Z',
      validTo: '2025-01-20T00:00:00Z',
    });
    expect(await at('ando', '2025-01-10T00:00:00Z')).toMatchObject({
      approver: 'okachi',
      delegate: 'kojima',
      decidedBy: 'kojima',
    });
    expect(await at('ando', '2025-01-20T00:00:00Z')).toMatchObject({
      approver: 'okachi',
      decidedBy: 'okachi',
    });
    expect((await at('ando', '2025-01-20T00:00:00Z'))?.delegate).toBeUndefined();
  });

  it('takes an approver change only from that approver or an admin', async () => {
    const period = { approver: 'itou', validFrom: '2025-02-01T00:00:00Z' };
    expect(
      (await errorOf(() => fileApproverPeriod(ports, approver('itou'), 'ando', period))).statusCode,
    ).toBe(403);
    expect(
      (await errorOf(() => fileApproverPeriod(ports, employee('ando'), 'ando', period))).statusCode,
    ).toBe(403);
    const delegation = {
      delegate: 'itou',
      validFrom: '2025-02-01T00:00:00Z',
      validTo: '2025-02-02T00:00:00Z',
    };
    expect(
      (await errorOf(() => fileApproverPeriod(ports, approver('itou'), 'okachi', delegation))).statusCode,
    ).toBe(403);
    expect((await fileApproverPeriod(ports, approver('okachi'), 'ando', period)).filedBy).toBe('okachi');
  });

  it('refuses bad periods naming the field', async () => {
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ approver: 'itou', validFrom: 'soon' }, 'validFrom'],
      [{ approver: 'itou', validFrom: '2025-02-01T00:00:00Z', validTo: '2025-01-01T00:00:00Z' }, 'validTo'],
      [{ delegate: 'itou', validFrom: '2025-02-01T00:00:00Z' }, 'validTo'],
      [{ approver: 'ando', validFrom: '2025-02-01T00:00:00Z' }, 'approver'],
      [{ approver: 'it ou', validFrom: '2025-02-01T00:00:00Z' }, 'approver'],
      // Nobody in the directory has this login name or address.
      [{ approver: 'bucho', validFrom: '2025-02-01T00:00:00Z' }, 'approver'],
      [
        {
          delegate: 'bucho@corp.example',
          validFrom: '2025-02-01T00:00:00Z',
          validTo: '2025-03-01T00:00:00Z',
        },
        'delegate',
      ],
      [{ kind: 'boss', approver: 'itou', validFrom: '2025-02-01T00:00:00Z' }, 'kind'],
    ];
    for (const [body, field] of cases) {
      const e = await errorOf(() => fileApproverPeriod(ports, admin, 'ando', body));
      expect([e.statusCode, e.field]).toEqual([400, field]);
    }
    // Approvers may not rewrite the past; admins may (corrections).
    const past = await errorOf(() =>
      fileApproverPeriod(ports, approver('okachi'), 'ando', {
        approver: 'itou',
        validFrom: '2024-06-01T00:00:00Z',
      }),
    );
    expect([past.statusCode, past.field]).toEqual([400, 'validFrom']);
    expect(ports.store.periods).toHaveLength(1);
  });

  it('lets the user, approvers and admins look up, and 404s when nobody is on record', async () => {
    expect(
      (await lookUpApprover(ports, employee('ando'), 'ando', { at: '2024-05-01T00:00:00Z' })).approver,
    ).toBe('okachi');
    expect((await errorOf(() => lookUpApprover(ports, employee('suzuki'), 'ando', {}))).statusCode).toBe(403);
    expect((await errorOf(() => lookUpApprover(ports, admin, 'kaneda', {}))).statusCode).toBe(404);
    expect((await errorOf(() => lookUpApprover(ports, admin, 'ando', { at: 'now' }))).field).toBe('at');
  });
});
