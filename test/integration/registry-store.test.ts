// The registry's DynamoDB adapter against DynamoDB Local: the key design answers every query
// (sorted, paged across write shards, version ranges), writes agree, and nothing scans.
import {
  BatchExecuteStatementCommand,
  BatchWriteCommand,
  PutCommand,
  QueryCommand,
  ScanCommand,
  TransactWriteCommand,
} from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { DynamoRegistryStore } from '../../lib/adapters/dynamodb/registry-store.js';
import type { InventoryChange } from '../../lib/ports/registry.js';
import { resolveApprover } from '../../lib/registry/approvers.js';
import { putClient, reportInventories, reportInventory } from '../../lib/registry/clients.js';
import { createCursorCodec } from '../../lib/registry/cursor.js';
import { requestItemKeys } from '../../lib/registry/keys.js';
import type { Installation } from '../../lib/registry/model.js';
import { seedDemoRegistry } from '../../lib/registry/seed.js';
import { computeForecast, putSoftware } from '../../lib/registry/software.js';
import { compareVersions } from '../../lib/registry/version.js';
import { scratchRegistry } from './registry-support.js';

const e = inject('endpoints');

type Scratch = Awaited<ReturnType<typeof scratchRegistry>>;

const USERS = [
  'ando',
  'suzuki',
  'kaneda',
  'yamada',
  'itou',
  'okachi',
  'kojima',
  'sato',
  'tanaka',
  'watanabe',
];
const DEPTS = ['Sales', 'Sales Ops', 'Engineering', 'Accounting', 'R&D'];
const VERSIONS = ['1.2', '1.9', '1.9.5', '1.10', '1.10.0.1', '2.0', '10.1'];
const N = 230;

function installation(i: number): Installation {
  return {
    clientId: `pc-${String(i).padStart(4, '0')}`,
    software: 'Office',
    version: VERSIONS[i % VERSIONS.length]!,
    revision: i,
    installedAt: '2025-01-01T00:00:00.000Z',
    user: USERS[i % USERS.length]!,
    department: DEPTS[i % DEPTS.length]!,
    clientName: `Client ${i}`,
    recordedAt: '2025-01-01T00:00:00.000Z',
  };
}

async function allPages(s: Scratch, q: Parameters<Scratch['store']['installationsOfSoftware']>[0]) {
  const pages: Installation[][] = [];
  let after = q.after;
  do {
    const page = await s.store.installationsOfSoftware({ ...q, ...(after ? { after } : {}) });
    pages.push(page.items);
    after = page.next;
    // A cursor must survive the trip through JSON (it is signed and sent to the client).
    if (after) after = JSON.parse(JSON.stringify(after));
  } while (after);
  return pages;
}

