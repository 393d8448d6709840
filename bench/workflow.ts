// The update-request workflow in the local cloud, per approved request: state transitions (from
// the execution history, as Step Functions bills them), DynamoDB calls (every call the
// functions and the machine make, counted by the local cloud's DynamoDB observer) and requests
// per second through the whole workflow, with the requests lost (must be 0). Two paths, same run:
// the ledger answers (a budget covers every line: the one-step approval path without finance)
// and finance's batch (no budget: finance answers every line, as every request went before the
// ledger). Then ledger reservations per second under contention against plain conditional
// writes of the same items. N from UPMAN_BENCH_WORKFLOW_N (default 200).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  GetExecutionHistoryCommand,
  type HistoryEvent,
  ListStateMachinesCommand,
  SFNClient,
} from '@aws-sdk/client-sfn';
import { PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { startLocalCloud } from '../cdk/local/cloud.js';
import { SERVICES, type ServiceName } from '../cdk/local/ports.js';
import { documentClient } from '../lib/adapters/dynamodb/client.js';
import {
  budgetPk,
  budgetSk,
  DynamoLedgerStore,
  RESERVATION_SK,
} from '../lib/adapters/dynamodb/ledger-store.js';
import { requestPk } from '../lib/registry/keys.js';
import { periodsOf } from '../lib/workflow/periods.js';
import { WorkflowDriver } from '../scripts/workflow-driver.js';
import type { BenchResult } from './run.js';

const N = Number(process.env.UPMAN_BENCH_WORKFLOW_N ?? 200);
const CONCURRENCY = 16;
/** Reservations in the contention figure, all on one budget item. */
const RESERVATIONS = Number(process.env.UPMAN_BENCH_LEDGER_N ?? 300);

async function pool<T>(
  items: T[],
  limit: number,
  work: (item: T, i: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        await work(items[i]!, i);
      }
    }),
  );
}

/** What one path through the workflow cost: per approved request, and in all. */
export interface PathFigures {
  transitions: number;
  total: number;
  byOperation: string[];
  seconds: number;
  lost: number;
}

/** A local cloud set up for the bench, with `throughWorkflow` to drive N requests to APPROVED. */
export interface WorkflowSession {
  /** Seconds `startLocalCloud` took. */
  startSeconds: number;
  throughWorkflow: (label: string, department: string, viaFinance: boolean) => Promise<PathFigures>;
  /** Sets a budget in `department` that covers every line of a run. */
  coverEveryLine: (department: string) => Promise<void>;
}

/**
 * Starts a local cloud (in memory, free ports), sets up software, users and an approver, runs
 * `body` and stops the cloud. `enforceIam: false` is the IAM bench's baseline.
 */
