import { beforeEach, describe, expect, it } from 'vitest';
import { putClient, reportInventory } from '../../lib/registry/clients.js';
import { forecast, listSoftware, putSoftware, whoHas } from '../../lib/registry/software.js';
import { admin, employee, errorOf, memoryPorts } from './registry-fakes.js';

const entry = (licenceModel: string) => ({
  vendor: 'Contoso',
  latestVersion: '1.10',
  latestRevision: 110,
  licencePrice: 100,
  licenceModel,
});

describe('catalog, who has X and the forecast', () => {
  let ports: ReturnType<typeof memoryPorts>;
  beforeEach(async () => {
    ports = memoryPorts();
    await putSoftware(ports, admin, 'Office', entry('per-user'));
    await putSoftware(ports, admin, 'Cad', entry('per client'));
    // ando has two clients; suzuki one; kaneda one.
    const clients: Array<[string, string[], string]> = [
      ['pc-a1', ['ando'], 'Sales'],
      ['pc-a2', ['ando'], 'Sales'],
      ['pc-s1', ['suzuki'], 'Accounting'],
      ['pc-k1', ['kaneda'], 'Engineering'],
    ];
    const versions: Record<string, string> = {
      'pc-a1': '1.9',
      'pc-a2': '1.2',
      'pc-s1': '1.10',
      'pc-k1': '1.9.5',
    };
    for (const [id, users, department] of clients) {
      await putClient(ports, admin, id, {
        name: id,
        ipAddress: '10.0.0.1',
        osRegistrationId: 'os',
        department,
        users,
      });
      const user = users[0]!;
      await reportInventory(ports, admin, id, {
        items: ['Office', 'Cad'].map((software) => ({
          software,
          version: versions[id],
          revision: 1,
          installedAt: '2025-01-01',
          user,
        })),
      });
    }
  });

  it('normalises the licence model and refuses a bad catalog entry', async () => {
    expect((await listSoftware(ports, {})).items.map((e) => [e.name, e.licenceModel])).toEqual([
      ['Cad', 'per-client'],
      ['Office', 'per-user'],
    ]);
    const bad = await errorOf(() =>
      putSoftware(ports, admin, 'X', { ...entry('per-user'), licencePrice: -1 }),
    );
    expect(bad.field).toBe('licencePrice');
    expect((await errorOf(() => putSoftware(ports, admin, 'X', entry('site')))).field).toBe('licenceModel');
    expect(
      (await errorOf(() => putSoftware(ports, employee('ando'), 'X', entry('per-user')))).statusCode,
    ).toBe(403);
  });

  it('answers who has X, sorted and within a version range', async () => {
    const byUser = await whoHas(ports, admin, 'Office', {});
    expect(byUser.items.map((i) => [i.user, i.clientId])).toEqual([
      ['ando', 'pc-a1'],
      ['ando', 'pc-a2'],
      ['kaneda', 'pc-k1'],
      ['suzuki', 'pc-s1'],
    ]);
    const byDept = await whoHas(ports, admin, 'Office', { sort: 'department' });
    expect(byDept.items.map((i) => i.department)).toEqual(['Accounting', 'Engineering', 'Sales', 'Sales']);
    const range = await whoHas(ports, admin, 'Office', {
      sort: 'version',
      minVersion: '1.9',
      maxVersion: '1.10',
    });
    expect(range.items.map((i) => i.version)).toEqual(['1.9', '1.9.5', '1.10']);
    expect(range.items[0]).toMatchObject({
      clientId: 'pc-a1',
      software: 'Office',
      revision: 1,
      user: 'ando',
      department: 'Sales',
    });
  });

  it('refuses bad queries and non-admins', async () => {
    for (const [query, field] of [
      [{ sort: 'price' }, 'sort'],
      [{ minVersion: '1.x' }, 'minVersion'],
      [{ minVersion: '2', maxVersion: '1' }, 'minVersion'],
      [{ limit: '1000' }, 'limit'],
      [{ limit: '0' }, 'limit'],
    ] as const) {
      const e = await errorOf(() => whoHas(ports, admin, 'Office', query));
      expect([e.statusCode, e.field]).toEqual([400, field]);
    }
    expect((await errorOf(() => whoHas(ports, admin, 'Nope', {}))).statusCode).toBe(404);
    expect((await errorOf(() => whoHas(ports, employee('ando'), 'Office', {}))).statusCode).toBe(403);
  });

  it('counts licences per the model, plus requests in flight, each unit once', async () => {
    ports.store.requests.push(
      // ando already counts (runs 1.9): no extra per-user licence; a per-client request on a new client adds one.
      {
        requestId: 'r1',
        software: 'Office',
        targetVersion: '1.10',
        clientId: 'pc-a1',
        requester: 'ando',
        status: 'AWAITING_APPROVAL',
        createdAt: '',
      },
      {
        requestId: 'r2',
        software: 'Office',
        targetVersion: '1.10.0',
        clientId: 'pc-new',
        requester: 'yamada',
        status: 'AWAITING_BUDGET',
        createdAt: '',
      },
      {
        requestId: 'r3',
        software: 'Office',
        targetVersion: '1.10',
        clientId: 'pc-x',
        requester: 'itou',
        status: 'REJECTED',
        createdAt: '',
      },
      {
        requestId: 'r4',
        software: 'Cad',
        targetVersion: '1.10',
        clientId: 'pc-new',
        requester: 'yamada',
        status: 'APPROVED',
        createdAt: '',
      },
    );
    const office = await forecast(ports, { user: 'fin', groups: ['finance'] }, 'Office', {
      targetVersion: '1.10',
    });
    // Below 1.10: pc-a1 (1.9), pc-a2 (1.2), pc-k1 (1.9.5) → users ando, kaneda; plus yamada.
    expect(office).toMatchObject({
      software: 'Office',
      targetVersion: '1.10',
      licenceModel: 'per-user',
      installationsBelowTarget: 3,
      unitsBelowTarget: 2,
      requestsInFlight: 2,
      licencesNeeded: 3,
      estimatedCost: 300,
    });
    const cad = await forecast(ports, admin, 'Cad', { targetVersion: '1.10' });
    expect(cad).toMatchObject({
      licenceModel: 'per-client',
      unitsBelowTarget: 3,
      requestsInFlight: 1,
      licencesNeeded: 4,
    });
    expect((await errorOf(() => forecast(ports, admin, 'Cad', {}))).field).toBe('targetVersion');
    expect(
      (await errorOf(() => forecast(ports, employee('ando'), 'Cad', { targetVersion: '2' }))).statusCode,
    ).toBe(403);
  });
});
