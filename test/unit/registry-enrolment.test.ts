// Who may register and change a client (issue 6: `upman agent register` run by the employee on
// a fresh PC): the rules alone (assertCanPutClient), then through the putClient use case with
// the in-memory store, including two enrolments of the same id racing.
import { beforeEach, describe, expect, it } from 'vitest';
import { assertCanPutClient } from '../../lib/registry/access.js';
import { getClient, putClient } from '../../lib/registry/clients.js';
import type { Client } from '../../lib/registry/model.js';
import { admin, employee, errorOf, memoryPorts } from './registry-fakes.js';

const body = (users: string[], extra: Record<string, unknown> = {}) => ({
  name: 'Sales PC 7',
  ipAddress: '10.0.1.17',
  osRegistrationId: 'OS-7',
  department: 'Sales',
  users,
  ...extra,
});
const existing = (users: string[], department = 'Sales'): Client => ({
  clientId: 'pc-7',
  name: 'Sales PC 7',
  ipAddress: '10.0.1.17',
  osRegistrationId: 'OS-7',
  department,
  users,
  createdAt: '2025-01-01T00:00:00.000Z',
  updatedAt: '2025-01-01T00:00:00.000Z',
});
const finance = { user: 'kana', groups: ['finance'] };

/** What the rule answers: 'allowed', or the refusal as [status, field]. */
function rule(...args: Parameters<typeof assertCanPutClient>) {
  try {
    assertCanPutClient(...args);
    return 'allowed';
  } catch (error) {
    const e = error as { statusCode?: number; field?: string };
    return [e.statusCode, e.field];
  }
}

describe('assertCanPutClient', () => {
  it('lets an employee enrol a new client for themselves only', () => {
    expect(() => assertCanPutClient(employee('ando'), 'pc-7', body(['ando']), undefined)).not.toThrow();
    expect(rule(employee('ando'), 'pc-7', body(['suzuki']), undefined)).toEqual([403, 'users']);
    expect(rule(employee('ando'), 'pc-7', body(['ando', 'suzuki']), undefined)).toEqual([403, 'users']);
    expect(rule(employee('ando'), 'pc-7', body([]), undefined)).toEqual([403, 'users']);
  });

  it('refuses an enrolment from a caller who is neither employee nor admin', () => {
    expect(rule(finance, 'pc-7', body(['kana']), undefined)).toEqual([403, undefined]);
    expect(rule({ user: 'ando', groups: [] }, 'pc-7', body(['ando']), undefined)).toEqual([403, undefined]);
  });

  it("refuses a change to another user's client, naming clientId", () => {
    expect(rule(employee('suzuki'), 'pc-7', body(['suzuki']), existing(['ando']))).toEqual([403, 'clientId']);
    expect(rule(employee('suzuki'), 'pc-7', body(['ando']), existing(['ando']))).toEqual([403, 'clientId']);
  });

  it("lets a client's user keep it current but never change its users", () => {
    const mine = existing(['ando', 'suzuki']);
    const update = body(['suzuki', 'ando'], {
      name: 'New name',
      ipAddress: '10.0.9.9',
      osRegistrationId: 'X',
    });
    expect(() => assertCanPutClient(employee('ando'), 'pc-7', update, mine)).not.toThrow();
    for (const users of [['ando'], ['ando', 'suzuki', 'kaneda'], ['ando', 'kaneda'], []]) {
      expect(rule(employee('ando'), 'pc-7', body(users), mine)).toEqual([403, 'users']);
    }
  });

  it('lets the sole user change the department, not a user of a shared client', () => {
    const moved = body(['ando'], { department: 'Engineering' });
    expect(() => assertCanPutClient(employee('ando'), 'pc-7', moved, existing(['ando']))).not.toThrow();
    expect(
      rule(
        employee('ando'),
        'pc-7',
        body(['ando', 'suzuki'], { department: 'Engineering' }),
        existing(['ando', 'suzuki']),
      ),
    ).toEqual([403, 'department']);
  });

  it('lets an admin register for anyone and change everything', () => {
    expect(() => assertCanPutClient(admin, 'pc-7', body(['ando', 'suzuki']), undefined)).not.toThrow();
    expect(() =>
      assertCanPutClient(
        admin,
        'pc-7',
        body(['kaneda'], { department: 'R&D' }),
        existing(['ando', 'suzuki']),
      ),
    ).not.toThrow();
  });
});

