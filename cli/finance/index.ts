// `upman finance …`: finance's side of the workflow (MISSION "accounting server 50").
//   read     messages from the budget queue (S502 batches), purchase orders (S507) and
//            download-completed notices (S604), printed and then deleted (--keep leaves them)
//   batches  the closed batches whose lines still wait for an answer
//   close    close the open budget batch now
//   answer   answer lines of a batch: `upman finance answer <batchId> --all yes` or
//            `--line <lineId>=no:"over budget"` (repeatable)
//   budget   `budget set <department> <period> <amount>`, `budget show <department> <period>`:
//            the ledger (a period is a month 2026-12 or a fiscal quarter 2026-Q4)
//   licences the licences owned of a software, per version; `--owned <n> [--version <v>]` sets them
//   report   spend against budget per department for a period, as a table, --json or --csv
// The token is the one `upman login` stored (a person of the finance group), or UPMAN_TOKEN;
// the API is --api, UPMAN_API or the local cloud's; queue URLs come from the environment or the
// local cloud's endpoints file. Every command takes --json and exits by kind (agent/errors.ts).
import type { Command } from 'commander';
import { ApiClient } from '../../agent/api.js';
import { currentToken, describeToken } from '../../agent/auth.js';
import { run } from '../../agent/commands.js';
import { apiUrl, loadEndpoints } from '../../agent/config.js';
import { AgentError } from '../../agent/errors.js';
import type { BudgetAnswer, BudgetLine } from '../../lib/workflow/model.js';
import { parsePeriod } from '../../lib/workflow/periods.js';