export async function withWorkflowSession<T>(
  options: { enforceIam?: boolean },
  body: (session: WorkflowSession, extras: SessionExtras) => Promise<T>,
): Promise<T> {
  const root = process.cwd();
  const dataDir = mkdtempSync(join(tmpdir(), 'upman-bench-wf-'));
  const calls = new Map<string, number>();
  let counting = false;
  const startedAt = performance.now();
  const cloud = await startLocalCloud({
    root,
    dataDir,
    assemblyDir: join(root, 'cdk.out'),
    ports: Object.fromEntries(SERVICES.map((s) => [s, 0])) as Record<ServiceName, number>,
    inMemory: true,
    ...(options.enforceIam === false ? { enforceIam: false } : {}),
    observeDynamoDb: (operation) => {
      if (counting) calls.set(operation, (calls.get(operation) ?? 0) + 1);
    },
  });
  const startSeconds = (performance.now() - startedAt) / 1000;
  const e = cloud.endpoints;
  const d = new WorkflowDriver(e, dataDir);
  const sfn = new SFNClient({ endpoint: e.sfn, region: e.region, credentials: e.credentials });
  const raw = new DynamoDBClient({ endpoint: e.dynamodb, region: e.region, credentials: e.credentials });
  const db = documentClient(raw);
  try {
    const run = Date.now().toString(36).slice(-5);
    const software = `bench-${run}`;
    const users = Array.from({ length: 10 }, (_, i) => `bu${i}-${run}`);
    const boss = `bboss-${run}`;
    await d.setUp({
      software,
      clientId: `pc-bench-${run}`,
      department: 'Bench',
      users,
      approvers: users.map((u) => [u, boss]),
    });
    const machines = await sfn.send(new ListStateMachinesCommand({}));
    const machine = machines.stateMachines!.find((m) => m.name?.startsWith('UpdateRequest'))!;

    /** N requests of `department` from submit to APPROVED; finance answers when `viaFinance`. */
    const throughWorkflow = async (
      label: string,
      department: string,
      viaFinance: boolean,
    ): Promise<PathFigures> => {
      // One client per request: a client has one request per software in flight at a time.
      const clients = Array.from({ length: N }, (_, i) => `pc-${label}-${run}-${i}`);
      await pool(clients, CONCURRENCY, async (pc) => d.addClient(pc, department, users));
      calls.clear();
      counting = true;
      const started = performance.now();
      const ids: Array<{ user: string; requestId: string }> = [];
      await pool(clients, CONCURRENCY, async (pc, i) => {
        const user = users[i % users.length]!;
        const sent = await d.submit(
          user,
          { clientId: pc, software, reason: `bench ${i}` },
          `${label}-${run}-${i}-key`,
        );
        if (sent.status !== 202) throw new Error(`submit ${i}: ${sent.status} ${JSON.stringify(sent.body)}`);
        ids.push({ user, requestId: sent.body.requestId });
      });
      const mine = new Set(ids.map((x) => x.requestId));
      const deadline = Date.now() + 600_000;
      if (viaFinance) {
        let answered = 0;
        while (answered < N && Date.now() < deadline) {
          await d.closeNow();
          const list = await d.awaitingBatches();
          for (const b of list.body.items ?? []) {
            const lines = b.lines.filter((l: { requestId: string }) => mine.has(l.requestId));
            if (lines.length === 0) continue;
            const out = await d.answer(
              b.batchId,
              lines.map((l: { lineId: string }) => ({ lineId: l.lineId, available: true })),
            );
            answered += out.body.results.filter((r: { outcome: string }) => r.outcome === 'accepted').length;
          }
          if (answered < N) await new Promise((r) => setTimeout(r, 300));
        }
      }
      // The approver: open each mailed link and post its form once. Done when the employee's
      // "Approved" mail came for every request (the mailbox is not DynamoDB: nothing counted).
      const decided = new Set<string>();
      const approvedIds = new Set<string>();
      while (approvedIds.size < N && Date.now() < deadline) {
        const box = await d.mailbox();
        const mails = box.filter(
          (m) =>
            m.destination.to.includes(`${boss}@upman.example`) &&
            !decided.has(m.messageId) &&
            [...mine].some((id) => m.body.text?.includes(id)),
        );
        await pool(mails, CONCURRENCY, async (m) => {
          decided.add(m.messageId);
          const link = WorkflowDriver.linkOf(m);
          const page = await d.open(link);
          if (page.status === 200) await d.decide(link, page.html, 'approve');
        });
        for (const m of box) {
          if (!m.subject.startsWith(`Approved: ${software}`)) continue;
          for (const id of mine) if (m.body.text?.includes(id)) approvedIds.add(id);
        }
        if (approvedIds.size < N) await new Promise((r) => setTimeout(r, 300));
      }
      const finished = performance.now();
      counting = false;
      // The truth is the registry: count what reached APPROVED (not counted as the workflow's calls).
      let approved = 0;
      await pool(ids, CONCURRENCY, async ({ user, requestId }) => {
        if ((await d.request(user, requestId)).status === 'APPROVED') approved++;
      });
      // The readers' GETs of the request (the bench's polling) are not the workflow's cost.
      const total = [...calls.values()].reduce((a, b) => a + b, 0);
      const events: HistoryEvent[] = [];
      let nextToken: string | undefined;
      const executionArn = `${machine.stateMachineArn!.replace(':stateMachine:', ':execution:')}:${ids[0]!.requestId}`;
      do {
        const page = await sfn.send(
          new GetExecutionHistoryCommand({ executionArn, ...(nextToken ? { nextToken } : {}) }),
        );
        events.push(...(page.events ?? []));
        nextToken = page.nextToken;
      } while (nextToken);
      return {
        transitions: events.filter((ev) => ev.type?.endsWith('StateEntered')).length,
        total,
        byOperation: [...calls].sort((a, b) => b[1] - a[1]).map(([op, n]) => `${op} ${(n / N).toFixed(1)}`),
        seconds: (finished - started) / 1000,
        lost: N - approved,
      };
    };

    const period = periodsOf(new Date(), 1).month;
    const coverEveryLine = async (department: string) => {
      const set = await d.setBudget(department, period, N * 1000);
      if (set.status !== 200) throw new Error(`budget: ${set.status} ${JSON.stringify(set.body)}`);
    };
    return await body(
      { startSeconds, throughWorkflow, coverEveryLine },
      { db, tableName: e.tables.registry, run, period },
    );
  } finally {
    d.destroy();
    sfn.destroy();
    raw.destroy();
    await cloud.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

interface SessionExtras {
  db: ReturnType<typeof documentClient>;
  tableName: string;
  /** A suffix that keeps this run's names apart. */
  run: string;
  period: string;
}

export async function run(): Promise<BenchResult[]> {
  return withWorkflowSession(
    {},
    async ({ throughWorkflow, coverEveryLine }, { db, tableName, run, period }) => {
      await coverEveryLine('Bench');
      const ledger = await throughWorkflow('ledger', 'Bench', false);
      const finance = await throughWorkflow('finance', 'Bench Finance', true);

      // Ledger reservations under contention: RESERVATIONS on one budget item, 16 at a time,
      // against the same three items written as plain conditional writes (no transaction).
      const store = new DynamoLedgerStore(db, tableName);
      const at = new Date().toISOString();
      await store.setBudget(`Contention ${run}`, period, 1e9, 'bench', at);
      await store.setBudget(`Plain ${run}`, period, 1e9, 'bench', at);
      const items = Array.from({ length: RESERVATIONS }, (_, i) => i);
      const t0 = performance.now();
      await pool(items, CONCURRENCY, async (i) => {
        const r = { requestId: `r-bench-${run}-t${i}`, department: `Contention ${run}`, period, amount: 10 };
        if ((await store.reserve(r, 'bench', at)) !== 'reserved') throw new Error(`reservation ${i} refused`);
      });
      const transactional = RESERVATIONS / ((performance.now() - t0) / 1000);
      const t1 = performance.now();
      await pool(items, CONCURRENCY, async (i) => {
        const requestId = `r-bench-${run}-p${i}`;
        await db.send(
          new UpdateCommand({
            TableName: tableName,
            Key: { pk: budgetPk(`Plain ${run}`), sk: budgetSk(period) },
            UpdateExpression: 'SET reserved = reserved + :c, used = used + :c, remaining = remaining - :c',
            ConditionExpression: 'remaining >= :c',
            ExpressionAttributeValues: { ':c': 10 },
          }),
        );
        await db.send(
          new PutCommand({
            TableName: tableName,
            Item: { pk: requestPk(requestId), sk: RESERVATION_SK, state: 'reserved', amount: 10 },
            ConditionExpression: 'attribute_not_exists(pk)',
          }),
        );
        await db.send(
          new PutCommand({
            TableName: tableName,
            Item: {
              pk: budgetPk(`Plain ${run}`),
              sk: `ENTRY#${period}#${at}#${requestId}#reserve`,
              amount: 10,
            },
            ConditionExpression: 'attribute_not_exists(pk)',
          }),
        );
      });
      const plain = RESERVATIONS / ((performance.now() - t1) / 1000);
      const budget = await store.budgetsOf(`Contention ${run}`, [period]);
      const reserved = budget.budgets.get(period)?.reserved ?? 0;

      const row = (label: string, r: typeof ledger, note: string): BenchResult[] => [
        {
          name: `${label}: state transitions per approved request`,
          value: r.transitions,
          unit: 'transitions',
          note,
        },
        {
          name: `${label}: DynamoDB calls per approved request`,
          value: r.total / N,
          unit: 'calls',
          note: r.byOperation.join(', '),
        },
        {
          name: `${label}: approved requests through the whole workflow (N=${N})`,
          value: N / r.seconds,
          unit: 'req/s',
          note: `${r.seconds.toFixed(1)} s, ${CONCURRENCY} clients; lost ${r.lost} (must be 0)`,
        },
      ];
      return [
        ...row('ledger answers (one-step path)', ledger, 'states entered, as Step Functions bills them'),
        ...row("finance's batch", finance, 'the path every request took before the ledger'),
        {
          name: 'ledger path vs finance path, req/s',
          value: N / ledger.seconds / (N / finance.seconds),
          unit: 'x',
          note: 'same run',
        },
        {
          name: `ledger reservations under contention (one budget item, ${CONCURRENCY} at a time)`,
          value: transactional,
          unit: 'reservations/s',
          note: `${RESERVATIONS} reserved, counter says ${reserved / 10}; one transaction each (budget + reservation + entry)`,
        },
        {
          name: 'plain conditional writes of the same three items, same contention',
          value: plain,
          unit: 'writes/s (sets of 3)',
          note: `ledger ${(transactional / plain).toFixed(2)}x of plain (plain is not atomic: a crash between writes leaks)`,
        },
        { name: 'requests lost', value: ledger.lost + finance.lost, unit: 'requests', note: 'must be 0' },
      ];
    },
  );
}