describe('registry store on DynamoDB Local', () => {
  let s: Scratch;
  const installations = Array.from({ length: N }, (_, i) => installation(i));

  beforeAll(async () => {
    s = await scratchRegistry(e);
    await s.store.batchPut(installations.map((i) => s.store.installationItem(i)));
    // Another software in the same shards must never leak into Office's answers.
    await s.store.batchPut([s.store.installationItem({ ...installation(1), software: 'Officer' })]);
  });
  afterAll(async () => {
    await s?.drop();
  });

  it('pages "who has X" by user across every write shard: each once, in order', async () => {
    const pages = await allPages(s, { software: 'Office', sort: 'user', limit: 17 });
    expect(pages.length).toBe(Math.ceil(N / 17));
    expect(pages.slice(0, -1).every((p) => p.length === 17)).toBe(true);
    const got = pages.flat();
    const expected = [...installations].sort((a, b) => (a.user + a.clientId < b.user + b.clientId ? -1 : 1));
    expect(got.map((i) => `${i.user}/${i.clientId}`)).toEqual(expected.map((i) => `${i.user}/${i.clientId}`));
    expect(got[0]).toMatchObject({
      software: 'Office',
      user: 'ando',
      department: expect.any(String),
      revision: expect.any(Number),
    });
    expect(Object.keys(got[0]!)).not.toContain('gsi1pk');
  });

  it('sorts by department with names that contain spaces in alphabetical order', async () => {
    const got = (await allPages(s, { software: 'Office', sort: 'department', limit: 50 })).flat();
    expect(got).toHaveLength(N);
    const depts = [...new Set(got.map((i) => i.department))];
    expect(depts).toEqual(['Accounting', 'Engineering', 'R&D', 'Sales', 'Sales Ops']);
    const sales = got.filter((i) => i.department === 'Sales').map((i) => i.user);
    expect(sales).toEqual([...sales].sort());
  });

  it('answers version ranges as versions, by key (sort=version) and by filter (sort=user)', async () => {
    const inRange = (i: Installation) =>
      compareVersions(i.version, '1.9.5') >= 0 && compareVersions(i.version, '1.10') <= 0;
    const expected = installations.filter(inRange).length;
    const byVersion = (
      await allPages(s, {
        software: 'Office',
        sort: 'version',
        minVersion: '1.9.5',
        maxVersion: '1.10',
        limit: 9,
      })
    ).flat();
    expect(byVersion).toHaveLength(expected);
    expect(byVersion.every(inRange)).toBe(true);
    const versions = byVersion.map((i) => i.version);
    expect(versions).toEqual([...versions].sort(compareVersions));
    expect(new Set(versions)).toEqual(new Set(['1.9.5', '1.10']));
    const byUser = (
      await allPages(s, {
        software: 'Office',
        sort: 'user',
        minVersion: '1.9.5',
        maxVersion: '1.10',
        limit: 9,
      })
    ).flat();
    expect(byUser.map((i) => i.clientId).sort()).toEqual(byVersion.map((i) => i.clientId).sort());
    const onlyMin = (
      await allPages(s, { software: 'Office', sort: 'version', minVersion: '2', limit: 50 })
    ).flat();
    expect(new Set(onlyMin.map((i) => i.version))).toEqual(new Set(['2.0', '10.1']));
  });

  it('counts the installed base below a version across shards (forecast) and adds requests in flight', async () => {
    const below = await s.store.installationsBelow('Office', '1.10');
    expect(below).toHaveLength(installations.filter((i) => compareVersions(i.version, '1.10') < 0).length);
    const request = (
      requestId: string,
      status: 'AWAITING_APPROVAL' | 'DOWNLOADED',
      clientId: string,
      requester: string,
    ) => ({
      ...requestItemKeys({ requestId, software: 'Office', targetVersion: '1.10', status }),
      requestId,
      software: 'Office',
      targetVersion: '1.10',
      clientId,
      requester,
      status,
      createdAt: '2025-01-01T00:00:00Z',
    });
    for (const item of [
      request('r1', 'AWAITING_APPROVAL', 'pc-new', 'newbie'),
      request('r2', 'DOWNLOADED', 'pc-x', 'x'),
    ]) {
      await s.db.send(new PutCommand({ TableName: s.tableName, Item: item }));
    }
    const result = await computeForecast(
      s.store,
      {
        name: 'Office',
        vendor: 'V',
        latestVersion: '2',
        latestRevision: 1,
        licencePrice: 10,
        licenceModel: 'per-user',
        updatedAt: '',
      },
      '1.10.0',
    );
    expect(result).toMatchObject({
      unitsBelowTarget: USERS.length,
      requestsInFlight: 1,
      licencesNeeded: USERS.length + 1,
    });
  });

  it('refuses an inventory change worked out from an inventory that is no longer current', async () => {
    const i = installation(5000);
    const base = (await s.store.inventoriesOf([i.clientId])).get(i.clientId)!;
    expect(base).toEqual({ clientId: i.clientId, seq: 0, installations: [], busy: false });
    expect(
      await s.store.applyInventoryBatch([
        { clientId: i.clientId, base, changes: [{ kind: 'put', installation: i }] },
      ]),
    ).toEqual([undefined]);
    const [lost] = await s.store.applyInventoryBatch([
      { clientId: i.clientId, base, changes: [{ kind: 'put', installation: { ...i, version: '3' } }] },
    ]);
    expect(lost?.statusCode).toBe(409);
    expect((await s.store.installationsOfClient(i.clientId))[0]?.version).toBe(i.version);
    expect((await s.store.inventoriesOf([i.clientId])).get(i.clientId)).toMatchObject({
      seq: 1,
      installations: [i],
    });
  });

  it('resolves approver periods at their boundaries and with delegation', async () => {
    const base = { filedBy: 'admin', kind: 'approver' as const, user: 'ando' };
    await s.store.putPeriod({
      ...base,
      periodId: 'p1',
      approver: 'okachi',
      validFrom: '2024-01-01T00:00:00.000Z',
      filedAt: '2024-01-01T00:00:00.000Z',
    });
    await s.store.putPeriod({
      ...base,
      periodId: 'p2',
      approver: 'itou',
      validFrom: '2025-03-01T00:00:00.000Z',
      validTo: '2025-04-01T00:00:00.000Z',
      filedAt: '2025-01-01T00:00:00.000Z',
    });
    await s.store.putPeriod({
      ...base,
      periodId: 'p3',
      approver: 'kojima',
      validFrom: '2025-03-01T00:00:00.000Z',
      validTo: '2025-03-15T00:00:00.000Z',
      filedAt: '2025-02-01T00:00:00.000Z',
    });
    await s.store.putPeriod({
      kind: 'delegation',
      user: 'okachi',
      periodId: 'd1',
      delegate: 'suzuki',
      validFrom: '2025-05-01T00:00:00.000Z',
      validTo: '2025-05-02T00:00:00.000Z',
      filedAt: '2025-01-01T00:00:00.000Z',
      filedBy: 'okachi',
    });
    const who = async (at: string) => (await resolveApprover({ approvers: s.store }, 'ando', at))?.decidedBy;
    expect(await who('2023-12-31T23:59:59.999Z')).toBeUndefined();
    expect(await who('2024-01-01T00:00:00.000Z')).toBe('okachi');
    expect(await who('2025-03-01T00:00:00.000Z')).toBe('kojima'); // same validFrom: later filing wins
    expect(await who('2025-03-15T00:00:00.000Z')).toBe('itou');
    expect(await who('2025-04-01T00:00:00.000Z')).toBe('okachi');
    expect(await who('2025-05-01T12:00:00.000Z')).toBe('suzuki');
    expect(await who('2025-05-02T00:00:00.000Z')).toBe('okachi');
    await expect(
      s.store.putPeriod({
        ...base,
        periodId: 'p1',
        approver: 'x',
        validFrom: '2024-01-01T00:00:00.000Z',
        filedAt: '2024-01-01T00:00:00.000Z',
      }),
    ).rejects.toThrow(); // never overwritten
  });

  it('claims each (announcement, user) delivery once; a failed one can be claimed again', async () => {
    expect(await s.store.claimDelivery('a1', 'ando', 'c1', 'now')).toBe('claimed');
    expect(await s.store.claimDelivery('a1', 'ando', 'c2', 'now')).toBe('skip');
    await s.store.completeDelivery('a1', 'ando', 'c1', { status: 'failed', error: 'throttled', at: 'now' });
    expect(await s.store.claimDelivery('a1', 'ando', 'c3', 'now')).toBe('claimed');
    await s.store.completeDelivery('a1', 'ando', 'c3', { status: 'sent', messageId: 'm', at: 'now' });
    expect(await s.store.claimDelivery('a1', 'ando', 'c4', 'now')).toBe('skip');
    expect(await s.store.deliveryCounts('a1')).toEqual({ sent: 1, failed: 0, sending: 0 });
  });
});