describe('putClient: enrolment by the employee', () => {
  let ports: ReturnType<typeof memoryPorts>;
  beforeEach(() => {
    ports = memoryPorts();
  });

  it('registers a new client for the employee (201), who then reads and updates it', async () => {
    const { created, client } = await putClient(ports, employee('ando'), 'pc-7', body(['ando']));
    expect(created).toBe(true);
    expect(client).toMatchObject({ clientId: 'pc-7', users: ['ando'], department: 'Sales' });
    expect(await getClient(ports, employee('ando'), 'pc-7')).toMatchObject({ name: 'Sales PC 7' });
    const again = await putClient(
      ports,
      employee('ando'),
      'pc-7',
      body(['ando'], { ipAddress: '10.0.1.99' }),
    );
    expect(again.created).toBe(false);
    expect(again.client).toMatchObject({ ipAddress: '10.0.1.99', createdAt: client.createdAt });
  });

  it('writes nothing when the enrolment names someone else', async () => {
    const e = await errorOf(() => putClient(ports, employee('ando'), 'pc-7', body(['ando', 'suzuki'])));
    expect([e.statusCode, e.field]).toEqual([403, 'users']);
    expect(ports.store.writes).toBe(0);
    expect(ports.store.clients.has('pc-7')).toBe(false);
  });

  it('keeps an enrolled client from being taken over by another employee', async () => {
    await putClient(ports, employee('ando'), 'pc-7', body(['ando']));
    const e = await errorOf(() => putClient(ports, employee('suzuki'), 'pc-7', body(['suzuki'])));
    expect([e.statusCode, e.field]).toEqual([403, 'clientId']);
    expect((await getClient(ports, admin, 'pc-7')).users).toEqual(['ando']);
  });

  it('lets one of two racing enrolments of the same id win; the other gets 409 naming clientId', async () => {
    const outcomes = await Promise.allSettled([
      putClient(ports, employee('ando'), 'pc-7', body(['ando'])),
      putClient(ports, employee('suzuki'), 'pc-7', body(['suzuki'])),
    ]);
    const won = outcomes.filter((o) => o.status === 'fulfilled');
    const lost = outcomes.filter((o) => o.status === 'rejected');
    expect([won.length, lost.length]).toEqual([1, 1]);
    expect(lost[0]!.reason).toMatchObject({ statusCode: 409, field: 'clientId' });
    expect(ports.store.writes).toBe(1);
    const winner = (won[0] as PromiseFulfilledResult<{ client: Client }>).value.client.users;
    expect((await getClient(ports, admin, 'pc-7')).users).toEqual(winner);
  });

  it('moves a sole-user client to another department, but not a shared one', async () => {
    await putClient(ports, employee('ando'), 'pc-7', body(['ando']));
    const moved = await putClient(
      ports,
      employee('ando'),
      'pc-7',
      body(['ando'], { department: 'Engineering' }),
    );
    expect(moved.client.department).toBe('Engineering');
    await putClient(ports, admin, 'pc-7', body(['ando', 'suzuki'], { department: 'Engineering' }));
    const e = await errorOf(() =>
      putClient(ports, employee('ando'), 'pc-7', body(['ando', 'suzuki'], { department: 'Sales' })),
    );
    expect([e.statusCode, e.field]).toEqual([403, 'department']);
    expect((await getClient(ports, admin, 'pc-7')).department).toBe('Engineering');
  });
});
