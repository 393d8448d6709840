// `upman finance …`: finance's side of the workflow (MISSION "accounting server 50").
//   read     messages from the budget queue (S502 batches), purchase orders (S507) and
//            download-completed notices (S604), printed and then deleted (--keep leaves them)
//   batches  the closed batches whose lines still wait for an answer
//   close    close the open budget batch now
//   answer   answer lines of a batch: `upman finance answer <batchId> --all yes` or
//            `--line <lineId>=no:"over budget"` (repeatable)
// Connection: flags, then UPMAN_API_URL / UPMAN_TOKEN and queue URLs from the environment,
// then the local cloud's .local/endpoints.json (a local finance token is minted there).
import { dirname } from 'node:path';
import { DeleteMessageCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { Command } from 'commander';
import { mintToken } from '../../cdk/local/issuer/index.js';
import type { BudgetAnswer, BudgetLine } from '../../lib/workflow/model.js';
import { DEFAULT_ENDPOINTS_FILE, loadEndpoints } from '../vendor/connection.js';

interface Options {
  endpoints?: string;
  api?: string;
  token?: string;
  user: string;
}

const QUEUES = {
  budget: { output: 'BudgetQueueUrl', env: 'UPMAN_BUDGET_QUEUE_URL', title: 'budget batch (S502)' },
  orders: {
    output: 'PurchaseOrderQueueUrl',
    env: 'UPMAN_PURCHASE_ORDER_QUEUE_URL',
    title: 'purchase order (S507)',
  },
  downloads: {
    output: 'DownloadNoticeQueueUrl',
    env: 'UPMAN_DOWNLOAD_NOTICE_QUEUE_URL',
    title: 'download completed (S604)',
  },
} as const;
type QueueName = keyof typeof QUEUES;

async function connection(o: Options) {
  const file = o.endpoints ?? DEFAULT_ENDPOINTS_FILE;
  const local = loadEndpoints(o.endpoints) as
    | (ReturnType<typeof loadEndpoints> & { sqs?: string; jwtIssuer?: string; audience?: string[] })
    | undefined;
  const api = (o.api ?? process.env.UPMAN_API_URL ?? local?.api)?.replace(/\/$/, '');
  if (!api) throw new Error('No API: pass --api, set UPMAN_API_URL, or start the local cloud (npm start)');
  let token = o.token ?? process.env.UPMAN_TOKEN;
  if (!token && local?.jwtIssuer && local.audience) {
    token = await mintToken({
      dataDir: dirname(file),
      issuer: local.jwtIssuer,
      audience: local.audience,
      user: o.user,
      groups: ['finance'],
    });
  }
  if (!token) throw new Error('No token: pass --token or set UPMAN_TOKEN (a JWT with the finance group)');
  const sqs = local?.sqs
    ? new SQSClient({
        endpoint: local.sqs,
        region: local.region ?? 'us-east-1',
        ...(local.credentials ? { credentials: local.credentials } : {}),
      })
    : new SQSClient({});
  const queueUrl = (name: QueueName) =>
    process.env[QUEUES[name].env] ?? local?.outputs?.UpdateManagementStack?.[QUEUES[name].output];
  return { api, token, sqs, queueUrl };
}

async function call(c: { api: string; token: string }, method: string, path: string, body?: unknown) {
  const res = await fetch(`${c.api}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${c.token}`,
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  const parsed = text ? JSON.parse(text) : undefined;
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${parsed?.message ?? text}`);
  return parsed;
}

/** A batch line as GET /budget-batches and the budget queue carry it. */
type Line = Omit<BudgetLine, 'createdAt' | 'batchId' | 'answer'> & {
  answer?: Pick<BudgetAnswer, 'available' | 'note'>;
};

export function formatLines(lines: Line[]): string {
  const rows = lines.map((l) => [
    l.lineId,
    l.requester,
    l.department,
    `${l.software} ${l.version}`,
    String(l.quantity),
    l.unitPrice.toFixed(2),
    l.total.toFixed(2),
    l.answer ? (l.answer.available ? 'yes' : 'no') : '',
  ]);
  const head = ['line', 'requester', 'department', 'software', 'qty', 'unit', 'total', 'answer'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const fmt = (r: string[]) =>
    r
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  const sum = lines.reduce((s, l) => s + l.total, 0);
  return [fmt(head), ...rows.map(fmt), `${lines.length} line(s), total ${sum.toFixed(2)}`].join('\n');
}

function show(name: QueueName, body: any): string {
  if (name === 'budget' && Array.isArray(body.lines)) {
    return `batch ${body.batchId} closed ${body.closedAt}\nanswer: upman finance answer ${body.batchId} --all yes\n${formatLines(body.lines)}`;
  }
  if (name === 'orders') {
    return `order ${body.orderId}: ${body.software} ${body.version} x${body.quantity} = ${Number(body.total).toFixed(2)} for ${body.requester} (${body.department}), approved by ${body.approvedBy}; budget ${body.budgetAvailable ? 'available' : 'NOT available'}`;
  }
  return JSON.stringify(body, null, 2);
}

export function parseLineAnswer(spec: string): { lineId: string; available: boolean; note?: string } {
  const m = /^([A-Za-z0-9_-]+)=(yes|no)(?::(.+))?$/.exec(spec);
  if (!m) throw new Error(`--line must look like <lineId>=yes or <lineId>=no:"a note", got ${spec}`);
  return { lineId: m[1]!, available: m[2] === 'yes', ...(m[3] ? { note: m[3] } : {}) };
}

export function registerFinanceCommands(program: Command): void {
  const finance = program
    .command('finance')
    .description("finance's side: budget batches, purchase orders, download notices")
    .option('--endpoints <file>', `local cloud endpoints (default ${DEFAULT_ENDPOINTS_FILE})`)
    .option('--api <url>', 'API base URL (or UPMAN_API_URL)')
    .option('--token <jwt>', 'a JWT of the finance group (or UPMAN_TOKEN)')
    .option('--user <name>', 'local cloud only: the finance user to mint a token for', 'finance');
  const opts = () => finance.opts<Options>();

  finance
    .command('read')
    .description('print and remove the messages waiting on the finance queues')
    .option('--queue <name>', 'budget | orders | downloads | all', 'all')
    .option('--keep', 'leave the messages on the queue')
    .option('--wait <seconds>', 'long-poll each queue this long', '1')
    .action(async (o: { queue: string; keep?: boolean; wait: string }) => {
      const c = await connection(opts());
      const names = (o.queue === 'all' ? Object.keys(QUEUES) : [o.queue]) as QueueName[];
      for (const name of names) {
        if (!QUEUES[name]) throw new Error(`--queue must be budget, orders, downloads or all, got ${name}`);
        const url = c.queueUrl(name);
        if (!url) throw new Error(`No URL for the ${name} queue (set ${QUEUES[name].env})`);
        let count = 0;
        for (;;) {
          const out = await c.sqs.send(
            new ReceiveMessageCommand({
              QueueUrl: url,
              MaxNumberOfMessages: 10,
              WaitTimeSeconds: Number(o.wait),
              ...(o.keep ? { VisibilityTimeout: 0 } : {}),
            }),
          );
          const messages = out.Messages ?? [];
          if (messages.length === 0) break;
          for (const m of messages) {
            count++;
            console.log(`\n== ${QUEUES[name].title}\n${show(name, JSON.parse(m.Body ?? '{}'))}`);
            if (!o.keep)
              await c.sqs.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: m.ReceiptHandle! }));
          }
          if (o.keep) break;
        }
        console.log(`${name}: ${count} message(s)`);
      }
      c.sqs.destroy();
    });

  finance
    .command('batches')
    .description('closed budget batches whose lines still wait for an answer')
    .option('--status <status>', 'awaiting-answer | answered', 'awaiting-answer')
    .action(async (o: { status: string }) => {
      const c = await connection(opts());
      const out = await call(c, 'GET', `/budget-batches?status=${encodeURIComponent(o.status)}`);
      if (out.items.length === 0) console.log(`No batches ${o.status}.`);
      for (const b of out.items)
        console.log(`\nbatch ${b.batchId} closed ${b.closedAt}\n${formatLines(b.lines)}`);
      c.sqs.destroy();
    });

  finance
    .command('close')
    .description('close the open budget batch now (one message per batch on the budget queue)')
    .action(async () => {
      const c = await connection(opts());
      const out = await call(c, 'POST', '/budget-batches/close');
      if (out.batches.length === 0) console.log('No open lines.');
      for (const b of out.batches) console.log(`closed ${b.batchId}: ${b.lines} line(s)`);
      c.sqs.destroy();
    });

  finance
    .command('answer <batchId>')
    .description('answer lines of a batch (S503); each answer resumes its request')
    .option('--all <yes|no>', 'the same answer for every line still waiting')
    .option('--note <text>', 'a note with --all')
    .option(
      '--line <lineId=yes|no[:note]>',
      'one line (repeatable)',
      (v: string, acc: string[]) => [...acc, v],
      [],
    )
    .action(async (batchId: string, o: { all?: string; note?: string; line: string[] }) => {
      const c = await connection(opts());
      let answers = o.line.map(parseLineAnswer);
      if (o.all) {
        if (o.all !== 'yes' && o.all !== 'no') throw new Error('--all must be yes or no');
        const list = await call(c, 'GET', '/budget-batches?status=awaiting-answer&limit=100');
        const batch = list.items.find((b: { batchId: string }) => b.batchId === batchId);
        if (!batch) throw new Error(`Batch ${batchId} has no line waiting for an answer`);
        answers = batch.lines.map((l: Line) => ({
          lineId: l.lineId,
          available: o.all === 'yes',
          ...(o.note ? { note: o.note } : {}),
        }));
      }
      if (answers.length === 0)
        throw new Error('Nothing to answer: pass --all yes|no or --line <lineId>=yes|no');
      const out = await call(c, 'POST', `/budget-batches/${encodeURIComponent(batchId)}/answers`, {
        answers,
      });
      for (const r of out.results) console.log(`${r.lineId}: ${r.outcome}`);
      c.sqs.destroy();
    });
}