interface Options {
  endpoints?: string;
  api?: string;
  token?: string;
  json?: boolean;
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

const LOGIN_HINT = 'log in as a person of the finance group: "upman login --user <name> --groups finance"';

/** The API with the caller's finance token; refuses early (exit 3) when the login lacks the role. */
async function financeApi(o: Options): Promise<ApiClient> {
  const fromFile = o.endpoints ? loadEndpoints(o.endpoints)?.api : undefined;
  const api = apiUrl({ ...((o.api ?? fromFile) ? { api: o.api ?? fromFile } : {}) });
  const token = o.token ? describeToken(o.token, 'flag') : await currentToken();
  if (!token.groups.includes('finance') && !token.groups.includes('admins')) {
    throw new AgentError(
      'forbidden',
      `You are logged in as ${token.user} (${token.groups.join(', ') || 'no groups'}); finance commands need the finance group: ${LOGIN_HINT}`,
    );
  }
  return new ApiClient({ api, token: token.token });
}

async function queues(o: Options) {
  // The SQS client loads only for `finance read` (it is a separate chunk of the CLI bundle).
  const { SQSClient } = await import('@aws-sdk/client-sqs');
  const local = loadEndpoints(o.endpoints);
  const sqs = local?.sqs
    ? new SQSClient({
        endpoint: local.sqs,
        region: local.region ?? 'us-east-1',
        ...(local.credentials ? { credentials: local.credentials } : {}),
      })
    : new SQSClient({});
  const queueUrl = (name: QueueName) =>
    process.env[QUEUES[name].env] ?? local?.outputs?.UpdateManagementStack?.[QUEUES[name].output];
  return { sqs, queueUrl };
}

/** A batch line as GET /budget-batches and the budget queue carry it. */
type Line = Omit<BudgetLine, 'createdAt' | 'batchId' | 'answer'> & {
  answer?: Pick<BudgetAnswer, 'available' | 'note'>;
};

interface Batch {
  batchId: string;
  closedAt: string;
  lines: Line[];
}

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

/** A budget as GET/PUT /budgets answer it. */
export interface BudgetView {
  department: string;
  period: string;
  currency: string;
  amount: number;
  reserved: number;
  committed: number;
  remaining: number;
  automaticAnswers?: boolean;
}

const money = (n: number) => n.toFixed(2);

export function formatBudget(b: BudgetView): string[] {
  return [
    `${b.department} ${b.period}: ${money(b.amount)} ${b.currency}`,
    `  reserved ${money(b.reserved)}, committed ${money(b.committed)}, remaining ${money(b.remaining)}`,
    ...(b.automaticAnswers === undefined
      ? []
      : [`  automatic answers ${b.automaticAnswers ? 'on' : 'off'} (the ledger answers lines it covers)`]),
  ];
}

/** A table of rows under `head`, columns padded to their widest cell. */
function table(head: string[], rows: string[][]): string[] {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  return [head, ...rows].map((r) =>
    r
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd(),
  );
}

export interface Report {
  period: string;
  currency: string;
  departments: Array<Omit<BudgetView, 'automaticAnswers'>>;
}

export function formatReport(r: Report): string[] {
  if (r.departments.length === 0) return [`No budget is set for ${r.period}.`];
  const rows = r.departments.map((d) => [
    d.department,
    money(d.amount),
    money(d.reserved),
    money(d.committed),
    money(d.remaining),
  ]);
  const sum = (k: 'amount' | 'reserved' | 'committed' | 'remaining') =>
    money(r.departments.reduce((n, d) => n + d[k], 0));
  return [
    `Spend against budget, ${r.period} (${r.currency})`,
    ...table(
      ['department', 'amount', 'reserved', 'committed', 'remaining'],
      [...rows, ['total', sum('amount'), sum('reserved'), sum('committed'), sum('remaining')]],
    ),
  ];
}

/** An amount as finance types it: a number of at most two decimals, at least 0. */
export function parseAmount(text: string): number {
  const value = Number(text);
  if (text.trim() === '' || !Number.isFinite(value) || value < 0 || Math.round(value * 100) !== value * 100) {
    throw new AgentError('usage', `amount must be a number from 0 with at most two decimals, got ${text}`);
  }
  return value;
}

/** A period as the API takes it, refused here (exit 2) before any call. */
function periodArg(text: string): string {
  try {
    return parsePeriod(text);
  } catch (error) {
    throw new AgentError('usage', (error as Error).message);
  }
}

export function parseLineAnswer(spec: string): { lineId: string; available: boolean; note?: string } {
  const m = /^([A-Za-z0-9_-]+)=(yes|no)(?::(.+))?$/.exec(spec);
  if (!m)
    throw new AgentError('usage', `--line must look like <lineId>=yes or <lineId>=no:"a note", got ${spec}`);
  return { lineId: m[1]!, available: m[2] === 'yes', ...(m[3] ? { note: m[3] } : {}) };
}

export function registerFinanceCommands(program: Command): void {
  const finance = program
    .command('finance')
    .description("finance's side: budget batches, purchase orders, download notices")
    .option('--endpoints <file>', 'local cloud endpoints (default: the local cloud, see UPMAN_LOCAL_DIR)')
    .option('--api <url>', 'the upman API (env UPMAN_API; default: the local cloud)')
    .option('--token <jwt>', 'a JWT of the finance group (default: UPMAN_TOKEN, then "upman login")')
    .option('--json', 'machine-readable output');
  const json = (c: Command) => c.option('--json', 'machine-readable output');

  json(
    finance
      .command('read')
      .description('print and remove the messages waiting on the finance queues')
      .option('--queue <name>', 'budget | orders | downloads | all', 'all')
      .option('--keep', 'leave the messages on the queue')
      .option('--wait <seconds>', 'long-poll each queue this long', '1'),
  ).action(
    run<Options & { queue: string; keep?: boolean; wait: string }>(async (out, o) => {
      const names = (o.queue === 'all' ? Object.keys(QUEUES) : [o.queue]) as QueueName[];
      for (const name of names) {
        if (!QUEUES[name])
          throw new AgentError('usage', `--queue must be budget, orders, downloads or all, got ${name}`);
      }
      await financeApi(o); // the same login check as the other commands, before reading anything
      const { ReceiveMessageCommand, DeleteMessageCommand } = await import('@aws-sdk/client-sqs');
      const c = await queues(o);
      const found: Record<string, unknown[]> = {};
      const lines: string[] = [];
      try {
        for (const name of names) {
          const url = c.queueUrl(name);
          if (!url) throw new AgentError('usage', `No URL for the ${name} queue: set ${QUEUES[name].env}`);
          found[name] = [];
          for (;;) {
            const received = await c.sqs
              .send(
                new ReceiveMessageCommand({
                  QueueUrl: url,
                  MaxNumberOfMessages: 10,
                  WaitTimeSeconds: Number(o.wait),
                  ...(o.keep ? { VisibilityTimeout: 0 } : {}),
                }),
              )
              .catch((error: Error) => {
                throw new AgentError(
                  'api-unreachable',
                  `Cannot read the ${name} queue (${error.name}: ${error.message}): is the local cloud running (npm start)? Otherwise check your AWS credentials.`,
                );
              });
            const messages = received.Messages ?? [];
            if (messages.length === 0) break;
            for (const m of messages) {
              const body = JSON.parse(m.Body ?? '{}');
              found[name]!.push(body);
              lines.push('', `== ${QUEUES[name].title}`, show(name, body));
              if (!o.keep)
                await c.sqs.send(
                  new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: m.ReceiptHandle! }),
                );
            }
            if (o.keep) break;
          }
          lines.push(`${name}: ${found[name]!.length} message(s)`);
        }
      } finally {
        c.sqs.destroy();
      }
      out.result(found, lines);
    }),
  );

  json(
    finance
      .command('batches')
      .description('closed budget batches whose lines still wait for an answer')
      .option('--status <status>', 'awaiting-answer | answered', 'awaiting-answer'),
  ).action(
    run<Options & { status: string }>(async (out, o) => {
      const api = await financeApi(o);
      const page = await api.call<{ items: Batch[] }>(
        'GET',
        `/budget-batches?status=${encodeURIComponent(o.status)}`,
      );
      out.result(page, [
        ...(page.items.length === 0 ? [`No batches ${o.status}.`] : []),
        ...page.items.flatMap((b) => [
          '',
          `batch ${b.batchId} closed ${b.closedAt}`,
          `answer: upman finance answer ${b.batchId} --all yes`,
          formatLines(b.lines),
        ]),
      ]);
    }),
  );

  json(
    finance
      .command('close')
      .description('close the open budget batch now (one message per batch on the budget queue)'),
  ).action(
    run<Options>(async (out, o) => {
      const api = await financeApi(o);
      const closed = await api.call<{ batches: Array<{ batchId: string; lines: number }> }>(
        'POST',
        '/budget-batches/close',
      );
      out.result(closed, [
        ...(closed.batches.length === 0 ? ['No open lines.'] : []),
        ...closed.batches.map((b) => `closed ${b.batchId}: ${b.lines} line(s)`),
        ...(closed.batches.length > 0 ? ['See them with: upman finance batches'] : []),
      ]);
    }),
  );

  json(
    finance
      .command('answer')
      .description('answer lines of a batch (S503); each answer resumes its request')
      .argument('<batchId>', 'the batch, as "upman finance batches" lists it')
      .option('--all <yes|no>', 'the same answer for every line still waiting')
      .option('--note <text>', 'a note with --all')
      .option(
        '--line <lineId=yes|no[:note]>',
        'one line (repeatable)',
        (v: string, acc: string[]) => [...acc, v],
        [],
      ),
  ).action(
    run<Options & { all?: string; note?: string; line: string[] }>(async (out, o, cmd) => {
      const batchId = cmd.args[0]!;
      let answers = o.line.map(parseLineAnswer);
      if (o.all !== undefined && o.all !== 'yes' && o.all !== 'no')
        throw new AgentError('usage', '--all must be yes or no');
      const api = await financeApi(o);
      if (o.all) {
        const list = await api.call<{ items: Batch[] }>(
          'GET',
          '/budget-batches?status=awaiting-answer&limit=100',
        );
        const batch = list.items.find((b) => b.batchId === batchId);
        if (!batch)
          throw new AgentError(
            'not-found',
            `Batch ${batchId} has no line waiting for an answer: "upman finance batches" lists those that do`,
          );
        answers = batch.lines.map((l) => ({
          lineId: l.lineId,
          available: o.all === 'yes',
          ...(o.note ? { note: o.note } : {}),
        }));
      }
      if (answers.length === 0)
        throw new AgentError('usage', 'Nothing to answer: pass --all yes|no or --line <lineId>=yes|no');
      const answered = await api.call<{ results: Array<{ lineId: string; outcome: string }> }>(
        'POST',
        `/budget-batches/${encodeURIComponent(batchId)}/answers`,
        { answers },
      );
      out.result(
        answered,
        answered.results.map((r) => `${r.lineId}: ${r.outcome}`),
      );
    }),
  );

  const budget = finance.command('budget').description("the ledger: a department's budget for a period");
  json(
    budget
      .command('set')
      .description(
        'set (or lower) a budget: finance only; below what is reserved only stops automatic answers',
      )
      .argument('<department>', 'the department, as clients name it')
      .argument('<period>', 'a month (2026-12) or a fiscal quarter (2026-Q4)')
      .argument('<amount>', "in the organisation's currency, at most two decimals"),
  ).action(
    run<Options>(async (out, o, cmd) => {
      const [department, periodText, amountText] = cmd.args as [string, string, string];
      const period = periodArg(periodText);
      const amount = parseAmount(amountText);
      const api = await financeApi(o);
      const set = await api.call<BudgetView>(
        'PUT',
        `/budgets/${encodeURIComponent(department)}/${encodeURIComponent(period)}`,
        { amount },
      );
      out.result(set, formatBudget(set));
    }),
  );
  json(
    budget
      .command('show')
      .description('a budget: amount, reserved, committed, remaining')
      .argument('<department>', 'the department')
      .argument('<period>', 'a month (2026-12) or a fiscal quarter (2026-Q4)'),
  ).action(
    run<Options>(async (out, o, cmd) => {
      const [department, periodText] = cmd.args as [string, string];
      const period = periodArg(periodText);
      const api = await financeApi(o);
      const shown = await api.call<BudgetView>(
        'GET',
        `/budgets?${new URLSearchParams({ department, period })}`,
      );
      out.result(shown, formatBudget(shown));
    }),
  );

  json(
    finance
      .command('licences')
      .description('the licences the organisation owns of a software, per version (* = any version)')
      .argument('<software>', 'the software, as the catalog names it')
      .option('--owned <n>', 'set how many licences are owned (then shows them)')
      .option('--version <version>', 'with --owned: licences bound to this version (default: any version)'),
  ).action(
    run<Options & { owned?: string; version?: string }>(async (out, o, cmd) => {
      const software = cmd.args[0]!;
      if (o.version !== undefined && o.owned === undefined)
        throw new AgentError('usage', '--version goes with --owned <n>');
      const owned = o.owned === undefined ? undefined : Number(o.owned);
      if (owned !== undefined && (!Number.isInteger(owned) || owned < 0 || o.owned!.trim() === ''))
        throw new AgentError('usage', `--owned must be a whole number from 0, got ${o.owned}`);
      const api = await financeApi(o);
      const path = `/software/${encodeURIComponent(software)}/licences`;
      if (owned !== undefined) {
        await api.call('PUT', path, { owned, ...(o.version ? { version: o.version } : {}) });
      }
      const listed = await api.call<{
        software: string;
        pools: Array<{ version: string; owned: number; taken: number; spare: number }>;
      }>('GET', path);
      out.result(
        listed,
        listed.pools.length === 0
          ? [`No licences of ${listed.software} are recorded as owned.`]
          : [
              `Licences of ${listed.software}`,
              ...table(
                ['version', 'owned', 'taken', 'spare'],
                listed.pools.map((p) => [p.version, String(p.owned), String(p.taken), String(p.spare)]),
              ),
            ],
      );
    }),
  );

  finance
    .command('report')
    .description('spend against budget per department for a period (a table; --json or --csv)')
    .requiredOption('--period <period>', 'a month (2026-12) or a fiscal quarter (2026-Q4)')
    .option('--department <department>', 'only this department')
    .option('--json', 'machine-readable output')
    .option('--csv', 'CSV (RFC 4180) as the API gives it, with a header line')
    .action(
      run<Options & { period: string; department?: string; csv?: boolean }>(async (out, o) => {
        if (o.csv && o.json) throw new AgentError('usage', '--csv and --json exclude each other');
        const period = periodArg(o.period);
        const api = await financeApi(o);
        const query = (format: string) =>
          `/budget-reports?${new URLSearchParams({ period, ...(o.department ? { department: o.department } : {}), format })}`;
        if (o.csv) {
          process.stdout.write(await api.text('GET', query('csv'), 'text/csv'));
          return;
        }
        const report = await api.call<Report>('GET', query('json'));
        out.result(report, formatReport(report));
      }),
    );
}
