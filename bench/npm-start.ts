// `npm start` as a newcomer meets it: the first start (no assembly yet: synth, bundling, the
// emulators, provisioning, the demo seed) and a restart on the same data, each the time until
// "local cloud ready", against `node -e 0` started the same way in the same run. Goals (issue):
// first start ≤ 60 s on this machine even when busy, restart ≤ 10 s.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { claimPort, SERVICES } from '../cdk/local/ports.js';
import type { BenchResult } from './run.js';

async function startOnce(dataDir: string, assemblyDir: string): Promise<number> {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const service of SERVICES)
    env[`UPMAN_PORT_${service.toUpperCase()}`] = String(await claimPort(service, 0));
  const started = performance.now();
  // What `npm start` runs (tsx cdk/local/main.ts), started directly so Ctrl-C (SIGINT) reaches it.
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'cdk/local/main.ts', '--data-dir', dataDir, '--assembly-dir', assemblyDir],
    { env, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  const ready = await new Promise<number>((resolve, reject) => {
    const onData = (d: Buffer) => {
      output += d.toString();
      if (output.includes('local cloud ready')) resolve(performance.now() - started);
      if (process.env.UPMAN_BENCH_VERBOSE) process.stderr.write(d);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) => reject(new Error(`npm start exited (${code}):\n${output}`)));
  });
  await new Promise((resolve) => {
    child.once('exit', resolve);
    child.kill('SIGINT');
  });
  return ready;
}

export async function run(): Promise<BenchResult[]> {
  const t = performance.now();
  execFileSync('npx', ['node', '-e', '0']);
  const baseline = performance.now() - t;
  const dataDir = mkdtempSync(join(tmpdir(), 'upman-bench-start-'));
  const assemblyDir = mkdtempSync(join(tmpdir(), 'upman-bench-assembly-'));
  try {
    const first = await startOnce(dataDir, assemblyDir);
    const restart = await startOnce(dataDir, assemblyDir);
    return [
      { name: 'npx node -e 0 (baseline)', value: baseline / 1000, unit: 's' },
      { name: 'npm start, first (synth, seed)', value: first / 1000, unit: 's', note: 'goal ≤ 60 s' },
      { name: 'npm start, restart', value: restart / 1000, unit: 's', note: 'goal ≤ 10 s' },
      { name: 'restart / baseline', value: restart / baseline, unit: 'x' },
    ];
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(assemblyDir, { recursive: true, force: true });
  }
}
