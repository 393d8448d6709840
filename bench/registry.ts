// Registry benchmarks (issue 3), against a DynamoDB Local started here (in memory):
// 1. Load 100,000 installations on 10,000 clients through the inventory use case and compare
//    with raw BatchWriteItem into another table of the same DynamoDB Local in the same run.
//    Two baselines, both printed: (a) raw BatchWriteItem of the same items the use case writes
//    (each installation, its history entry, and the client's inventory head), compared item for
//    item: this is the goal's measure, items/s against items/s; (b) raw BatchWriteItem of the
//    installation items only, compared installation for installation, which shows what writing
//    history costs. Goal: use case ≥ 0.7× raw. The load goes through the bulk form of the use case
//    (reportInventories, 25 reports a call); the one-report form behind PUT
//    /clients/{id}/software is measured on 1,000 more clients, and a repeated report (nothing
//    changed, nothing written) on those again.
//    Parallelism is the same everywhere: CONCURRENCY streams, each one request at a time. The
//    paths run in alternating slices, so load from other processes hits them alike.
// 2. First-page latency of "who has X" (the use case behind GET /software/{name}/installations)
//    when the registry holds 10k and 100k installations. Goal: within 1.5× of each other.
// REGISTRY_BENCH_CLIENTS scales the run down for a quick look (default 10000).
import { createServer } from 'node:net';
import { BatchWriteCommand, GetCommand } from '@aws-sdk/lib-dynamodb';
import { startLocalDynamoDb } from '../cdk/local/dynamodb.js';
import type { DynamoRegistryStore } from '../lib/adapters/dynamodb/registry-store.js';
import { MAX_REPORTS_PER_CALL, reportInventories, reportInventory } from '../lib/registry/clients.js';
import { createCursorCodec } from '../lib/registry/cursor.js';
import { CLIENT_SK, clientPk, historyId, INVENTORY_SK } from '../lib/registry/keys.js';
import type { Client, Installation } from '../lib/registry/model.js';
import { putSoftware, whoHas } from '../lib/registry/software.js';
import { scratchRegistry } from '../test/integration/registry-support.js';
import type { BenchResult } from './run.js';

const CLIENTS = Number(process.env.REGISTRY_BENCH_CLIENTS ?? 10_000);
const SINGLE = Math.min(CLIENTS, 1_000);
const PER_CLIENT = 10;
const CONCURRENCY = 16;
const ROUNDS = 10;
const SOFTWARE = Array.from({ length: PER_CLIENT }, (_, i) => `Product${i}`);
const USERS = 2_000;
const DEPARTMENTS = ['Sales', 'Engineering', 'Accounting', 'Research', 'Support', 'Legal'];
const ADMIN = { user: 'bench', groups: ['admins'] };
const NOW = '2025-06-01T00:00:00.000Z';

const clientId = (c: number) => `pc-${String(c).padStart(6, '0')}`;
const userOf = (c: number) => `user${c % USERS}`;

function clientOf(c: number): Client {
  return {
    clientId: clientId(c),
    name: `Client ${c}`,
    ipAddress: `10.${(c >> 16) & 255}.${(c >> 8) & 255}.${c & 255}`,
    osRegistrationId: `OS-${c}`,
    department: DEPARTMENTS[c % DEPARTMENTS.length]!,
    users: [userOf(c)],
    createdAt: NOW,
    updatedAt: NOW,
  };
}

function reportOf(c: number) {
  return {
    items: SOFTWARE.map((software, s) => ({
      software,
      version: `${1 + ((c + s) % 3)}.${(c * 7 + s) % 12}`,
      revision: (c + s) % 100,
      installedAt: '2025-01-01T00:00:00Z',
      user: userOf(c),
    })),
  };
}

function installationOf(c: number, s: number): Installation {
  const item = reportOf(c).items[s]!;
  const client = clientOf(c);
  return {
    clientId: client.clientId,
    ...item,
    installedAt: '2025-01-01T00:00:00.000Z',
    department: client.department,
    clientName: client.name,
    recordedAt: NOW,
  };
}

async function pool(count: number, worker: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < count) await worker(next++);
    }),
  );
}

