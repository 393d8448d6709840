// Binary deltas on real release pairs nobody here wrote: versions of npm packages fetched with
// `npm pack` into a cache outside the repository (~/.cache/upman-bench/npm, or
// UPMAN_BENCH_CACHE), so a second run needs no network. Default pairs: a native binary
// (@esbuild/linux-x64), many small JS files (lodash-es), files added, removed and renamed
// (vite's hashed chunks) and a big patch release (typescript); others with
// UPMAN_BENCH_PAIRS="name@old..new name@old..new".
//
// Per pair, from the same run: the full package (tar + gzip -9), upman's delta, what
// `zstd --patch-from -19 --long` makes of the same uncompressed trees (the bound), xdelta3 if
// installed, and the agent's install time (applyPackage, median of 5 or UPMAN_BENCH_INSTALL_RUNS, alternating) of the delta
// against the full package onto the same installed old revision.
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import * as tar from 'tar';
import { applyPackage } from '../agent/install.js';
import { verifyTree } from '../lib/vendor/apply.js';
import { buildDelta } from '../lib/vendor/delta.js';
import { buildFull, diffFiles, type OpenedRelease, openRelease } from '../lib/vendor/package.js';
import type { BenchResult } from './run.js';

const exec = promisify(execFile);

const DEFAULT_PAIRS = [
  '@esbuild/linux-x64@0.25.0..0.25.1',
  'lodash-es@4.17.20..4.17.21',
  'vite@5.4.10..5.4.11',
  'typescript@5.8.2..5.8.3',
];
/** Installs timed per kind (median); a busy machine wants more (UPMAN_BENCH_INSTALL_RUNS). */
const INSTALL_RUNS = Number(process.env.UPMAN_BENCH_INSTALL_RUNS ?? 5);

const cacheDir = () => process.env.UPMAN_BENCH_CACHE ?? join(homedir(), '.cache', 'upman-bench', 'npm');

async function has(tool: string, arg: string): Promise<boolean> {
  try {
    await exec(tool, [arg]);
    return true;
  } catch {
    return false;
  }
}

