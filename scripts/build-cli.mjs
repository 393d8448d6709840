// Bundles the project's commands with esbuild, so a call loads bundled JavaScript instead of
// transpiling TypeScript (7-18 s with tsx on a busy machine):
// - `upman` (cli/main.ts and everything it imports) into dist/cli/upman.mjs;
// - `npm start` (cdk/local/main.ts, the local cloud) into dist/local/start.mjs, its packages left
//   in node_modules (emulators that find their own files there).
// Run at install (`prepare`); bin/upman.mjs and bin/start.mjs run it again when a source a bundle
// was built from changed (inputs.json beside it lists them), so nobody runs a stale bundle.
import { copyFile, mkdir, readFile, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** Writes a file whole or not at all: concurrent callers never load half a bundle. */
async function writeAtomically(file, contents) {
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, contents);
  await rename(tmp, file);
}

/**
 * One bundle: `name`.mjs in outDir, with chunks for what its dynamic imports load, and
 * inputs.json (its own sources, plus package.json and the lockfile, and `files` copied beside it).
 */
async function buildBundle({ name, entry, outDir, options = {}, files = [] }) {
  await mkdir(outDir, { recursive: true });
  const result = await build({
    entryPoints: { [name]: entry },
    outdir: outDir,
    outExtension: { '.js': '.mjs' },
    chunkNames: 'chunk-[hash]', // content-named: rewriting one is harmless to a running process
    write: false,
    bundle: true,
    splitting: true,
    platform: 'node',
    target: 'node22',
    format: 'esm',
    metafile: true,
    logLevel: 'warning',
    legalComments: 'none',
    banner: {
      // Bundled CommonJS dependencies call require(): give the ESM bundle one.
      js: `import { createRequire as __upmanRequire } from 'node:module';\nconst require = __upmanRequire(import.meta.url);`,
    },
    ...options,
  });
  for (const file of files) await copyFile(file, join(outDir, basename(file)));
  // Chunks first, the entry last: the entry never names a chunk that is not there yet.
  const entryFile = `${name}.mjs`;
  const outputs = [...result.outputFiles].sort(
    (a, b) => Number(basename(a.path) === entryFile) - Number(basename(b.path) === entryFile),
  );
  for (const file of outputs) await writeAtomically(file.path, file.contents);
  const inputs = Object.keys(result.metafile.inputs)
    .filter((f) => !f.includes('node_modules/'))
    .map((f) => resolve(ROOT, f));
  inputs.push(join(ROOT, 'package.json'), join(ROOT, 'package-lock.json'), ...files);
  await writeAtomically(join(outDir, 'inputs.json'), `${JSON.stringify(inputs)}\n`);
}

export async function buildCli() {
  const { version } = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8'));
  await buildBundle({
    name: 'upman',
    entry: join(ROOT, 'cli', 'main.ts'),
    outDir: join(ROOT, 'dist', 'cli'),
    // finance's and vendor's AWS SDK clients load only when those commands run (chunks)
    options: { define: { 'process.env.UPMAN_CLI_VERSION': JSON.stringify(version) } },
  });
}

export async function buildLocalCloud() {
  await buildBundle({
    name: 'start',
    entry: join(ROOT, 'cdk', 'local', 'main.ts'),
    outDir: join(ROOT, 'dist', 'local'),
    options: { packages: 'external' },
    // The Lambda runtime starts its workers from this file, beside the code that names it.
    files: [join(ROOT, 'cdk', 'local', 'lambda', 'worker.mjs')],
  });
}

/**
 * node_modules/.bin/upman → bin/upman.mjs. npx finds a command there directly, as fast as
 * `npx node`; through package.json's "bin" it would first load the whole dependency tree and
 * link the project into its cache (seconds per call), so the package declares no "bin".
 */
export async function linkBin() {
  const link = join(ROOT, 'node_modules', '.bin', 'upman');
  await mkdir(dirname(link), { recursive: true });
  await rm(link, { force: true });
  await symlink(relative(dirname(link), join(ROOT, 'bin', 'upman.mjs')), link);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await Promise.all([buildCli(), buildLocalCloud()]);
  await linkBin();
  console.log(
    `built ${join('dist', 'cli', 'upman.mjs')} (npx upman runs it) and ${join('dist', 'local', 'start.mjs')} (npm start)`,
  );
}
