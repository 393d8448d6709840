// The `upman` command's start-up: `npx upman --version` (the bundle in dist/cli) against
// `npx node -e 0` (npx and Node starting with nothing to do), measured alternately in the same
// run, median of several calls each. The target: within 1 s on a quiet machine.
import { execFileSync } from 'node:child_process';
import type { BenchResult } from './run.js';

const ROUNDS = 7;

function timeOnce(args: string[]): number {
  const started = process.hrtime.bigint();
  execFileSync('npx', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  return Number(process.hrtime.bigint() - started) / 1e6;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export async function run(): Promise<BenchResult[]> {
  timeOnce(['upman', '--version']); // builds the bundle if a source changed since the last build
  const upman: number[] = [];
  const baseline: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    baseline.push(timeOnce(['node', '-e', '0']));
    upman.push(timeOnce(['upman', '--version']));
  }
  const u = median(upman);
  const b = median(baseline);
  return [
    { name: 'npx node -e 0 (baseline)', value: b, unit: 'ms', note: `median of ${ROUNDS}` },
    { name: 'npx upman --version', value: u, unit: 'ms', note: `median of ${ROUNDS}` },
    { name: 'upman --version / baseline', value: u / b, unit: 'x' },
    { name: 'upman --version beyond baseline', value: u - b, unit: 'ms' },
  ];
}
