// The update-request workflow in the local cloud, per approved request: state transitions (from
// the execution history, as Step Functions bills them), DynamoDB calls (every call the
// functions and the machine make, counted by the local cloud's DynamoDB observer) and requests
// per second through the whole workflow, with the requests lost (must be 0). Two paths, same run:
// the ledger answers (a budget covers every line: the one-step approval path without finance)
// and finance's batch (no budget: finance answers every line, as every request went before the
// ledger). Then ledger reservations per second under contention against plain conditional
// writes of the same items. N from UPMAN_BENCH_WORKFLOW_N (default 200).
import { PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import {
  budgetPk,
  budgetSk,
  DynamoLedgerStore,
  RESERVATION_SK,
} from '../lib/adapters/dynamodb/ledger-store.js';
import { requestPk } from '../lib/registry/keys.js';
import { CONCURRENT_CLIENTS as CONCURRENCY, pool, withWorkflowSession } from '../scripts/workflow-costs.js';
import type { BenchResult } from './run.js';

const N = Number(process.env.UPMAN_BENCH_WORKFLOW_N ?? 200);
/** Reservations in the contention figure, all on one budget item. */
const RESERVATIONS = Number(process.env.UPMAN_BENCH_LEDGER_N ?? 300);

export async function run(): Promise<BenchResult[]> {
  return withWorkflowSession(
    { n: N },
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
