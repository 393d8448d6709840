// Fuzzing the API's edge with more cases than `npm test` runs (same fixed seed, same
// arbitraries): in process, every write route's schemas; then over HTTP against a fresh local
// cloud, every write route, with the stores fingerprinted around the refused inputs. The
// figures are cases per second and the faults found (5xx, refused inputs that wrote): must be 0.
// Cases per route from UPMAN_BENCH_FUZZ_RUNS (default 2000 in process, a tenth of it over HTTP).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { startLocalCloud } from '../cdk/local/cloud.js';
import { mintToken } from '../cdk/local/issuer/index.js';
import { SERVICES, type ServiceName } from '../cdk/local/ports.js';
import { BadRequest } from '../lib/errors.js';
import type { ApiRequest } from '../lib/http/handler.js';
import { parseInput } from '../lib/http/input.js';
import { fuzzOverHttp, storeFingerprintOf } from '../test/fixtures/http-fuzz.js';
import {
  brokenInputs,
  FUZZ_SEED,
  type FuzzContext,
  WRITE_EXAMPLES,
  WRITE_INPUTS,
} from '../test/fixtures/write-inputs.js';
import type { BenchResult } from './run.js';

const RUNS = Number(process.env.UPMAN_BENCH_FUZZ_RUNS ?? 2000);

function inProcess(context: FuzzContext): { cases: number; faults: number; seconds: number } {
  let cases = 0;
  let faults = 0;
  const started = performance.now();
  for (const [key, example] of Object.entries(WRITE_EXAMPLES)) {
    for (const input of fc.sample(brokenInputs(example(context)), { seed: FUZZ_SEED, numRuns: RUNS })) {
      cases++;
      try {
        parseInput(WRITE_INPUTS[key]!, {
          pathParameters: input.params,
          query: input.query,
          headers: input.headers,
          body: input.body === undefined ? undefined : JSON.parse(JSON.stringify(input.body)),
        } as unknown as ApiRequest);
      } catch (error) {
        if (!(error instanceof BadRequest) || !error.field) faults++;
      }
    }
  }
  return { cases, faults, seconds: (performance.now() - started) / 1000 };
}

export async function run(): Promise<BenchResult[]> {
  const run = Date.now().toString(36).slice(-5);
  const context: FuzzContext = {
    clientId: `bf-pc-${run}`,
    user: `bf-user-${run}`,
    otherUser: `bf-other-${run}`,
    software: `BenchFuzz-${run}`,
    department: `Bench ${run}`,
    requestId: `r-${'B'.repeat(24)}`,
    grantId: `g-${'B'.repeat(16)}`,
    batchId: 'b-20300101T000000-0b0b0b0b',
  };
  const local = inProcess(context);
  const dataDir = mkdtempSync(join(tmpdir(), 'upman-bench-fuzz-'));
  const root = process.cwd();
  const cloud = await startLocalCloud({
    root,
    dataDir,
    assemblyDir: join(root, 'cdk.out'),
    ports: Object.fromEntries(SERVICES.map((s) => [s, 0])) as Record<ServiceName, number>,
    inMemory: true,
  });
  try {
    const e = cloud.endpoints;
    const groups = ['employees', 'approvers', 'finance', 'admins'];
    const token = await mintToken({
      dataDir,
      issuer: e.jwtIssuer,
      audience: e.audience,
      user: context.user,
      groups,
    });
    const send = (method: string, path: string, body: unknown) =>
      fetch(`${e.api}${path}`, {
        method,
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      }).then((r) => r.status);
    await send('POST', '/people/import', {
      people: [context.user, context.otherUser].map((key) => ({ key, email: `${key}@upman.example` })),
    });
    await send('PUT', `/software/${context.software}`, {
      vendor: 'V',
      latestVersion: '1.0',
      latestRevision: 1,
      licencePrice: 1,
      licenceModel: 'per-user',
    });
    await send('PUT', `/clients/${context.clientId}`, {
      name: 'PC',
      ipAddress: '10.9.0.1',
      osRegistrationId: 'OS',
      department: context.department,
      users: [context.user],
    });
    const started = performance.now();
    const report = await fuzzOverHttp({
      api: e.api,
      token,
      context,
      runsPerRoute: Math.max(1, Math.round(RUNS / 10)),
      fingerprint: () => storeFingerprintOf(e),
    });
    const seconds = (performance.now() - started) / 1000;
    for (const fault of report.faults.slice(0, 20)) console.error(`  fault: ${fault}`);
    return [
      {
        name: 'in process: cases',
        value: local.cases,
        unit: 'cases',
        note: `${Object.keys(WRITE_EXAMPLES).length} write routes`,
      },
      { name: 'in process: cases per second', value: local.cases / local.seconds, unit: '/s' },
      {
        name: 'in process: faults',
        value: local.faults,
        unit: 'faults',
        note: 'not a 400 naming a field; must be 0',
      },
      {
        name: 'over HTTP: requests',
        value: report.sent,
        unit: 'requests',
        note: `${report.refusedAtEdge} refused at the edge, ${report.accepted} accepted, ${report.unsendable} unsendable`,
      },
      { name: 'over HTTP: requests per second', value: report.sent / seconds, unit: '/s' },
      {
        name: 'over HTTP: faults',
        value: report.faults.length,
        unit: 'faults',
        note: '5xx or writes from refused input; must be 0',
      },
    ];
  } finally {
    await cloud.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}
