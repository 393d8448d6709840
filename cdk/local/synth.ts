// Keeps cdk.out in step with the sources: the local cloud reads everything from the
// synthesized templates, so it synthesizes again whenever a source is newer.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

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

export function assemblyIsFresh(root: string, assemblyDir: string, stageConfig = ''): boolean {
  const manifest = join(assemblyDir, 'manifest.json');
  if (!existsSync(manifest)) return false;
  if (configMarkOf(assemblyDir) !== stageConfig) return false;
  const built = statSync(manifest).mtimeMs;
  return WATCHED.every((p) => newestMtime(join(root, p)) <= built);
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
  log(`synthesizing the CDK app (${why})…`);
  // The same context the CDK CLI would pass (feature flags from cdk.json).
  const context =
    (JSON.parse(readFileSync(join(root, 'cdk.json'), 'utf8')) as { context?: object }).context ?? {};
  if (stageConfig) Object.assign(context, { config: stageConfig });
  const result = spawnSync(process.execPath, ['--import', 'tsx', join(root, 'cdk', 'app.ts')], {
    cwd: root,
    env: { ...process.env, CDK_OUTDIR: assemblyDir, CDK_CONTEXT_JSON: JSON.stringify(context) },
    encoding: 'utf8',
  });
  if (result.status !== 0) {
    throw new Error(`cdk synth failed:\n${result.stdout}\n${result.stderr}`);
  }
  writeFileSync(join(assemblyDir, CONFIG_MARK), stageConfig);
  return true;
}
