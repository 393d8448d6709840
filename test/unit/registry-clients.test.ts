import { beforeEach, describe, expect, it } from 'vitest';
import {
  clientsOfUser,
  getClient,
  getHistory,
  getInventory,
  MAX_REPORTS_PER_CALL,
  putClient,
  recordUpdate,
  reportInventories,
  reportInventory,
} from '../../lib/registry/clients.js';
import { migrateDepartments } from '../../lib/registry/departments.js';
import { putSoftware } from '../../lib/registry/software.js';
import { admin, employee, errorOf, memoryPorts } from './registry-fakes.js';

const clientBody = (users = ['ando']) => ({
  name: 'Ando desktop',
  ipAddress: '10.0.1.11',
  osRegistrationId: 'OS-1',
  department: 'Sales',
  users,
});
const item = (software: string, version: string, extra: Record<string, unknown> = {}) => ({
  software,
  version,
  revision: 1,
  installedAt: '2025-01-01T00:00:00Z',
  user: 'ando',
  ...extra,
});

describe('clients', () => {
  let ports: ReturnType<typeof memoryPorts>;
  beforeEach(async () => {
    ports = memoryPorts();
    for (const name of ['Office', 'Pdf', 'Cad']) {
      await putSoftware(ports, admin, name, {
        vendor: 'V',
        latestVersion: '2.0',
        latestRevision: 20,
        licencePrice: 10,
        licenceModel: 'per-user',
      });
    }
  });

  it('compares departments case-insensitively and keeps the first spelling', async () => {
    await putClient(ports, admin, 'pc-1', clientBody());
    const second = await putClient(ports, admin, 'pc-2', { ...clientBody(['suzuki']), department: 'SALES' });
    expect(second.client.department).toBe('Sales');
    // On a shared client, another case of its department is no change (no admin needed).
    await putClient(ports, admin, 'pc-3', { ...clientBody(['ando', 'suzuki']), department: 'R&D' });
    const same = await putClient(ports, employee('ando'), 'pc-3', {
      ...clientBody(['ando', 'suzuki']),
      department: 'r&d',
    });
    expect(same.client.department).toBe('R&D');
  });

  it('migrates clients filed under two spellings to the oldest one, installations included', async () => {
    const at = (iso: string) => ({ ...ports, now: () => new Date(iso) });
    await putClient(at('2025-01-01T00:00:00Z'), admin, 'pc-old', clientBody());
    await reportInventory(ports, admin, 'pc-old', { items: [item('Office', '2.0')] });
    // A registry from before the rule: "sales" was written as a department of its own.
    ports.store.departments.clear();
    await putClient(at('2025-02-01T00:00:00Z'), admin, 'pc-new', {
      ...clientBody(['suzuki']),
      department: 'sales',
    });
    await reportInventory(ports, admin, 'pc-new', { items: [item('Office', '2.0', { user: 'suzuki' })] });
    ports.store.departments.clear();
    expect(ports.store.clients.get('pc-new')!.department).toBe('sales');

    expect(await migrateDepartments(ports.store, () => true)).toEqual({
      clients: 2,
      respelled: 0,
      complete: false,
    });
    expect(ports.store.clients.get('pc-new')!.department).toBe('sales');
    expect(await migrateDepartments(ports.store)).toEqual({ clients: 2, respelled: 1, complete: true });
    expect(ports.store.clients.get('pc-new')!.department).toBe('Sales');
    expect([...ports.store.installations.values()].map((i) => i.department)).toEqual(['Sales', 'Sales']);
    expect(await migrateDepartments(ports.store)).toEqual({ clients: 2, respelled: 0, complete: true });
  });

  it('lets an admin register a client and its users read it', async () => {
    const { created, client } = await putClient(ports, admin, 'pc-1', clientBody());
    expect(created).toBe(true);
    expect(client).toMatchObject({ clientId: 'pc-1', department: 'Sales', users: ['ando'] });
    expect(await getClient(ports, employee('ando'), 'pc-1')).toMatchObject({ name: 'Ando desktop' });
    expect((await clientsOfUser(ports, employee('ando'), 'ando', {})).items.map((c) => c.clientId)).toEqual([
      'pc-1',
    ]);
  });

  it("denies other employees a client's data, and an employee registering a client for someone else", async () => {
    await putClient(ports, admin, 'pc-1', clientBody());
    expect((await errorOf(() => getClient(ports, employee('suzuki'), 'pc-1'))).statusCode).toBe(403);
    expect((await errorOf(() => getHistory(ports, employee('suzuki'), 'pc-1', {}))).statusCode).toBe(403);
    expect((await errorOf(() => clientsOfUser(ports, employee('suzuki'), 'ando', {}))).statusCode).toBe(403);
    expect(
      (await errorOf(() => putClient(ports, employee('suzuki'), 'pc-2', clientBody(['ando'])))).statusCode,
    ).toBe(403);
    expect(
      (await errorOf(() => putClient(ports, employee('suzuki'), 'pc-1', clientBody(['suzuki'])))).statusCode,
    ).toBe(403);
  });

  it("lets a client's user change its address but not its users, nor a shared client's department", async () => {
    const shared = clientBody(['ando', 'suzuki']);
    await putClient(ports, admin, 'pc-1', shared);
    await putClient(ports, employee('ando'), 'pc-1', { ...shared, ipAddress: '10.0.1.99' });
    expect((await getClient(ports, admin, 'pc-1')).ipAddress).toBe('10.0.1.99');
    const dept = await errorOf(() =>
      putClient(ports, employee('ando'), 'pc-1', { ...shared, department: 'R&D' }),
    );
    expect([dept.statusCode, dept.field]).toEqual([403, 'department']);
    const users = await errorOf(() => putClient(ports, employee('ando'), 'pc-1', clientBody(['ando'])));
    expect([users.statusCode, users.field]).toEqual([403, 'users']);
  });

  it('refuses bad client input naming the field, writing nothing', async () => {
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ ...clientBody(), ipAddress: '10.0.0.300' }, 'ipAddress'],
      [{ ...clientBody(), users: ['ando', 'ando'] }, 'users[1]'],
      [{ ...clientBody(), users: 'ando' }, 'users'],
      [{ ...clientBody(), department: 'Sales#1' }, 'department'],
      [{ ...clientBody(), name: '' }, 'name'],
    ];
    for (const [body, field] of cases) {
      const e = await errorOf(() => putClient(ports, admin, 'pc-1', body));
      expect([e.statusCode, e.field]).toEqual([400, field]);
    }
    expect((await errorOf(() => putClient(ports, admin, 'bad id!', clientBody()))).field).toBe('clientId');
    expect(ports.store.writes).toBe(3); // the three catalog entries only
  });
});

