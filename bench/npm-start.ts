// `npm start` as a newcomer meets it: the first start (no assembly and an empty assembly cache:
// synth, bundling, the emulators, provisioning, the demo seed), a restart on the same data, and
// the first start of another clone of the same sources (fresh data and cdk.out; the assembly comes
// from the machine's cache), each the time until "local cloud ready", against `node -e 0` started
// the same way in the same run. Goals: first start ≤ 60 s on this machine even when busy, restart
// ≤ 10 s.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { claimPort, SERVICES } from '../cdk/local/ports.js';
import type { BenchResult } from './run.js';

async function startOnce(dataDir: string, assemblyDir: string, cacheDir: string): Promise<number> {
  const env: NodeJS.ProcessEnv = { ...process.env, UPMAN_CACHE_DIR: cacheDir };
  for (const service of SERVICES)
    env[`UPMAN_PORT_${service.toUpperCase()}`] = String(await claimPort(service, 0));
  const started = performance.now();
  // What `npm start` runs (bin/start.mjs), started directly so Ctrl-C (SIGINT) reaches it.
  const child = spawn(
    process.execPath,
    ['bin/start.mjs', '--data-dir', dataDir, '--assembly-dir', assemblyDir],
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
  const scratch = mkdtempSync(join(tmpdir(), 'upman-bench-start-'));
  const cacheDir = join(scratch, 'cache'); // empty: the first start synthesizes
  const dir = (name: string) => join(scratch, name);
  try {
    const first = await startOnce(dir('data'), dir('cdk.out'), cacheDir);
    const restart = await startOnce(dir('data'), dir('cdk.out'), cacheDir);
    const otherClone = await startOnce(dir('data-2'), dir('cdk.out-2'), cacheDir);
    return [
      { name: 'npx node -e 0 (baseline)', value: baseline / 1000, unit: 's' },
      { name: 'npm start, first (synth, seed)', value: first / 1000, unit: 's', note: 'goal ≤ 60 s' },
      { name: 'npm start, restart', value: restart / 1000, unit: 's', note: 'goal ≤ 10 s' },
      { name: 'npm start, first in a fresh clone (cached assembly)', value: otherClone / 1000, unit: 's' },
      { name: 'first / baseline', value: first / baseline, unit: 'x' },
      { name: 'restart / baseline', value: restart / baseline, unit: 'x' },
    ];
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}
