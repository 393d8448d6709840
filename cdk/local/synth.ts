// Keeps cdk.out in step with the sources: the local cloud reads everything from the
// synthesized templates, so it synthesizes again whenever a source changed. Newer files are only
// a hint: the sources' content hash decides (a checkout or rebase that touches files without
// changing them costs no synth, so a restart stays fast).
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';

const WATCHED = ['cdk', 'functions', 'lib', 'statemachines', 'package-lock.json', 'cdk.json'];

function newestMtime(path: string): number {
  if (!existsSync(path)) return 0;
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  let newest = 0;
  for (const entry of readdirSync(path)) {
    if (entry === 'local' && path.endsWith('cdk')) continue; // the local cloud itself is not in the app
    newest = Math.max(newest, newestMtime(join(path, entry)));
  }
  return newest;
}

/** The stage config overrides (`-c config=…`) an assembly was synthesized with. */
const CONFIG_MARK = 'upman-stage-config.json';
const configMarkOf = (assemblyDir: string) => {
  const file = join(assemblyDir, CONFIG_MARK);
  return existsSync(file) ? readFileSync(file, 'utf8') : '';
};

/** The files the app is built from, as one SHA-256 of their paths and contents. */
export function sourcesHash(root: string): string {
  const hash = createHash('sha256');
  const add = (path: string) => {
    if (!existsSync(path)) return;
    if (statSync(path).isDirectory()) {
      for (const entry of readdirSync(path).sort()) {
        if (entry === 'local' && path.endsWith('cdk')) continue;
        add(join(path, entry));
      }
      return;
    }
    hash
      .update(`${relative(root, path)}\0`)
      .update(readFileSync(path))
      .update('\0');
  };
  for (const p of WATCHED) add(join(root, p));
  return hash.digest('hex');
}

const SOURCES_MARK = 'upman-sources.sha256';

export function assemblyIsFresh(root: string, assemblyDir: string, stageConfig = ''): boolean {
  const manifest = join(assemblyDir, 'manifest.json');
  if (!existsSync(manifest)) return false;
  if (configMarkOf(assemblyDir) !== stageConfig) return false;
  const built = statSync(manifest).mtimeMs;
  if (WATCHED.every((p) => newestMtime(join(root, p)) <= built)) return true;
  const mark = join(assemblyDir, SOURCES_MARK);
  if (!existsSync(mark) || readFileSync(mark, 'utf8') !== sourcesHash(root)) return false;
  // Same content, newer files: the assembly stands; its new time spares the hash next start.
  const now = new Date();
  utimesSync(manifest, now, now);
  return true;
}

/**
 * Synthesizes the app into assemblyDir unless it is already fresh. Returns whether it ran.
 * stageConfig is the JSON of `-c config=…` (e.g. another identity preset); '' for none.
 */
export function ensureAssembly(
  root: string,
  assemblyDir: string,
  log: (line: string) => void,
  stageConfig = '',
): boolean {
  if (assemblyIsFresh(root, assemblyDir, stageConfig)) return false;
  const why = existsSync(join(assemblyDir, 'manifest.json'))
    ? 'sources changed since the last synth'
    : 'first run';
  log(`synthesizing the CDK app (${why}): templates, cdk-nag checks, one esbuild build of every function…`);
  const started = Date.now();
  // The same context the CDK CLI would pass (feature flags from cdk.json).
  const context =
    (JSON.parse(readFileSync(join(root, 'cdk.json'), 'utf8')) as { context?: object }).context ?? {};
  if (stageConfig) Object.assign(context, { config: stageConfig });
  const result = spawnSync(process.execPath, ['--import', 'tsx', join(root, 'cdk', 'app.ts')], {
    cwd: root,
    env: {
      ...process.env,
      CDK_OUTDIR: assemblyDir,
      CDK_CONTEXT_JSON: JSON.stringify(context),
      UPMAN_SYNTH_PROGRESS: '1',
    },
    encoding: 'utf8',
  });
  if (result.status !== 0) {
    throw new Error(`cdk synth failed:\n${result.stdout}\n${result.stderr}`);
  }
  writeFileSync(join(assemblyDir, CONFIG_MARK), stageConfig);
  writeFileSync(join(assemblyDir, SOURCES_MARK), sourcesHash(root));
  for (const line of `${result.stderr}`.split('\n').filter((l) => l.startsWith('[bundles]')))
    log(line.slice(10));
  log(`synthesized in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return true;
}
