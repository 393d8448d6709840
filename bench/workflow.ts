// The update-request workflow in the local cloud: state transitions per approved request
// (from the execution history), and requests per second through the whole workflow with
// automatic answers (finance answers every line, the approver posts every link's form), with
// the count of requests lost (must be 0). N from UPMAN_BENCH_WORKFLOW_N (default 200).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  GetExecutionHistoryCommand,
  type HistoryEvent,
  ListStateMachinesCommand,
  SFNClient,
} from '@aws-sdk/client-sfn';
import { startLocalCloud } from '../cdk/local/cloud.js';
import { SERVICES, type ServiceName } from '../cdk/local/ports.js';
import { WorkflowDriver } from '../scripts/workflow-driver.js';
import type { BenchResult } from './run.js';

const N = Number(process.env.UPMAN_BENCH_WORKFLOW_N ?? 200);
const CONCURRENCY = 16;

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

export async function run(): Promise<BenchResult[]> {
  const root = process.cwd();
  const dataDir = mkdtempSync(join(tmpdir(), 'upman-bench-wf-'));
  const cloud = await startLocalCloud({
    root,
    dataDir,
    assemblyDir: join(root, 'cdk.out'),
    ports: Object.fromEntries(SERVICES.map((s) => [s, 0])) as Record<ServiceName, number>,
    inMemory: true,
  });
  const e = cloud.endpoints;
  const d = new WorkflowDriver(e, dataDir);
  const sfn = new SFNClient({ endpoint: e.sfn, region: e.region, credentials: e.credentials });
  try {
    const run = Date.now().toString(36).slice(-5);
    const software = `bench-${run}`;
    const clientId = `pc-bench-${run}`;
    const users = Array.from({ length: 10 }, (_, i) => `bu${i}-${run}`);
    const boss = `bboss-${run}`;
    await d.setUp({ software, clientId, department: 'Bench', users, approvers: users.map((u) => [u, boss]) });
    // One client per request: a client has one request per software in flight at a time.
    const clients = Array.from({ length: N }, (_, i) => `${clientId}-${i}`);
    await pool(clients, CONCURRENCY, async (pc) => d.addClient(pc, 'Bench', users));

    const started = performance.now();
    const ids: Array<{ user: string; requestId: string }> = [];
    await pool(
      Array.from({ length: N }, (_, i) => i),
      CONCURRENCY,
      async (i) => {
        const user = users[i % users.length]!;
        const sent = await d.submit(
          user,
          { clientId: clients[i]!, software, reason: `bench ${i}` },
          `bench-${run}-${i}-key`,
        );
        if (sent.status !== 202) throw new Error(`submit ${i}: ${sent.status} ${JSON.stringify(sent.body)}`);
        ids.push({ user, requestId: sent.body.requestId });
      },
    );
    const submitted = performance.now();

    // Finance: close once every line is filed, then answer each batch's lines.
    const lineCount = async () => {
      const list = await d.awaitingBatches();
      return (list.body.items ?? []).reduce((n: number, b: { lines: unknown[] }) => n + b.lines.length, 0);
    };
    let answered = 0;
    const deadline = Date.now() + 300_000;
    while (answered < N && Date.now() < deadline) {
      await d.closeNow();
      const list = await d.awaitingBatches();
      for (const b of list.body.items ?? []) {
        const out = await d.answer(
          b.batchId,
          b.lines.map((l: { lineId: string }) => ({ lineId: l.lineId, available: true })),
        );
        answered += out.body.results.filter((r: { outcome: string }) => r.outcome === 'accepted').length;
      }
      if (answered < N && (await lineCount()) === 0) await new Promise((r) => setTimeout(r, 300));
    }

    // The approver: open each mailed link and post its form once.
    const decided = new Set<string>();
    const approved = new Set<string>();
    while (approved.size < N && Date.now() < deadline) {
      const mails = (await d.mailbox()).filter(
        (m) => m.destination.to.includes(`${boss}@upman.example`) && m.subject.includes(software),
      );
      const fresh = mails.filter((m) => !decided.has(m.messageId));
      await pool(fresh, CONCURRENCY, async (m) => {
        decided.add(m.messageId);
        const link = WorkflowDriver.linkOf(m);
        const page = await d.open(link);
        if (page.status === 200) await d.decide(link, page.html, 'approve');
      });
      const employeeMails = (await d.mailbox()).filter((m) => m.subject === `Approved: ${software} 3.1`);
      for (const m of employeeMails) approved.add(m.messageId);
      if (approved.size < N) await new Promise((r) => setTimeout(r, 300));
    }
    const finished = performance.now();

    // Count what reached APPROVED in the registry (the truth; mails are the employee's view).
    let lost = 0;
    await pool(ids, CONCURRENCY, async ({ user, requestId }) => {
      const r = await d.request(user, requestId);
      if (r.status !== 'APPROVED') lost++;
    });
    lost += N - ids.length;

    // Transitions of one approved execution, from its history.
    const machines = await sfn.send(new ListStateMachinesCommand({}));
    const machine = machines.stateMachines!.find((m) => m.name?.startsWith('UpdateRequest'))!;
    const executionArn = `${machine.stateMachineArn!.replace(':stateMachine:', ':execution:')}:${ids[0]!.requestId}`;
    const events: HistoryEvent[] = [];
    let nextToken: string | undefined;
    do {
      const page = await sfn.send(
        new GetExecutionHistoryCommand({ executionArn, ...(nextToken ? { nextToken } : {}) }),
      );
      events.push(...(page.events ?? []));
      nextToken = page.nextToken;
    } while (nextToken);
    const entered = events.filter((ev) => ev.type?.endsWith('StateEntered')).length;

    const seconds = (finished - started) / 1000;
    return [
      {
        name: 'state transitions per approved request',
        value: entered,
        unit: 'transitions',
        note: `${events.length} history events; states entered, as Step Functions bills them`,
      },
      {
        name: `approved requests through the whole workflow (N=${N})`,
        value: N / seconds,
        unit: 'req/s',
        note: `${seconds.toFixed(1)} s end to end, submit ${((submitted - started) / 1000).toFixed(1)} s, ${CONCURRENCY} clients`,
      },
      { name: 'requests lost', value: lost, unit: 'requests', note: 'must be 0' },
    ];
  } finally {
    d.destroy();
    sfn.destroy();
    await cloud.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}