describe('inventory reports', () => {
  let ports: ReturnType<typeof memoryPorts>;
  beforeEach(async () => {
    ports = memoryPorts();
    for (const name of ['Office', 'Pdf', 'Cad']) {
      await putSoftware(ports, admin, name, {
        vendor: 'V',
        latestVersion: '2.0',
        latestRevision: 20,
        licencePrice: 10,
        licenceModel: 'per-client',
      });
    }
    await putClient(ports, admin, 'pc-1', clientBody(['ando', 'suzuki']));
  });

  it('replaces the set and records installs, version changes and removals in history', async () => {
    const first = await reportInventory(ports, employee('ando'), 'pc-1', {
      items: [item('Office', '1.9', { installedAt: '2024-12-01T00:00:00Z' }), item('Pdf', '3')],
    });
    expect(first).toMatchObject({ installed: 2, updated: 0, removed: 0 });
    const second = await reportInventory(ports, employee('ando'), 'pc-1', {
      items: [
        item('Office', '1.10', { revision: 2, updatedAt: '2025-03-01T00:00:00Z' }),
        item('Cad', '5', { installedAt: '2025-04-01T00:00:00Z' }),
      ],
    });
    expect(second).toMatchObject({ installed: 1, updated: 1, removed: 1, unchanged: 0 });
    const inventory = await getInventory(ports, employee('ando'), 'pc-1', {});
    expect(inventory.items.map((i) => [i.software, i.version, i.department])).toEqual([
      ['Cad', '5', 'Sales'],
      ['Office', '1.10', 'Sales'],
    ]);
    const history = await getHistory(ports, employee('suzuki'), 'pc-1', {});
    expect(history.items.map((h) => [h.change, h.software])).toEqual([
      ['removed', 'Pdf'],
      ['installed', 'Cad'],
      ['updated', 'Office'],
      ['installed', 'Pdf'],
      ['installed', 'Office'],
    ]);
    expect(history.items.map((h) => h.at)).toEqual([
      '2025-06-01T12:00:00.000Z',
      '2025-04-01T00:00:00.000Z',
      '2025-03-01T00:00:00.000Z',
      '2025-01-01T00:00:00.000Z',
      '2024-12-01T00:00:00.000Z',
    ]);
    const update = history.items.find((h) => h.change === 'updated')!;
    expect(update).toMatchObject({
      clientId: 'pc-1',
      user: 'ando',
      revision: 2,
      previousVersion: '1.9',
      at: '2025-03-01T00:00:00.000Z',
    });
  });

  it('changes nothing when the same report comes again', async () => {
    await reportInventory(ports, employee('ando'), 'pc-1', { items: [item('Office', '1.9')] });
    const writes = ports.store.writes;
    const again = await reportInventory(ports, employee('ando'), 'pc-1', { items: [item('Office', '1.9')] });
    expect(again).toMatchObject({ installed: 0, updated: 0, removed: 0, unchanged: 1 });
    expect(ports.store.writes).toBe(writes);
  });

  it('refuses bad reports naming the field, writing nothing', async () => {
    const cases: Array<[unknown, string]> = [
      [{ items: [item('Office', '1.9'), item('Office', '2.0')] }, 'items[1].software'],
      [{ items: [item('Unknown', '1.0')] }, 'items[0].software'],
      [{ items: [item('Office', '1.9'), item('Pdf', '1.x')] }, 'items[1].version'],
      [{ items: [item('Office', '1.9', { user: 'kaneda' })] }, 'items[0].user'],
      [{ items: [item('Office', '1.9', { installedAt: 'yesterday' })] }, 'items[0].installedAt'],
      [{ items: [item('Office', '1.9', { updatedAt: '2024-01-01T00:00:00Z' })] }, 'items[0].updatedAt'],
      [{ items: [item('Office', '1.9', { revision: -1 })] }, 'items[0].revision'],
      [{ items: 'Office' }, 'items'],
      [{ items: Array.from({ length: 501 }, (_, i) => item(`S${i}`, '1')) }, 'items'],
    ];
    const writes = ports.store.writes;
    for (const [body, field] of cases) {
      const e = await errorOf(() => reportInventory(ports, employee('ando'), 'pc-1', body));
      expect([e.statusCode, e.field]).toEqual([400, field]);
    }
    const unknown = await errorOf(() => reportInventory(ports, admin, 'pc-404', { items: [] }));
    expect([unknown.statusCode, unknown.field]).toEqual([400, 'clientId']);
    expect(ports.store.writes).toBe(writes);
  });

  it("refuses a report for a client the agent's user does not belong to", async () => {
    const e = await errorOf(() => reportInventory(ports, employee('kaneda'), 'pc-1', { items: [] }));
    expect(e.statusCode).toBe(403);
  });

  it('records a download-completed update (S605) once', async () => {
    await reportInventory(ports, employee('ando'), 'pc-1', { items: [item('Office', '1.9')] });
    const update = {
      clientId: 'pc-1',
      software: 'Office',
      version: '2.0',
      revision: 20,
      at: '2025-05-01T00:00:00Z',
      user: 'ando',
    };
    expect(await recordUpdate(ports, update)).toBe('recorded');
    expect(await recordUpdate(ports, update)).toBe('unchanged');
    const history = await getHistory(ports, admin, 'pc-1', {});
    expect(history.items[0]).toMatchObject({
      change: 'updated',
      source: 'download',
      version: '2.0',
      previousVersion: '1.9',
    });
    expect(history.items).toHaveLength(2);
  });

  it('pages history with a cursor', async () => {
    await reportInventory(ports, admin, 'pc-1', {
      items: [item('Office', '1.9'), item('Pdf', '1'), item('Cad', '1')],
    });
    const first = await getHistory(ports, admin, 'pc-1', { limit: '2' });
    expect(first.items).toHaveLength(2);
    expect(first.cursor).toBeTypeOf('string');
    const second = await getHistory(ports, admin, 'pc-1', { limit: '2', cursor: first.cursor! });
    expect(second.items).toHaveLength(1);
    expect(second.cursor).toBeUndefined();
    expect((await errorOf(() => getHistory(ports, admin, 'pc-1', { limit: '101' }))).field).toBe('limit');
  });
});

