// The update-request workflow in a local cloud of its own, with every DynamoDB call counted
// (the cloud's pass-through in front of DynamoDB Local) and the state transitions read from the
// execution history, as Step Functions bills them: per approved request, for `npm run bench --
// workflow` (and the IAM bench) and for the integration test that holds the workflow to its
// budget (test/integration/workflow-cost.test.ts).
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
import { startLocalCloud } from '../cdk/local/cloud.js';
import { SERVICES, type ServiceName } from '../cdk/local/ports.js';
import { documentClient } from '../lib/adapters/dynamodb/client.js';
import { periodsOf } from '../lib/workflow/periods.js';
import { WorkflowDriver } from './workflow-driver.js';

/** Clients submitting at once. */
export const CONCURRENT_CLIENTS = 16;

/** Runs `work` over `items`, `limit` at a time. */
export async function pool<T>(
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
  /** DynamoDB calls of the N requests, in all (divide by `n`). */
  total: number;
  /** Requests driven. */
  n: number;
  byOperation: string[];
  /** Per request, by operation and the kind of the first item it names (`GetItem APPROVAL 1.0`). */
  byItem: string[];
  seconds: number;
  lost: number;
}

/** A local cloud set up for the bench, with `throughWorkflow` to drive N requests to APPROVED. */
export interface WorkflowSession {
  /** Seconds `startLocalCloud` took. */
  startSeconds: number;
  throughWorkflow: (
    label: string,
    department: string,
    viaFinance: boolean,
    size?: { n?: number; concurrency?: number; users?: number },
  ) => Promise<PathFigures>;
  /** Sets a budget in `department` that covers every line of a run. */
  coverEveryLine: (department: string) => Promise<void>;
}

/**
 * Starts a local cloud (in memory, free ports), sets up software, users and an approver, runs
 * `body` and stops the cloud. `enforceIam: false` is the IAM bench's baseline.
 */
export async function withWorkflowSession<T>(
  options: { enforceIam?: boolean; n?: number },
  body: (session: WorkflowSession, extras: SessionExtras) => Promise<T>,
): Promise<T> {
  const root = process.cwd();
  const dataDir = mkdtempSync(join(tmpdir(), 'upman-bench-wf-'));
  const calls = new Map<string, number>();
  const items = new Map<string, number>();
  let counting = false;
  const startedAt = performance.now();
  const cloud = await startLocalCloud({
    root,
    dataDir,
    assemblyDir: join(root, 'cdk.out'),
    ports: Object.fromEntries(SERVICES.map((s) => [s, 0])) as Record<ServiceName, number>,
    inMemory: true,
    ...(options.enforceIam === false ? { enforceIam: false } : {}),
    observeDynamoDb: (operation, body) => {
      if (!counting) return;
      calls.set(operation, (calls.get(operation) ?? 0) + 1);
      // The kind of item: the first key's pk up to its '#' (REQ, CLIENT, APPROVAL, PERSON…).
      const kind = /"pk":\{"S":"([A-Z]+)/.exec(body ?? '')?.[1] ?? '?';
      items.set(`${operation} ${kind}`, (items.get(`${operation} ${kind}`) ?? 0) + 1);
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
      size: { n?: number; concurrency?: number; users?: number } = {},
    ): Promise<PathFigures> => {
      // Requesters take turns; fewer of them: fewer people each container meets for the first time.
      const requesters = users.slice(0, size.users ?? users.length);
      const N = size.n ?? options.n ?? 200;
      const CONCURRENCY = size.concurrency ?? CONCURRENT_CLIENTS;
      // One client per request: a client has one request per software in flight at a time.
      const clients = Array.from({ length: N }, (_, i) => `pc-${label}-${run}-${i}`);
      await pool(clients, CONCURRENCY, async (pc) => d.addClient(pc, department, users));
      calls.clear();
      items.clear();
      counting = true;
      const started = performance.now();
      const ids: Array<{ user: string; requestId: string }> = [];
      await pool(clients, CONCURRENCY, async (pc, i) => {
        const user = requesters[i % requesters.length]!;
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
        n: N,
        byOperation: [...calls].sort((a, b) => b[1] - a[1]).map(([op, n]) => `${op} ${(n / N).toFixed(1)}`),
        byItem: [...items].sort((a, b) => b[1] - a[1]).map(([what, n]) => `${what} ${(n / N).toFixed(1)}`),
        seconds: (finished - started) / 1000,
        lost: N - approved,
      };
    };

    const period = periodsOf(new Date(), 1).month;
    const coverEveryLine = async (department: string) => {
      const set = await d.setBudget(department, period, 1e9);
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

export interface SessionExtras {
  db: ReturnType<typeof documentClient>;
  tableName: string;
  /** A suffix that keeps this run's names apart. */
  run: string;
  period: string;
}