describe('departments', () => {
  it('keeps the first spelling when two writers register one department in two cases at once', async () => {
    const s = await scratchRegistry(e, 'registry-dept');
    try {
      const spellings = await Promise.all(
        ['Sales Ops', 'sales ops', 'SALES OPS', 'Sales ops'].map((d) => s.store.departmentSpelling(d)),
      );
      expect(new Set(spellings).size).toBe(1);
      expect(await s.store.departmentSpelling('sAlEs oPs')).toBe(spellings[0]);
      expect(await s.store.departmentSpelling('Engineering')).toBe('Engineering');
    } finally {
      await s.drop();
    }
  });
});

describe('demo seed', () => {
  it('writes Fig. 4 and changes nothing when run again', async () => {
    const s = await scratchRegistry(e, 'registry-seed');
    try {
      const snapshot = async () => {
        // A Scan here only checks the whole table in a test; the registry itself never scans.
        const out = await s.db.send(new ScanCommand({ TableName: s.tableName }));
        return (out.Items ?? []).map((i) => JSON.stringify(i, Object.keys(i).sort())).sort();
      };
      await seedDemoRegistry({ store: s.store, approvers: s.store, people: s.people });
      const first = await snapshot();
      await seedDemoRegistry({ store: s.store, approvers: s.store, people: s.people });
      expect(await snapshot()).toEqual(first);
      const approvers = await Promise.all(
        ['ando', 'suzuki', 'kaneda', 'yamada'].map(
          async (u) => (await resolveApprover({ approvers: s.store }, u))?.approver,
        ),
      );
      expect(approvers).toEqual(['okachi', 'okachi', 'itou', 'kojima']);
      const history = await s.store.historyOfClient('pc-ando', { limit: 50 });
      expect(history.items.map((h) => h.change)).toContain('updated');
      expect(
        (
          await s.store.installationsOfSoftware({
            software: 'OfficeSuite',
            sort: 'user',
            limit: 50,
            maxVersion: '2.9',
          })
        ).items
          .map((i) => i.clientId)
          .sort(),
      ).toEqual(['pc-suzuki', 'pc-yamada']);

      // pc-suzuki is updated to 2.10 (as a download does); seeding again (a restart) keeps it there.
      const p = {
        store: s.store,
        cursors: createCursorCodec('test-cursor-key-of-16+'),
        now: () => new Date(),
      };
      const before = (await s.store.installationsOfClient('pc-suzuki')).map(
        ({ software, version, revision, installedAt, user }) => ({
          software,
          version,
          revision,
          installedAt,
          user,
        }),
      );
      await reportInventory(p, { user: 'seed', groups: ['admins'] }, 'pc-suzuki', {
        items: before.map((i) =>
          i.software === 'OfficeSuite' ? { ...i, version: '2.10', revision: 2100 } : i,
        ),
      });
      const updated = await snapshot();
      await seedDemoRegistry({ store: s.store, approvers: s.store, people: s.people });
      expect(await snapshot()).toEqual(updated);
      const office = (await s.store.installationsOfClient('pc-suzuki')).find(
        (i) => i.software === 'OfficeSuite',
      );
      expect(office).toMatchObject({ version: '2.10', revision: 2100 });
    } finally {
      await s.drop();
    }
  });
});