describe('bulk inventory reports', () => {
  let ports: ReturnType<typeof memoryPorts>;
  beforeEach(async () => {
    ports = memoryPorts();
    for (const name of ['Office', 'Pdf', 'Cad']) {
      await putSoftware(ports, admin, name, {
        vendor: 'V',
        latestVersion: '2.0',
        latestRevision: 20,
        licencePrice: 10,
        licenceModel: 'per-client',
      });
    }
    for (const [id, users] of [
      ['pc-1', ['ando']],
      ['pc-2', ['suzuki']],
      ['pc-3', ['ando', 'kaneda']],
    ] as const) {
      await putClient(ports, admin, id, clientBody([...users]));
    }
  });

  it('applies every client with its history in one store call, answering per client in order', async () => {
    await reportInventory(ports, admin, 'pc-3', { items: [item('Office', '1.9'), item('Pdf', '1')] });
    const calls = ports.store.batches.length;
    const outcomes = await reportInventories(ports, admin, {
      reports: [
        { clientId: 'pc-1', items: [item('Office', '1.9'), item('Cad', '5')] },
        { clientId: 'pc-2', items: [item('Office', '2.0', { user: 'suzuki' })] },
        {
          clientId: 'pc-3',
          items: [item('Office', '1.10', { revision: 2, updatedAt: '2025-03-01T00:00:00Z' })],
        },
      ],
    });
    expect(outcomes).toEqual([
      { clientId: 'pc-1', installed: 2, updated: 0, removed: 0, unchanged: 0 },
      { clientId: 'pc-2', installed: 1, updated: 0, removed: 0, unchanged: 0 },
      { clientId: 'pc-3', installed: 0, updated: 1, removed: 1, unchanged: 0 },
    ]);
    expect(ports.store.batches.slice(calls)).toEqual([3]);
    const history = await getHistory(ports, admin, 'pc-3', {});
    expect(history.items.map((h) => [h.change, h.software, h.version])).toEqual([
      ['removed', 'Pdf', '1'],
      ['updated', 'Office', '1.10'],
      ['installed', 'Office', '1.9'],
      ['installed', 'Pdf', '1'],
    ]);
    expect((await getInventory(ports, admin, 'pc-2', {})).items).toMatchObject([
      { clientId: 'pc-2', software: 'Office', version: '2.0', user: 'suzuki' },
    ]);
  });

  it('refuses bad input in any report naming reports[i] and the field, writing nothing', async () => {
    const ok = { clientId: 'pc-1', items: [item('Office', '1.9')] };
    const cases: Array<[unknown, string]> = [
      [
        { reports: [ok, { clientId: 'pc-2', items: [item('Pdf', '1.x', { user: 'suzuki' })] }] },
        'reports[1].items[0].version',
      ],
      [
        { reports: [ok, { clientId: 'pc-2', items: [item('Nope', '1', { user: 'suzuki' })] }] },
        'reports[1].items[0].software',
      ],
      [{ reports: [ok, { clientId: 'pc-2', items: [item('Pdf', '1')] }] }, 'reports[1].items[0].user'],
      [{ reports: [ok, { clientId: 'pc-404', items: [] }] }, 'reports[1].clientId'],
      [{ reports: [ok, { clientId: 'bad id!', items: [] }] }, 'reports[1].clientId'],
      [{ reports: [ok, ok] }, 'reports[1].clientId'],
      [{ reports: [ok, 'pc-2'] }, 'reports[1]'],
      [{ reports: [] }, 'reports'],
      [{ reports: Array.from({ length: MAX_REPORTS_PER_CALL + 1 }, () => ok) }, 'reports'],
    ];
    const writes = ports.store.writes;
    for (const [body, field] of cases) {
      const e = await errorOf(() => reportInventories(ports, admin, body));
      expect([e.statusCode, e.field]).toEqual([400, field]);
    }
    expect(ports.store.writes).toBe(writes);
    expect(ports.store.history).toHaveLength(0);
  });

  it("refuses a bulk report that includes a client the caller's agent does not belong to", async () => {
    const e = await errorOf(() =>
      reportInventories(ports, employee('ando'), {
        reports: [
          { clientId: 'pc-1', items: [item('Office', '1.9')] },
          { clientId: 'pc-2', items: [item('Office', '1.9', { user: 'suzuki' })] },
        ],
      }),
    );
    expect(e.statusCode).toBe(403);
    expect(ports.store.installations.size).toBe(0);
  });

  it('answers a conflict for the client that lost a race and still applies the others', async () => {
    await reportInventories(ports, admin, {
      reports: [
        { clientId: 'pc-1', items: [item('Office', '1.9')] },
        { clientId: 'pc-2', items: [item('Office', '1.9', { user: 'suzuki' })] },
      ],
    });
    // pc-2's inventory changes between the read and the write (another report won).
    const read = ports.store.inventoriesOf.bind(ports.store);
    ports.store.inventoriesOf = async (ids: string[]) => {
      const found = await read(ids);
      if (ids.includes('pc-2')) ports.store.seqs.set('pc-2', (ports.store.seqs.get('pc-2') ?? 0) + 1);
      return found;
    };
    const outcomes = await reportInventories(ports, admin, {
      reports: [
        { clientId: 'pc-1', items: [item('Office', '2.0')] },
        { clientId: 'pc-2', items: [item('Office', '2.0', { user: 'suzuki' })] },
      ],
    });
    expect(outcomes[0]).toMatchObject({ clientId: 'pc-1', updated: 1 });
    expect(outcomes[1]).toMatchObject({ clientId: 'pc-2', conflict: expect.stringContaining('pc-2') });
    expect(ports.store.installations.get('pc-1/Office')?.version).toBe('2.0');
    expect(ports.store.installations.get('pc-2/Office')?.version).toBe('1.9');
    expect(ports.store.history.filter((h) => h.clientId === 'pc-2')).toHaveLength(1);
    // The one-report form answers the same race with 409.
    const e = await errorOf(() =>
      reportInventory(ports, admin, 'pc-2', { items: [item('Office', '2.0', { user: 'suzuki' })] }),
    );
    expect(e.statusCode).toBe(409);
  });

  it('answers 409 while another change set of the client is still being written', async () => {
    await reportInventory(ports, admin, 'pc-1', { items: [item('Office', '1.9')] });
    ports.store.busy.add('pc-1');
    const e = await errorOf(() => reportInventory(ports, admin, 'pc-1', { items: [item('Office', '2.0')] }));
    expect(e.statusCode).toBe(409);
    expect(ports.store.installations.get('pc-1/Office')?.version).toBe('1.9');
    // A report that changes nothing needs no write, so it is answered even then.
    expect(await reportInventory(ports, admin, 'pc-1', { items: [item('Office', '1.9')] })).toMatchObject({
      unchanged: 1,
    });
  });
});
