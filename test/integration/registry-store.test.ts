// The registry's DynamoDB adapter against DynamoDB Local: the key design answers every query
// (sorted, paged across write shards, version ranges), writes agree, and nothing scans.
import { PutCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { resolveApprover } from '../../lib/registry/approvers.js';
import { requestItemKeys } from '../../lib/registry/keys.js';
import type { Installation } from '../../lib/registry/model.js';
import { seedDemoRegistry } from '../../lib/registry/seed.js';
import { computeForecast } from '../../lib/registry/software.js';
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

  it('refuses an inventory change that lost a race (conditional transaction)', async () => {
    const i = installation(5000);
    await s.store.applyInventoryChanges(i.clientId, [{ kind: 'put', installation: i }]);
    const stale = { ...i, recordedAt: '2020-01-01T00:00:00.000Z' };
    await expect(
      s.store.applyInventoryChanges(i.clientId, [
        { kind: 'put', installation: { ...i, version: '3' }, previous: stale },
      ]),
    ).rejects.toMatchObject({ statusCode: 409 });
    expect((await s.store.installationsOfClient(i.clientId))[0]?.version).toBe(i.version);
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

describe('demo seed', () => {
  it('writes Fig. 4 and changes nothing when run again', async () => {
    const s = await scratchRegistry(e, 'registry-seed');
    try {
      const snapshot = async () => {
        // A Scan here only checks the whole table in a test; the registry itself never scans.
        const out = await s.db.send(new ScanCommand({ TableName: s.tableName }));
        return (out.Items ?? []).map((i) => JSON.stringify(i, Object.keys(i).sort())).sort();
      };
      await seedDemoRegistry({ store: s.store, approvers: s.store });
      const first = await snapshot();
      await seedDemoRegistry({ store: s.store, approvers: s.store });
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
    } finally {
      await s.drop();
    }
  });
});
