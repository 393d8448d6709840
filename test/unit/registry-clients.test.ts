import { beforeEach, describe, expect, it } from 'vitest';
import {
  clientsOfUser,
  getClient,
  getHistory,
  getInventory,
  putClient,
  recordUpdate,
  reportInventory,
} from '../../lib/registry/clients.js';
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
