// Bundles every Lambda handler in ONE esbuild build (minified, with source maps), the first
// time CDK asks for any of them in a synth. Building the handlers together parses the shared
// code (the AWS SDK, lib/) once instead of once per function: a synth bundles 18 functions in
// a few seconds instead of half a minute, which keeps `npm start` within its 30 s.
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { type BuildOptions, buildSync } from 'esbuild';

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

function build(root: string, entries: string[], dir: string): Map<string, string> {
  buildSync({
    ...BUNDLE_OPTIONS,
    absWorkingDir: root,
    entryPoints: entries.map((entry) => ({ in: entry, out: join(outputName(root, entry), 'index') })),
    outdir: dir,
  });
  return new Map(entries.map((entry) => [entry, join(dir, outputName(root, entry))]));
}

/** Writes the bundle of `entry` into `outputDir` (CDK's local bundling hook). */
export function bundleInto(root: string, entry: string, outputDir: string): void {
  if (!cache) {
    const dir = mkdtempSync(join(tmpdir(), 'upman-bundles-'));
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
    const entries = handlerEntries(root);
    if (!entries.includes(entry)) entries.push(entry);
    const started = Date.now();
    cache = { dir, outputs: build(root, entries, dir) };
    // npm start shows this line as progress (it sets the variable for its synth).
    if (process.env.UPMAN_SYNTH_PROGRESS)
      process.stderr.write(
        `[bundles] bundled ${entries.length} functions in one esbuild build in ${((Date.now() - started) / 1000).toFixed(1)} s\n`,
      );
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