/** Full reports of clients [from, to) through the bulk use case, MAX_REPORTS_PER_CALL a call. */
async function loadBulk(ports: Parameters<typeof reportInventories>[0], from: number, to: number) {
  await pool(Math.ceil((to - from) / MAX_REPORTS_PER_CALL), async (b) => {
    const first = from + b * MAX_REPORTS_PER_CALL;
    const reports = [];
    for (let c = first; c < Math.min(to, first + MAX_REPORTS_PER_CALL); c++) {
      reports.push({ clientId: clientId(c), ...reportOf(c) });
    }
    const outcomes = await reportInventories(ports, ADMIN, { reports });
    const lost = outcomes.find((o) => 'conflict' in o);
    if (lost) throw new Error(`unexpected conflict: ${JSON.stringify(lost)}`);
  });
}

/** Raw BatchWriteItem of `count` items, 25 a call, CONCURRENCY calls in flight. */
async function rawLoad(
  raw: Awaited<ReturnType<typeof scratchRegistry>>,
  count: number,
  itemOf: (k: number) => Record<string, unknown>,
) {
  await pool(Math.ceil(count / 25), async (b) => {
    let requests = Array.from({ length: 25 }, (_, k) => b * 25 + k)
      .filter((k) => k < count)
      .map((k) => ({ PutRequest: { Item: itemOf(k) } }));
    while (requests.length > 0) {
      const out = await raw.db.send(new BatchWriteCommand({ RequestItems: { [raw.tableName]: requests } }));
      requests = (out.UnprocessedItems?.[raw.tableName] ?? []) as typeof requests;
    }
  });
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function firstPageLatency(ports: Parameters<typeof whoHas>[0]): Promise<number> {
  const samples: number[] = [];
  for (let i = 0; i < 35; i++) {
    const t = performance.now();
    const page = await whoHas(ports, ADMIN, 'Product0', { limit: '50' });
    const ms = performance.now() - t;
    if (page.items.length !== 50) throw new Error(`first page has ${page.items.length} items`);
    if (i >= 5) samples.push(ms);
  }
  return median(samples);
}

const seconds = (start: number) => (performance.now() - start) / 1000;

export async function run(): Promise<BenchResult[]> {
  const credentials = { accessKeyId: 'bench', secretAccessKey: 'bench' };
  const region = 'us-east-1';
  const db = await startLocalDynamoDb({ port: await freePort(), region, credentials });
  try {
    const target = { dynamodb: db.url, region, credentials };
    const registry = await scratchRegistry(target, 'bench-registry');
    const raw = await scratchRegistry(target, 'bench-raw');
    const store: DynamoRegistryStore = registry.store;
    const ports = {
      store,
      cursors: createCursorCodec('bench-cursor-key-0123456789'),
      now: () => new Date(NOW),
    };

    // Setup (not timed): the catalog and the clients (load range, one-report range, warm-up).
    for (const name of SOFTWARE) {
      await putSoftware(ports, ADMIN, name, {
        vendor: 'Bench',
        latestVersion: '3.11',
        latestRevision: 99,
        licencePrice: 10,
        licenceModel: 'per-user',
      });
    }
    const warm = 200;
    const singleFrom = CLIENTS;
    const warmFrom = CLIENTS + SINGLE;
    await store.batchPut(
      Array.from({ length: warmFrom + 2 * warm }, (_, c) => ({
        pk: clientPk(clientId(c)),
        sk: CLIENT_SK,
        type: 'client',
        ...clientOf(c),
      })),
    );
    // The history item the use case writes for a first install (change set 1).
    const historyOf = (i: Installation) =>
      store.historyItem(
        { ...i, change: 'installed', at: i.installedAt, recordedAt: NOW, source: 'inventory' },
        historyId(1),
      );
    const installationAt = (k: number) => installationOf(Math.floor(k / PER_CLIENT), k % PER_CLIENT);

    // Warm every path up (JIT in DynamoDB Local and here) on clients outside the measured ranges.
    await loadBulk(ports, warmFrom, warmFrom + warm);
    // The inventory head the use case wrote for a warm-up client: the raw baseline writes one
    // like it (same size) per client.
    const headTemplate = (
      await registry.db.send(
        new GetCommand({
          TableName: registry.tableName,
          Key: { pk: clientPk(clientId(warmFrom)), sk: INVENTORY_SK },
        }),
      )
    ).Item;
    if (!headTemplate) throw new Error('the use case wrote no inventory head');
    // Per client, the items the use case writes: its installations, their history, its head.
    const SAME_PER_CLIENT = 2 * PER_CLIENT + 1;
    const sameItemAt = (k: number) => {
      const c = Math.floor(k / SAME_PER_CLIENT);
      const j = k % SAME_PER_CLIENT;
      if (j === 2 * PER_CLIENT) return { ...headTemplate, pk: clientPk(clientId(c)), clientId: clientId(c) };
      const i = installationOf(c, Math.floor(j / 2));
      return j % 2 === 0 ? store.installationItem(i) : historyOf(i);
    };
    await pool(warm, (c) =>
      reportInventory(ports, ADMIN, clientId(warmFrom + warm + c), reportOf(warmFrom + warm + c)).then(
        () => undefined,
      ),
    );
    await rawLoad(raw, warm * SAME_PER_CLIENT, (k) => {
      const item = sameItemAt(k);
      return { ...item, pk: `WARM#${item.pk}` };
    });

    const total = CLIENTS * PER_CLIENT;
    // The machine is shared: the paths run in alternating slices (ROUNDS of each, in a rotating
    // order) so that whatever else runs meanwhile slows the baselines and the use case alike.
    const spent = { rawInstallations: 0, rawSame: 0, bulk: 0, single: 0 };
    const slice = (n: number, r: number) => [
      Math.floor((n * r) / ROUNDS),
      Math.floor((n * (r + 1)) / ROUNDS),
    ];
    let latency10k = Number.NaN;
    let at10k = 0;
    const paths: Array<[keyof typeof spent, (r: number) => Promise<void>]> = [
      // The bulk use case: every client's full report, MAX_REPORTS_PER_CALL a call.
      ['bulk', (r) => loadBulk(ports, ...(slice(CLIENTS, r) as [number, number]))],
      // Raw BatchWriteItem of the installation items only.
      [
        'rawInstallations',
        (r) => {
          const [from, to] = slice(total, r) as [number, number];
          return rawLoad(raw, to - from, (k) => store.installationItem(installationAt(from + k)));
        },
      ],
      // Raw BatchWriteItem of the same items the use case writes: installations, history, heads.
      [
        'rawSame',
        (r) => {
          const [from, to] = slice(CLIENTS * SAME_PER_CLIENT, r) as [number, number];
          return rawLoad(raw, to - from, (k) => {
            const item = sameItemAt(from + k);
            return { ...item, pk: `SAME#${item.pk}` };
          });
        },
      ],
      // The one-report use case (PUT /clients/{clientId}/software) on SINGLE more clients.
      [
        'single',
        (r) => {
          const [from, to] = slice(SINGLE, r) as [number, number];
          return pool(to - from, (c) =>
            reportInventory(
              ports,
              ADMIN,
              clientId(singleFrom + from + c),
              reportOf(singleFrom + from + c),
            ).then(() => undefined),
          );
        },
      ],
    ];
    for (let r = 0; r < ROUNDS; r++) {
      for (let p = 0; p < paths.length; p++) {
        const [name, load] = paths[(p + r) % paths.length]!;
        const start = performance.now();
        await load(r);
        spent[name] += seconds(start);
        if (r === 0 && name === 'bulk') {
          // "Who has X" with a tenth of the load in (round 0 starts with the bulk path).
          at10k = (CLIENTS / ROUNDS) * PER_CLIENT;
          latency10k = await firstPageLatency(ports);
        }
      }
    }
    const latency100k = await firstPageLatency(ports);
    const atEnd = total + SINGLE * PER_CLIENT;
    const rawInstallationsPerSecond = total / spent.rawInstallations;
    const rawSameItemsPerSecond = (CLIENTS * SAME_PER_CLIENT) / spent.rawSame;
    const rawSameInstallationsPerSecond = total / spent.rawSame;
    const bulkInstallationsPerSecond = total / spent.bulk;
    const bulkItemsPerSecond = (CLIENTS * SAME_PER_CLIENT) / spent.bulk;
    const singleInstallationsPerSecond = (SINGLE * PER_CLIENT) / spent.single;

    // The same one-client reports again: nothing changed, so nothing is written.
    const historyBefore = await store.historyOfClient(clientId(singleFrom), { limit: 100 });
    const start = performance.now();
    await pool(SINGLE, async (c) => {
      const r = await reportInventory(ports, ADMIN, clientId(singleFrom + c), reportOf(singleFrom + c));
      if (r.unchanged !== PER_CLIENT)
        throw new Error(`a repeated report changed something: ${JSON.stringify(r)}`);
    });
    const repeatPerSecond = SINGLE / seconds(start);
    const historyAfter = await store.historyOfClient(clientId(singleFrom), { limit: 100 });
    if (historyAfter.items.length !== historyBefore.items.length)
      throw new Error('a repeated report wrote history');

    for (const c of [0, CLIENTS - 1, singleFrom + SINGLE - 1]) {
      const installed = await store.installationsOfClient(clientId(c));
      const history = await store.historyOfClient(clientId(c), { limit: 100 });
      if (installed.length !== PER_CLIENT || history.items.length !== PER_CLIENT) {
        throw new Error(`the load did not complete for ${clientId(c)}`);
      }
    }
    await registry.drop();
    await raw.drop();
    const ratio = (x: number, y: number) => `${(x / y).toFixed(2)}×`;
    return [
      {
        name: `raw BatchWriteItem: ${total} installation items only`,
        value: rawInstallationsPerSecond,
        unit: 'items/s',
        note: `${spent.rawInstallations.toFixed(1)} s; ${CONCURRENCY} streams of 25-item calls`,
      },
      {
        name: `raw BatchWriteItem: the same ${CLIENTS * SAME_PER_CLIENT} items the use case writes (installations, history, heads)`,
        value: rawSameItemsPerSecond,
        unit: 'items/s',
        note: `${spent.rawSame.toFixed(1)} s; = ${rawSameInstallationsPerSecond.toFixed(0)} installations/s`,
      },
      {
        name: `use case, bulk: ${total} installations on ${CLIENTS} clients`,
        value: bulkItemsPerSecond,
        unit: 'items/s',
        note: `${spent.bulk.toFixed(1)} s; ${bulkInstallationsPerSecond.toFixed(0)} installations/s (+ as many history items + a head per client); ${MAX_REPORTS_PER_CALL} reports a call, ${CONCURRENCY} calls in flight`,
      },
      {
        name: 'use case, bulk / raw of the same items (items/s)',
        value: bulkItemsPerSecond / rawSameItemsPerSecond,
        unit: '×',
        note: 'goal ≥ 0.7×',
      },
      {
        name: 'use case, bulk / raw installations only (installations/s)',
        value: bulkInstallationsPerSecond / rawInstallationsPerSecond,
        unit: '×',
        note: 'for information: the raw load writes no history, the use case must',
      },
      {
        name: `use case, one report a call: ${SINGLE * PER_CLIENT} installations on ${SINGLE} clients`,
        value: (singleInstallationsPerSecond * SAME_PER_CLIENT) / PER_CLIENT,
        unit: 'items/s',
        note: `${spent.single.toFixed(1)} s; ${singleInstallationsPerSecond.toFixed(0)} installations/s; / raw same items ${ratio(singleInstallationsPerSecond, rawSameInstallationsPerSecond)}; / raw installations only ${ratio(singleInstallationsPerSecond, rawInstallationsPerSecond)}`,
      },
      {
        name: `use case, the same ${SINGLE} reports again (nothing written)`,
        value: repeatPerSecond,
        unit: 'reports/s',
        note: `${(repeatPerSecond * PER_CLIENT).toFixed(0)} installations checked/s`,
      },
      {
        name: `who has X, first page of 50, at ${at10k} installations`,
        value: latency10k,
        unit: 'ms',
        note: 'median of 30',
      },
      {
        name: `who has X, first page of 50, at ${atEnd} installations`,
        value: latency100k,
        unit: 'ms',
        note: 'median of 30',
      },
      {
        name: `first-page latency ${atEnd} / ${at10k}`,
        value: latency100k / latency10k,
        unit: '×',
        note: 'goal ≤ 1.5×',
      },
    ];
  } finally {
    await db.stop();
  }
}