describe('inventory writes on DynamoDB Local', () => {
  let s: Scratch;
  /** What the store sends: the size of every TransactWriteItems, every conditional head write. */
  const transactions: number[] = [];
  const commits: number[] = [];
  /** Set to n: the n-th BatchWriteItem from now fails, as if the writer died there. */
  let failBatchWrite = 0;
  beforeAll(async () => {
    s = await scratchRegistry(e, 'registry-inv');
    const send = s.db.send.bind(s.db) as (command: unknown) => Promise<unknown>;
    (s.db as { send: unknown }).send = (command: unknown) => {
      if (command instanceof TransactWriteCommand)
        transactions.push(command.input.TransactItems?.length ?? 0);
      if (command instanceof BatchExecuteStatementCommand)
        commits.push(command.input.Statements?.length ?? 0);
      if (command instanceof BatchWriteCommand && failBatchWrite > 0 && --failBatchWrite === 0) {
        return Promise.reject(new Error('the writer died here'));
      }
      return send(command);
    };
  });
  afterAll(async () => {
    await s?.drop();
  });

  const at = '2025-02-01T00:00:00.000Z';
  const inst = (c: number, sw: number, version = '1.0', recordedAt = at): Installation => ({
    ...installation(c),
    clientId: `bulk-${c}`,
    software: `Sw${String(sw).padStart(3, '0')}`,
    version,
    recordedAt,
  });
  const put = (i: Installation, previous?: Installation): InventoryChange => ({
    kind: 'put',
    installation: i,
    ...(previous ? { previous } : {}),
    history: {
      clientId: i.clientId,
      software: i.software,
      change: previous ? 'updated' : 'installed',
      version: i.version,
      revision: i.revision,
      at: i.recordedAt,
      user: i.user,
      recordedAt: i.recordedAt,
      source: 'inventory',
    },
  });
  const basesOf = async (ids: string[]) => s.store.inventoriesOf(ids);
  const historyCount = async (clientId: string) =>
    (await s.store.historyOfClient(clientId, { limit: 1000 })).items.length;

  it('commits each client with one conditional write, batched; a stale base fails only its client', async () => {
    const sw = Array.from({ length: 10 }, (_, k) => k);
    const ids = Array.from({ length: 6 }, (_, c) => `bulk-${c}`);
    let bases = await basesOf(ids);
    transactions.length = 0;
    commits.length = 0;
    const first = ids.map((clientId, c) => ({
      clientId,
      base: bases.get(clientId)!,
      changes: sw.map((k) => put(inst(c, k))),
    }));
    expect(await s.store.applyInventoryBatch(first)).toEqual(Array(6).fill(undefined));
    expect([commits, transactions]).toEqual([[6], []]); // one call commits all six; no transaction
    const later = '2025-03-01T00:00:00.000Z';
    bases = await basesOf(ids);
    // Client 3 changes after its base was read: the second report of it is worked out from a stale base.
    const [meanwhile] = await s.store.applyInventoryBatch([
      {
        clientId: 'bulk-3',
        base: bases.get('bulk-3')!,
        changes: [put(inst(3, 0, '1.5', later), inst(3, 0))],
      },
    ]);
    expect(meanwhile).toBeUndefined();
    const second = ids.map((clientId, c) => ({
      clientId,
      base: bases.get(clientId)!,
      changes: sw.map((k) => put(inst(c, k, '2.0', later), inst(c, k))),
    }));
    const outcome = await s.store.applyInventoryBatch(second);
    expect(outcome.map((o) => o?.statusCode)).toEqual([
      undefined,
      undefined,
      undefined,
      409,
      undefined,
      undefined,
    ]);
    for (let c = 0; c < 6; c++) {
      const versions = new Set((await s.store.installationsOfClient(`bulk-${c}`)).map((i) => i.version));
      const head = (await basesOf([`bulk-${c}`])).get(`bulk-${c}`)!;
      expect([c, [...versions].sort(), await historyCount(`bulk-${c}`), head.seq]).toEqual(
        c === 3 ? [c, ['1.0', '1.5'], 11, 2] : [c, ['2.0'], 20, 2],
      );
      // The head and the installation items agree.
      expect(new Set(head.installations.map((i) => i.version))).toEqual(versions);
    }
  });

  it('lets exactly one of many concurrent change sets of one client win', async () => {
    const id = 'bulk-300';
    const base = (await basesOf([id])).get(id)!;
    const outcomes = await Promise.all(
      Array.from({ length: 8 }, (_, k) =>
        s.store.applyInventoryBatch([
          { clientId: id, base, changes: [put(inst(300, k)), put(inst(300, 100 + k))] },
        ]),
      ),
    );
    const winners = outcomes.map(([o], k) => [o, k] as const).filter(([o]) => o === undefined);
    expect(winners).toHaveLength(1);
    expect(outcomes.flat().filter((o) => o?.statusCode === 409)).toHaveLength(7);
    const k = winners[0]![1];
    // Only the winner's items exist: the losers wrote nothing.
    expect((await s.store.installationsOfClient(id)).map((i) => i.software)).toEqual([
      inst(300, k).software,
      inst(300, 100 + k).software,
    ]);
    expect(await historyCount(id)).toBe(2);
    expect((await basesOf([id])).get(id)).toMatchObject({ seq: 1, busy: false });
  });

  it('writes a report of 500 changes as one change set', async () => {
    const [big, small] = ['bulk-100', 'bulk-7'];
    const bases = await basesOf([big, small]);
    const changes = Array.from({ length: 500 }, (_, k) => put(inst(100, k)));
    expect(
      await s.store.applyInventoryBatch([
        { clientId: big, base: bases.get(big)!, changes },
        { clientId: small, base: bases.get(small)!, changes: [put(inst(7, 1))] },
      ]),
    ).toEqual([undefined, undefined]);
    expect(await s.store.installationsOfClient(big)).toHaveLength(500);
    expect(await historyCount(big)).toBe(500);
    expect((await basesOf([big])).get(big)!.installations).toHaveLength(500);
  });

  it.each([
    ['before any installation item', 1],
    ['before the last history entry (the marker)', 3],
  ])('completes a change set whose writer died %s, once, after the lease', async (_, failAt) => {
    const c = 200 + failAt;
    const id = `bulk-${c}`;
    const base = (await basesOf([id])).get(id)!;
    failBatchWrite = failAt;
    await expect(
      s.store.applyInventoryBatch([{ clientId: id, base, changes: [0, 1, 2].map((k) => put(inst(c, k))) }]),
    ).rejects.toThrow('the writer died here');
    failBatchWrite = 0;
    // Within the lease the set may still be being written: readers see the client busy, and
    // a change worked out now is refused with 409, writing nothing.
    const busy = (await basesOf([id])).get(id)!;
    expect(busy).toMatchObject({ seq: 1, busy: true });
    const [refused] = await s.store.applyInventoryBatch([
      { clientId: id, base: busy, changes: [put(inst(c, 9))] },
    ]);
    expect(refused?.message).toMatch(/still being written/);
    expect(await historyCount(id)).toBe(failAt === 1 ? 0 : 2);
    // After the lease, the next reader claims the set and completes it.
    const late = new DynamoRegistryStore(s.db, s.tableName, {
      now: () => new Date(Date.now() + 6 * 60_000),
    });
    const settled = (await late.inventoriesOf([id])).get(id)!;
    expect(settled).toMatchObject({ seq: 1, busy: false });
    expect((await s.store.installationsOfClient(id)).map((i) => i.software)).toEqual([
      'Sw000',
      'Sw001',
      'Sw002',
    ]);
    expect(await historyCount(id)).toBe(3);
    // Completing it again (another late reader) changes nothing; the store is not busy any more.
    expect((await late.inventoriesOf([id])).get(id)!.busy).toBe(false);
    expect((await s.store.inventoriesOf([id])).get(id)!.busy).toBe(false);
    expect(await historyCount(id)).toBe(3);
    const [next] = await s.store.applyInventoryBatch([
      { clientId: id, base: settled, changes: [put(inst(c, 9))] },
    ]);
    expect(next).toBeUndefined();
    expect(await historyCount(id)).toBe(4);
  });

  it('re-files installations in one transaction when a client changes department', async () => {
    const ports = {
      store: s.store,
      people: s.people,
      cursors: createCursorCodec('it-cursor-key-0123456789'),
      now: () => new Date(at),
    };
    await s.addPeople('ando', 'suzuki');
    const boss = { user: 'boss', groups: ['admins'] };
    await putSoftware(ports, boss, 'Refile', {
      vendor: 'V',
      latestVersion: '2',
      latestRevision: 2,
      licencePrice: 1,
      licenceModel: 'per-user',
    });
    const client = { name: 'R', ipAddress: '10.0.0.9', osRegistrationId: 'OS', users: ['ando'] };
    await putClient(ports, boss, 'refile-1', { ...client, department: 'Sales' });
    await reportInventory(ports, boss, 'refile-1', {
      items: [{ software: 'Refile', version: '1', revision: 1, installedAt: at, user: 'ando' }],
    });
    transactions.length = 0;
    await putClient({ ...ports, now: () => new Date('2025-02-02T00:00:00.000Z') }, boss, 'refile-1', {
      ...client,
      department: 'Legal',
    });
    expect(transactions).toEqual([1, 2]); // the client (same users); the head + its one installation
    expect((await s.store.installationsOfClient('refile-1')).map((i) => i.department)).toEqual(['Legal']);
    const head = (await s.store.inventoriesOf(['refile-1'])).get('refile-1')!;
    expect(head).toMatchObject({ seq: 2, busy: false });
    expect(head.installations.map((i) => i.department)).toEqual(['Legal']);
    expect(await historyCount('refile-1')).toBe(1); // a re-filing is not history
  });

  it('trusts catalog names it has seen, but looks up an unknown name every time', async () => {
    const other = new DynamoRegistryStore(s.db, s.tableName);
    const entry = {
      vendor: 'V',
      latestVersion: '1',
      latestRevision: 1,
      licencePrice: 1,
      licenceModel: 'per-user' as const,
      updatedAt: at,
    };
    expect([...(await s.store.knownSoftware(['Late', 'Late']))]).toEqual([]);
    await other.putSoftware({ name: 'Late', ...entry }); // through another container
    expect([...(await s.store.knownSoftware(['Late']))]).toEqual(['Late']);
  });

  it('writes nothing when a client reports the same inventory again (use case end to end)', async () => {
    const ports = {
      store: s.store,
      people: s.people,
      cursors: createCursorCodec('it-cursor-key-0123456789'),
      now: () => new Date(at),
    };
    await s.addPeople('ando', 'suzuki');
    const boss = { user: 'boss', groups: ['admins'] };
    for (const name of ['Office', 'Pdf']) {
      await putSoftware(ports, boss, name, {
        vendor: 'V',
        latestVersion: '2',
        latestRevision: 2,
        licencePrice: 1,
        licenceModel: 'per-user',
      });
    }
    const client = { name: 'A', ipAddress: '10.0.0.1', osRegistrationId: 'OS', department: 'Sales' };
    await putClient(ports, boss, 'rep-1', { ...client, users: ['ando'] });
    await putClient(ports, boss, 'rep-2', { ...client, users: ['suzuki'] });
    const items = (user: string) => [
      { software: 'Office', version: '1.9', revision: 1, installedAt: at, user },
      { software: 'Pdf', version: '3', revision: 'r7', installedAt: at, user },
    ];
    const outcomes = await reportInventories(ports, boss, {
      reports: [
        { clientId: 'rep-1', items: items('ando') },
        { clientId: 'rep-2', items: items('suzuki') },
      ],
    });
    expect(outcomes.map((o) => ('installed' in o ? o.installed : o.conflict))).toEqual([2, 2]);
    const partition = async () =>
      (
        await s.db.send(
          new QueryCommand({
            TableName: s.tableName,
            KeyConditionExpression: 'pk = :pk',
            ExpressionAttributeValues: { ':pk': 'CLIENT#rep-1' },
          }),
        )
      ).Items;
    const before = await partition();
    expect(before?.filter((i) => i.type === 'history')).toHaveLength(2);
    transactions.length = 0;
    commits.length = 0;
    expect(
      await reportInventory(ports, { user: 'ando', groups: ['employees'] }, 'rep-1', {
        items: items('ando'),
      }),
    ).toEqual({
      clientId: 'rep-1',
      installed: 0,
      updated: 0,
      removed: 0,
      unchanged: 2,
    });
    expect([transactions, commits]).toEqual([[], []]);
    expect(await partition()).toEqual(before);
  });
});