/** The npm registry's tarball of name@version, fetched once into the cache. */
async function packed(name: string, version: string): Promise<string> {
  const file = join(cacheDir(), `${name.replace(/^@/, '').replace('/', '-')}-${version}.tgz`);
  if (!existsSync(file)) {
    mkdirSync(cacheDir(), { recursive: true });
    await exec('npm', ['pack', `${name}@${version}`, '--pack-destination', cacheDir(), '--silent'], {
      cwd: cacheDir(),
    });
  }
  if (!existsSync(file)) throw new Error(`npm pack ${name}@${version} did not produce ${file}`);
  return file;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const pct = (part: number, whole: number) => `${((100 * part) / whole).toFixed(2)}% of full`;

async function tarOf(release: OpenedRelease, file: string): Promise<string> {
  await tar.c(
    { cwd: release.dir, file, portable: true },
    release.files.map((f) => f.path),
  );
  return file;
}

/**
 * Median times of installing the full package and the delta, each onto a fresh root holding the
 * old revision (the setup is not timed); the two alternate so a busy machine weighs on both alike.
 */
async function timeInstalls(
  work: string,
  oldFull: string,
  installs: { full: (root: string) => Promise<unknown>; delta: (root: string) => Promise<unknown> },
): Promise<{ full: number; delta: number; deltaRoot: string }> {
  const times = { full: [] as number[], delta: [] as number[] };
  let deltaRoot = '';
  for (let i = 0; i < INSTALL_RUNS; i++) {
    for (const kind of ['full', 'delta'] as const) {
      const root = mkdtempSync(join(work, 'root-'));
      await applyPackage({
        root,
        software: 'bench',
        archive: oldFull,
        kind: 'full',
        fromRevision: null,
        manifest: {
          software: 'bench',
          version: '1.0.1',
          revision: 1,
          installedAt: new Date().toISOString(),
          user: 'bench',
        },
      });
      const t0 = performance.now();
      await installs[kind](root);
      times[kind].push(performance.now() - t0);
      if (kind === 'delta' && i === INSTALL_RUNS - 1) deltaRoot = root;
      else rmSync(root, { recursive: true, force: true });
    }
  }
  return { full: median(times.full), delta: median(times.delta), deltaRoot };
}

async function benchPair(spec: string, tools: { zstd: boolean; xdelta3: boolean }): Promise<BenchResult[]> {
  const m = /^(@?[^@]+)@([^.][^@]*)\.\.(.+)$/.exec(spec);
  if (!m) throw new Error(`a pair looks like name@old..new, not ${spec}`);
  const [, name, oldV, newV] = m as unknown as [string, string, string, string];
  const work = mkdtempSync(join(tmpdir(), 'upman-bench-delta-'));
  const [before, after] = await Promise.all([
    packed(name, oldV).then(openRelease),
    packed(name, newV).then(openRelease),
  ]);
  try {
    const oldFull = join(work, 'old.tar.gz');
    await buildFull(before.dir, before.files, oldFull);
    const fullFile = join(work, 'full.tar.gz');
    const full = await buildFull(after.dir, after.files, fullFile);
    const deltaFile = join(work, 'delta.zdelta');
    const t0 = performance.now();
    const delta = await buildDelta(before, after, { software: 'bench', from: 1, to: 2 }, deltaFile);
    const buildMs = performance.now() - t0;
    const { changed, deleted } = diffFiles(before.files, after.files);
    const pair = `${name} ${oldV}→${newV}`;
    const results: BenchResult[] = [
      {
        name: `${pair}: full package`,
        value: full.size,
        unit: 'B',
        note: `${after.files.length} files; ${changed.length} changed or added, ${deleted.length} removed`,
      },
      { name: `${pair}: upman delta`, value: delta.size, unit: 'B', note: pct(delta.size, full.size) },
      { name: `${pair}: upman delta build`, value: buildMs, unit: 'ms' },
    ];

    let bound: number | undefined;
    if (tools.zstd) {
      const oldTar = await tarOf(before, join(work, 'old.tar'));
      const newTar = await tarOf(after, join(work, 'new.tar'));
      const patch = join(work, 'patch.zst');
      await exec('zstd', ['-q', '-f', '-19', '--long=27', `--patch-from=${oldTar}`, newTar, '-o', patch]);
      bound = statSync(patch).size;
      results.push(
        {
          name: `${pair}: zstd --patch-from -19 --long`,
          value: bound,
          unit: 'B',
          note: pct(bound, full.size),
        },
        {
          name: `${pair}: upman delta / zstd bound`,
          value: delta.size / bound,
          unit: '×',
          note: bound / full.size <= 0.03 ? `goal ≤ 3× and ≤ 10% of full (zstd is ≤ 3% here)` : 'goal ≤ 3×',
        },
      );
      if (tools.xdelta3) {
        const x = join(work, 'patch.xd3');
        await exec('xdelta3', ['-9', '-f', '-e', '-s', oldTar, newTar, x]);
        results.push({
          name: `${pair}: xdelta3 -9`,
          value: statSync(x).size,
          unit: 'B',
          note: pct(statSync(x).size, full.size),
        });
      }
    }

    const manifest = (revision: number) => ({
      software: 'bench',
      version: `1.0.${revision}`,
      revision,
      installedAt: new Date().toISOString(),
      user: 'bench',
    });
    const installs = await timeInstalls(work, oldFull, {
      full: (root) =>
        applyPackage({
          root,
          software: 'bench',
          archive: fullFile,
          kind: 'full',
          fromRevision: null,
          manifest: manifest(2),
        }),
      delta: (root) =>
        applyPackage({
          root,
          software: 'bench',
          archive: deltaFile,
          kind: 'delta',
          fromRevision: 1,
          manifest: manifest(2),
        }),
    });
    // The delta must really produce the new release.
    const problems = (await verifyTree(join(installs.deltaRoot, 'bench'), after.files)).filter(
      (p) => p.path !== '.upman.json',
    );
    if (problems.length > 0)
      throw new Error(`${pair}: the delta install differs: ${JSON.stringify(problems.slice(0, 3))}`);
    results.push(
      {
        name: `${pair}: install, full package`,
        value: installs.full,
        unit: 'ms',
        note: `median of ${INSTALL_RUNS}`,
      },
      {
        name: `${pair}: install, delta`,
        value: installs.delta,
        unit: 'ms',
        note: `median of ${INSTALL_RUNS}`,
      },
      {
        name: `${pair}: delta install / full install`,
        value: installs.delta / installs.full,
        unit: '×',
        note: 'goal ≤ 0.5×',
      },
    );
    return results;
  } finally {
    await before.close();
    await after.close();
    rmSync(work, { recursive: true, force: true });
  }
}

export async function run(): Promise<BenchResult[]> {
  const pairs = process.env.UPMAN_BENCH_PAIRS?.split(/\s+/).filter(Boolean) ?? DEFAULT_PAIRS;
  const tools = { zstd: await has('zstd', '--version'), xdelta3: await has('xdelta3', '-V') };
  if (!tools.zstd) console.log('  zstd is not installed: no bound figure (apt-get install -y zstd)');
  if (!tools.xdelta3)
    console.log('  xdelta3 is not installed: no xdelta3 figure (apt-get install -y xdelta3)');
  const results: BenchResult[] = [];
  for (const pair of pairs) results.push(...(await benchPair(pair, tools)));
  return results;
}
