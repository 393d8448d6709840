// Keeps cdk.out in step with the sources: the local cloud reads everything from the
// synthesized templates, so it synthesizes again whenever a source changed. Newer files are only
// a hint: the sources' content hash decides (a checkout or rebase that touches files without
// changing them costs no synth, so a restart stays fast). Assemblies are also kept by that hash
// in a cache shared by every clone on the machine (~/.cache/upman/assemblies): a fresh clone, a
// worktree or a branch switch back to sources synthesized before copies instead of synthesizing.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { homedir } from 'node:os';
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

/** Where assemblies are kept by content: UPMAN_CACHE_DIR, else the user's cache folder. */
export function assemblyCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.UPMAN_CACHE_DIR) return join(env.UPMAN_CACHE_DIR, 'assemblies');
  return join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'upman', 'assemblies');
}

/** Assemblies kept: enough for a few branches, small enough not to matter (about 40 MB each). */
const CACHE_ENTRIES = 4;

const cacheKey = (sources: string, stageConfig: string) =>
  createHash('sha256').update(`${sources}\0${stageConfig}`).digest('hex');

function markAssembly(assemblyDir: string, sources: string, stageConfig: string): void {
  writeFileSync(join(assemblyDir, CONFIG_MARK), stageConfig);
  writeFileSync(join(assemblyDir, SOURCES_MARK), sources);
}

/** Copies a cached assembly of these sources into assemblyDir; false when there is none. */
function restoreFromCache(cacheDir: string, key: string, assemblyDir: string): boolean {
  const cached = join(cacheDir, key);
  if (!existsSync(join(cached, 'manifest.json'))) return false;
  rmSync(assemblyDir, { recursive: true, force: true });
  cpSync(cached, assemblyDir, { recursive: true });
  const now = new Date();
  utimesSync(cached, now, now); // recently used: pruned last
  return true;
}

/** Keeps a finished assembly; never fails the start (a full disk only costs the next synth). */
function storeInCache(cacheDir: string, key: string, assemblyDir: string, log: (line: string) => void): void {
  const target = join(cacheDir, key);
  const partial = `${target}.${process.pid}.partial`;
  try {
    mkdirSync(cacheDir, { recursive: true });
    cpSync(assemblyDir, partial, { recursive: true });
    if (existsSync(target)) rmSync(partial, { recursive: true, force: true });
    else renameSync(partial, target); // whole or not at all: a reader never sees half an assembly
    const entries = readdirSync(cacheDir)
      .filter((name) => /^[0-9a-f]{64}$/.test(name))
      .map((name) => ({ name, used: statSync(join(cacheDir, name)).mtimeMs }))
      .sort((a, b) => b.used - a.used);
    for (const old of entries.slice(CACHE_ENTRIES))
      rmSync(join(cacheDir, old.name), { recursive: true, force: true });
  } catch (error) {
    rmSync(partial, { recursive: true, force: true });
    log(
      `assembly not cached (${(error as Error).message}); the next start of these sources synthesizes again`,
    );
  }
}

/**
 * Synthesizes the app into assemblyDir unless it is already fresh or cached. Resolves to whether
 * it synthesized. stageConfig is the JSON of `-c config=…` (e.g. another identity preset); '' for
 * none. The synth's own steps (cdk/synth.ts: bundling, loading the CDK, building, checking) are
 * logged as they happen.
 */
export async function ensureAssembly(
  root: string,
  assemblyDir: string,
  log: (line: string) => void,
  stageConfig = '',
  cacheDir = assemblyCacheDir(),
): Promise<boolean> {
  if (assemblyIsFresh(root, assemblyDir, stageConfig)) return false;
  const sources = sourcesHash(root);
  const key = cacheKey(sources, stageConfig);
  if (restoreFromCache(cacheDir, key, assemblyDir)) {
    markAssembly(assemblyDir, sources, stageConfig);
    log(`CDK app: these sources were synthesized before on this machine; assembly copied from ${cacheDir}`);
    return false;
  }
  const why = existsSync(join(assemblyDir, 'manifest.json'))
    ? 'sources changed since the last synth'
    : 'first run';
  log(`synthesizing the CDK app (${why})…`);
  const started = Date.now();
  // The same context the CDK CLI would pass (feature flags from cdk.json).
  const context =
    (JSON.parse(readFileSync(join(root, 'cdk.json'), 'utf8')) as { context?: object }).context ?? {};
  if (stageConfig) Object.assign(context, { config: stageConfig });
  // --liftoff-only: CloudFormation Validate is a large WebAssembly module; optimizing it costs more
  // than it saves in one synth, and the process would wait at exit for those compile jobs.
  const args = ['--liftoff-only', '--import', 'tsx', join(root, 'cdk', 'synth.ts')];
  const child = spawn(process.execPath, args, {
    cwd: root,
    env: {
      ...process.env,
      CDK_OUTDIR: assemblyDir,
      CDK_CONTEXT_JSON: JSON.stringify(context),
      UPMAN_SYNTH_PROGRESS: '1',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  let pending = '';
  child.stdout.on('data', (d: Buffer) => {
    output += d.toString();
  });
  child.stderr.on('data', (d: Buffer) => {
    output += d.toString();
    pending += d.toString();
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) if (line.startsWith('[synth] ')) log(`  ${line.slice(8)}`);
  });
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', resolve);
  });
  if (code !== 0) throw new Error(`cdk synth failed:\n${output}`);
  markAssembly(assemblyDir, sources, stageConfig);
  log(`synthesized in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  storeInCache(cacheDir, key, assemblyDir, log);
  return true;
}
