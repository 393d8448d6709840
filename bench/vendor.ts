// The vendor site's delta on a real release pair nobody here wrote: two versions of an npm
// package, fetched with `npm pack` at bench time (default typescript 5.8.2 → 5.8.3; another
// pair with UPMAN_BENCH_PACKAGE=name@old..new). Reports, from the same run: the upman delta
// (changed + added files, tar + gzip -9), the full package built the same way, and what
// `zstd --patch-from` (a binary delta of the whole uncompressed tree) makes of the same pair.
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import * as tar from 'tar';
import { applyDelta, unpackFull, verifyTree } from '../lib/vendor/apply.js';
import { buildDelta, buildFull, diffFiles, openRelease } from '../lib/vendor/package.js';

const exec = promisify(execFile);

interface BenchResult {
  name: string;
  value: number;
  unit: string;
  note?: string;
}

async function hasZstd(): Promise<boolean> {
  try {
    await exec('zstd', ['--version']);
    return true;
  } catch {
    return false;
  }
}

export async function run(): Promise<BenchResult[]> {
  const spec = process.env.UPMAN_BENCH_PACKAGE ?? 'typescript@5.8.2..5.8.3';
  const m = /^(@?[^@]+)@([^.][^@]*)\.\.(.+)$/.exec(spec);
  if (!m) throw new Error(`UPMAN_BENCH_PACKAGE must look like name@old..new, not ${spec}`);
  const [, name, oldV, newV] = m as unknown as [string, string, string, string];
  const work = mkdtempSync(join(tmpdir(), 'upman-bench-vendor-'));
  try {
    await exec(
      'npm',
      ['pack', `${name}@${oldV}`, `${name}@${newV}`, '--pack-destination', work, '--silent'],
      {
        cwd: work,
      },
    );
    const tgz = readdirSync(work).filter((f) => f.endsWith('.tgz'));
    const byVersion = (v: string) => join(work, tgz.find((f) => f.endsWith(`-${v}.tgz`))!);
    const [before, after] = await Promise.all([openRelease(byVersion(oldV)), openRelease(byVersion(newV))]);
    try {
      const t0 = performance.now();
      const full = await buildFull(after.dir, after.files, join(work, 'full.tar.gz'));
      const t1 = performance.now();
      const delta = await buildDelta(
        after.dir,
        { software: name, from: 1, to: 2 },
        before.files,
        after.files,
        join(work, 'delta.tar.gz'),
      );
      const t2 = performance.now();
      const { changed, deleted } = diffFiles(before.files, after.files);

      // The delta must really produce the new release from the old one.
      const installed = join(work, 'installed');
      mkdirSync(installed);
      await unpackFull(await fullOf(before.dir, before.files, join(work, 'old.tar.gz')), installed);
      await applyDelta(join(work, 'delta.tar.gz'), installed);
      const mismatches = (await verifyTree(installed, after.files)).length;
      if (mismatches > 0)
        throw new Error(`the delta did not reproduce ${name}@${newV}: ${mismatches} files differ`);

      const pair = `${name} ${oldV} → ${newV}`;
      const results: BenchResult[] = [
        {
          name: 'full package bytes',
          value: full.size,
          unit: 'B',
          note: `${pair}, ${after.files.length} files, tar+gzip -9`,
        },
        {
          name: 'upman delta bytes',
          value: delta.size,
          unit: 'B',
          note: `${changed.length} changed/added, ${deleted.length} deleted; ${((100 * delta.size) / full.size).toFixed(1)}% of full`,
        },
        {
          name: 'npm tarball bytes',
          value: statSync(byVersion(newV)).size,
          unit: 'B',
          note: 'the registry’s own .tgz, for reference',
        },
        { name: 'full build time', value: t1 - t0, unit: 'ms' },
        { name: 'delta build time', value: t2 - t1, unit: 'ms' },
      ];
      if (await hasZstd()) {
        const oldTar = join(work, 'old.tar');
        const newTar = join(work, 'new.tar');
        await tar.c(
          { cwd: before.dir, file: oldTar, portable: true },
          before.files.map((f) => f.path),
        );
        await tar.c(
          { cwd: after.dir, file: newTar, portable: true },
          after.files.map((f) => f.path),
        );
        const patch = join(work, 'patch.zst');
        const t3 = performance.now();
        await exec('zstd', ['-q', '-19', '--long=27', `--patch-from=${oldTar}`, newTar, '-o', patch]);
        const t4 = performance.now();
        results.push(
          {
            name: 'zstd --patch-from bytes',
            value: statSync(patch).size,
            unit: 'B',
            note: `-19 --long=27 over the uncompressed trees; ${((100 * statSync(patch).size) / full.size).toFixed(1)}% of full`,
          },
          { name: 'zstd --patch-from time', value: t4 - t3, unit: 'ms' },
        );
      } else {
        console.log(
          '  zstd is not installed: skipping the zstd --patch-from figure (install it: apt-get install -y zstd)',
        );
      }
      return results;
    } finally {
      await before.close();
      await after.close();
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

async function fullOf(dir: string, files: Parameters<typeof buildFull>[1], out: string): Promise<string> {
  await buildFull(dir, files, out);
  return out;
}
