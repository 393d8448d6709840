// The local cloud's start-up time (cold: synthesized assembly already fresh; DynamoDB Local
// JVM, emulators, provisioning) and each function's bundle size, minified and gzipped.
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { startLocalCloud } from '../cdk/local/cloud.js';
import { SERVICES, type ServiceName } from '../cdk/local/ports.js';
import { ensureAssembly } from '../cdk/local/synth.js';
import { loadAssembly, TemplateResolver } from '../cdk/local/template.js';
import type { BenchResult } from './run.js';

export async function run(): Promise<BenchResult[]> {
  const root = process.cwd();
  const assemblyDir = join(root, 'cdk.out');
  const synthStart = performance.now();
  const synthesized = await ensureAssembly(root, assemblyDir, () => {});
  const synthMs = performance.now() - synthStart;
  const results: BenchResult[] = [];
  if (synthesized) results.push({ name: 'synth (sources changed)', value: synthMs / 1000, unit: 's' });

  const samples: number[] = [];
  for (let i = 0; i < 3; i++) {
    const dataDir = mkdtempSync(join(tmpdir(), 'upman-bench-'));
    const started = performance.now();
    const cloud = await startLocalCloud({
      root,
      dataDir,
      assemblyDir,
      ports: Object.fromEntries(SERVICES.map((s) => [s, 0])) as Record<ServiceName, number>,
    });
    samples.push(performance.now() - started);
    await cloud.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
  samples.sort((a, b) => a - b);
  results.push({
    name: 'local cloud start-up (median of 3)',
    value: samples[1]! / 1000,
    unit: 's',
    note: `min ${(samples[0]! / 1000).toFixed(2)} s, max ${(samples[2]! / 1000).toFixed(2)} s; goal ≤ 30 s`,
  });

  const resolver = new TemplateResolver(loadAssembly(assemblyDir), {
    region: 'us-east-1',
    sqsEndpoint: 'http://127.0.0.1:1',
    apiEndpoint: 'http://127.0.0.1:1',
  });
  for (const { logicalId, resource } of resolver.resourcesOfType('AWS::Lambda::Function')) {
    const key = (resource.Properties?.Code as { S3Key?: string } | undefined)?.S3Key;
    const asset =
      typeof key === 'string' ? join(assemblyDir, `asset.${key.replace(/\.zip$/, '')}`) : undefined;
    if (!asset || !statSync(asset, { throwIfNoEntry: false })?.isDirectory()) continue;
    const file = readdirSync(asset).find((f) => /^index\.(mjs|js)$/.test(f));
    if (!file) continue;
    const code = readFileSync(join(asset, file));
    results.push({
      name: `bundle ${logicalId}`,
      value: code.length / 1024,
      unit: 'KiB',
      note: `gzip ${(gzipSync(code).length / 1024).toFixed(1)} KiB`,
    });
  }
  return results;
}
