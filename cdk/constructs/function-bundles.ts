// Bundles every Lambda handler in ONE esbuild build (minified, with source maps), the first
// time CDK asks for any of them in a synth. Building the handlers together parses the shared
// code (the AWS SDK, lib/) once instead of once per function: a synth bundles 18 functions in
// a few seconds instead of half a minute. cdk/synth.ts starts that build before it loads the CDK
// libraries (prebundle), so esbuild's process works while this one loads aws-cdk-lib.
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { type BuildOptions, build as buildAsync, buildSync } from 'esbuild';

/** The esbuild options of every function (what NodejsFunction would use, ESM for Node 22). */
export const BUNDLE_OPTIONS: BuildOptions = {
  bundle: true,
  platform: 'node',
  target: 'node22',
  format: 'esm',
  minify: true,
  sourcemap: true,
  sourcesContent: false,
  mainFields: ['module', 'main'],
  // The SDK is bundled, not taken from the runtime: versions are pinned by our lockfile, and
  // the local cloud runs the very same bundle.
  external: [],
  banner: { js: "import{createRequire as __cr}from'node:module';const require=__cr(import.meta.url);" },
  outExtension: { '.js': '.mjs' },
  logLevel: 'warning',
  legalComments: 'none',
};

const HANDLER_EXPORT = /export\s+(const|let|async\s+function|function)\s+handler\b/;

/** Every handler module under functions/ (a file that exports `handler`). */
export function handlerEntries(root: string): string[] {
  const found: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (
        entry.name.endsWith('.ts') &&
        !entry.name.endsWith('.d.ts') &&
        HANDLER_EXPORT.test(readFileSync(path, 'utf8'))
      )
        found.push(path);
    }
  };
  walk(join(root, 'functions'));
  return found.sort();
}

interface BundleCache {
  dir: string;
  /** Absolute entry path → its output folder (index.mjs + index.mjs.map). */
  outputs: Map<string, string>;
}

let cache: BundleCache | undefined;

function outputName(root: string, entry: string): string {
  return relative(root, entry).replace(/\.ts$/, '');
}

/**
 * The browser scripts the functions serve inline (web/), each built for the browser and handed
 * to the function bundles as a string constant (UPMAN_APPROVAL_PAGE_SCRIPT).
 */
export function pageScripts(root: string): Record<string, string> {
  const out = buildSync({
    absWorkingDir: root,
    entryPoints: [join(root, 'web', 'approval-page.ts')],
    bundle: true,
    platform: 'browser',
    format: 'iife',
    target: 'es2020',
    minify: true,
    write: false,
    legalComments: 'none',
    logLevel: 'warning',
  });
  return { UPMAN_APPROVAL_PAGE_SCRIPT: JSON.stringify(out.outputFiles[0]!.text.trim()) };
}

function buildOptions(root: string, entries: string[], dir: string): BuildOptions {
  return {
    ...BUNDLE_OPTIONS,
    define: pageScripts(root),
    absWorkingDir: root,
    entryPoints: entries.map((entry) => ({ in: entry, out: join(outputName(root, entry), 'index') })),
    outdir: dir,
  };
}

const outputsOf = (root: string, entries: string[], dir: string) =>
  new Map(entries.map((entry) => [entry, join(dir, outputName(root, entry))]));

function build(root: string, entries: string[], dir: string): Map<string, string> {
  buildSync(buildOptions(root, entries, dir));
  return outputsOf(root, entries, dir);
}

function bundleDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'upman-bundles-'));
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** npm start shows these lines as progress (it sets the variable for its synth). */
export function synthProgress(line: string): void {
  if (process.env.UPMAN_SYNTH_PROGRESS) process.stderr.write(`[synth] ${line}\n`);
}

const bundledLine = (count: number, started: number) =>
  `bundled ${count} functions in one esbuild build in ${((Date.now() - started) / 1000).toFixed(1)} s`;

/**
 * Starts the one build of every handler under functions/ and resolves when it is done; the
 * bundling hook then copies from it. Called before the CDK libraries load: esbuild runs in its
 * own process meanwhile.
 */
export async function prebundle(root: string): Promise<void> {
  const dir = bundleDir();
  const entries = handlerEntries(root);
  const started = Date.now();
  synthProgress(`bundling ${entries.length} functions in one esbuild build…`);
  await buildAsync(buildOptions(root, entries, dir));
  cache = { dir, outputs: outputsOf(root, entries, dir) };
  synthProgress(bundledLine(entries.length, started));
}

/** Writes the bundle of `entry` into `outputDir` (CDK's local bundling hook). */
export function bundleInto(root: string, entry: string, outputDir: string): void {
  if (!cache) {
    const dir = bundleDir();
    const entries = handlerEntries(root);
    if (!entries.includes(entry)) entries.push(entry);
    const started = Date.now();
    cache = { dir, outputs: build(root, entries, dir) };
    synthProgress(bundledLine(entries.length, started));
  }
  let folder = cache.outputs.get(entry);
  if (!folder) {
    // A handler outside functions/: build it on its own.
    folder = build(root, [entry], cache.dir).get(entry)!;
    cache.outputs.set(entry, folder);
  }
  mkdirSync(outputDir, { recursive: true });
  for (const file of ['index.mjs', 'index.mjs.map']) {
    const from = join(folder, file);
    if (existsSync(from)) copyFileSync(from, join(outputDir, file));
  }
}
