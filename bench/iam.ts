// What the local cloud's IAM checks cost: start-up time and approved requests per second on the
// one-step (ledger) path, with every call authorised by iam-simulate against the same with the
// bench-only switch that turns evaluation off (signatures are still verified). Rounds alternate
// on/off, off/on so that a cold first start or a machine that gets busier weighs on both sides.
// N from UPMAN_BENCH_WORKFLOW_N (default 200), rounds per side from UPMAN_BENCH_IAM_ROUNDS (2).

import { withWorkflowSession } from '../scripts/workflow-costs.js';
import type { BenchResult } from './run.js';

const ROUNDS = Number(process.env.UPMAN_BENCH_IAM_ROUNDS ?? 2);
const N = Number(process.env.UPMAN_BENCH_WORKFLOW_N ?? 200);

interface Round {
  startSeconds: number;
  requestsPerSecond: number;
  lost: number;
}

async function round(enforceIam: boolean): Promise<Round> {
  return withWorkflowSession(
    { enforceIam, n: N },
    async ({ startSeconds, throughWorkflow, coverEveryLine }) => {
      await coverEveryLine('Bench');
      const path = await throughWorkflow('iam', 'Bench', false);
      const approved = N - path.lost;
      return { startSeconds, requestsPerSecond: approved / path.seconds, lost: path.lost };
    },
  );
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

export async function run(): Promise<BenchResult[]> {
  const on: Round[] = [];
  const off: Round[] = [];
  // The first cloud of a process starts cold (module loading, JIT): odd rounds go off first.
  for (let i = 0; i < ROUNDS; i++) {
    if (i % 2 === 0) {
      on.push(await round(true));
      off.push(await round(false));
    } else {
      off.push(await round(false));
      on.push(await round(true));
    }
  }
  const startOn = median(on.map((r) => r.startSeconds));
  const startOff = median(off.map((r) => r.startSeconds));
  const rateOn = median(on.map((r) => r.requestsPerSecond));
  const rateOff = median(off.map((r) => r.requestsPerSecond));
  const lost = [...on, ...off].reduce((sum, r) => sum + r.lost, 0);
  return [
    { name: 'start-up, IAM checks on', value: startOn, unit: 's', note: `median of ${ROUNDS}` },
    { name: 'start-up, IAM checks off (baseline)', value: startOff, unit: 's', note: `median of ${ROUNDS}` },
    {
      name: 'start-up, on vs off',
      value: startOff / startOn,
      unit: 'x',
      note: 'speed ratio (off time / on time), same run; goal ≥ 0.8',
    },
    { name: 'one-step path, IAM checks on', value: rateOn, unit: 'req/s', note: `median of ${ROUNDS}` },
    {
      name: 'one-step path, IAM checks off (baseline)',
      value: rateOff,
      unit: 'req/s',
      note: `median of ${ROUNDS}`,
    },
    { name: 'one-step path, on vs off', value: rateOn / rateOff, unit: 'x', note: 'same run; goal ≥ 0.8' },
    { name: 'requests lost', value: lost, unit: 'requests', note: 'must be 0' },
  ];
}
