// Registry benchmarks (issue 3), against a DynamoDB Local started here (in memory):
// 1. Load 100,000 installations on 10,000 clients through the inventory use case, against raw
//    BatchWriteItem of the same installation items into another table of the same DynamoDB
//    Local in the same run. Goal: use case ≥ 0.7× raw.
// 2. First-page latency of "who has X" (the use case behind GET /software/{name}/installations)
//    when the registry holds 10k and 100k installations. Goal: within 1.5× of each other.
// REGISTRY_BENCH_CLIENTS scales the run down for a quick look (default 10000).
import { createServer } from 'node:net';
import { BatchWriteCommand } from '@aws-sdk/lib-dynamodb';
import { startLocalDynamoDb } from '../cdk/local/dynamodb.js';
import type { DynamoRegistryStore } from '../lib/adapters/dynamodb/registry-store.js';
import { reportInventory } from '../lib/registry/clients.js';
import { createCursorCodec } from '../lib/registry/cursor.js';
import { CLIENT_SK, clientPk } from '../lib/registry/keys.js';
import type { Client, Installation } from '../lib/registry/model.js';
import { putSoftware, whoHas } from '../lib/registry/software.js';
import { scratchRegistry } from '../test/integration/registry-support.js';
import type { BenchResult } from './run.js';

const CLIENTS = Number(process.env.REGISTRY_BENCH_CLIENTS ?? 10_000);
const PER_CLIENT = 10;
const CONCURRENCY = 16;
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

    // Setup (not timed): the catalog and the clients.
    for (const name of SOFTWARE) {
      await putSoftware(ports, ADMIN, name, {
        vendor: 'Bench',
        latestVersion: '3.11',
        latestRevision: 99,
        licencePrice: 10,
        licenceModel: 'per-user',
      });
    }
    await store.batchPut(
      Array.from({ length: CLIENTS }, (_, c) => ({
        pk: clientPk(clientId(c)),
        sk: CLIENT_SK,
        type: 'client',
        ...clientOf(c),
      })),
    );

    // Warm both paths up (JIT in DynamoDB Local and here) on clients outside the measured range.
    const warm = 200;
    await store.batchPut(
      Array.from({ length: warm }, (_, c) => ({
        pk: clientPk(clientId(CLIENTS + c)),
        sk: CLIENT_SK,
        type: 'client',
        ...clientOf(CLIENTS + c),
      })),
    );
    await pool(warm, (c) =>
      reportInventory(ports, ADMIN, clientId(CLIENTS + c), reportOf(CLIENTS + c)).then(() => undefined),
    );
    await pool(Math.ceil((warm * PER_CLIENT) / 25), async (b) => {
      const items = Array.from({ length: 25 }, (_, k) => b * 25 + k)
        .filter((k) => k < warm * PER_CLIENT)
        .map((k) =>
          store.installationItem(installationOf(CLIENTS + Math.floor(k / PER_CLIENT), k % PER_CLIENT)),
        );
      await raw.store.batchPut(items.map((i) => ({ ...i, pk: `WARM#${i.pk}` })));
    });

    // 1a. Raw BatchWriteItem of the same installation items (25 per call, same concurrency).
    const total = CLIENTS * PER_CLIENT;
    const rawStart = performance.now();
    await pool(Math.ceil(total / 25), async (b) => {
      let requests = Array.from({ length: 25 }, (_, k) => b * 25 + k)
        .filter((k) => k < total)
        .map((k) => ({
          PutRequest: {
            Item: store.installationItem(installationOf(Math.floor(k / PER_CLIENT), k % PER_CLIENT)),
          },
        }));
      while (requests.length > 0) {
        const out = await raw.db.send(new BatchWriteCommand({ RequestItems: { [raw.tableName]: requests } }));
        requests = (out.UnprocessedItems?.[raw.tableName] ?? []) as typeof requests;
      }
    });
    const rawSeconds = (performance.now() - rawStart) / 1000;

    // 1a'. Raw BatchWriteItem of everything the use case stores: each installation and its
    // history entry (no transactions, no reads): the cost of the data alone.
    const sameStart = performance.now();
    await pool(Math.ceil((2 * total) / 25), async (b) => {
      let requests = Array.from({ length: 25 }, (_, k) => b * 25 + k)
        .filter((k) => k < 2 * total)
        .map((k) => {
          const i = installationOf(Math.floor(k / 2 / PER_CLIENT), Math.floor(k / 2) % PER_CLIENT);
          const item =
            k % 2 === 0
              ? store.installationItem(i)
              : store.historyItem(
                  { ...i, change: 'installed', at: i.installedAt, recordedAt: NOW, source: 'inventory' },
                  'h',
                );
          return { PutRequest: { Item: { ...item, pk: `SAME#${item.pk}` } } };
        });
      while (requests.length > 0) {
        const out = await raw.db.send(new BatchWriteCommand({ RequestItems: { [raw.tableName]: requests } }));
        requests = (out.UnprocessedItems?.[raw.tableName] ?? []) as typeof requests;
      }
    });
    const sameSeconds = (performance.now() - sameStart) / 1000;

    // 1b. The inventory use case, one full report per client; measure "who has X" at 10k on the way.
    const tenK = Math.min(CLIENTS, 1_000);
    const useStart = performance.now();
    await pool(tenK, (c) => reportInventory(ports, ADMIN, clientId(c), reportOf(c)).then(() => undefined));
    const pausedAt = performance.now();
    const latency10k = await firstPageLatency(ports);
    const resumedAt = performance.now();
    await pool(CLIENTS - tenK, (c) =>
      reportInventory(ports, ADMIN, clientId(tenK + c), reportOf(tenK + c)).then(() => undefined),
    );
    const useSeconds = (performance.now() - useStart - (resumedAt - pausedAt)) / 1000;
    const latency100k = await firstPageLatency(ports);

    const check = await store.installationsOfClient(clientId(CLIENTS - 1));
    if (check.length !== PER_CLIENT) throw new Error('the load did not complete');
    const rawRate = total / rawSeconds;
    const useRate = total / useSeconds;
    await registry.drop();
    await raw.drop();
    return [
      {
        name: `raw BatchWriteItem, ${total} installations`,
        value: rawRate,
        unit: 'items/s',
        note: `${rawSeconds.toFixed(1)} s`,
      },
      {
        name: `inventory use case, ${total} installations on ${CLIENTS} clients`,
        value: useRate,
        unit: 'items/s',
        note: `${useSeconds.toFixed(1)} s; also writes one history entry per installation, in transactions`,
      },
      {
        name: 'inventory use case / raw BatchWriteItem',
        value: useRate / rawRate,
        unit: '×',
        note: 'goal ≥ 0.7×',
      },
      {
        name: 'raw BatchWriteItem of installations + history',
        value: total / sameSeconds,
        unit: 'installations/s',
        note: `${sameSeconds.toFixed(1)} s; use case / this = ${(useRate / (total / sameSeconds)).toFixed(2)}×`,
      },
      {
        name: `who has X, first page of 50, at ${tenK * PER_CLIENT} installations`,
        value: latency10k,
        unit: 'ms',
        note: 'median of 30',
      },
      {
        name: `who has X, first page of 50, at ${total} installations`,
        value: latency100k,
        unit: 'ms',
        note: 'median of 30',
      },
      {
        name: 'first-page latency 100k / 10k',
        value: latency100k / latency10k,
        unit: '×',
        note: 'goal ≤ 1.5×',
      },
    ];
  } finally {
    await db.stop();
  }
}
