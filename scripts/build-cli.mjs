// Bundles the `upman` command (cli/main.ts and everything it imports) into dist/cli/upman.mjs
// with esbuild, so a call loads bundled JavaScript instead of transpiling TypeScript (7-18 s
// with tsx). Run at install (`prepare`); bin/upman.mjs runs it again when a source it was built
// from changed (dist/cli/inputs.json lists them), so a developer never runs a stale CLI.
import { mkdir, readFile, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const OUT_DIR = join(ROOT, 'dist', 'cli');

/** Writes a file whole or not at all: concurrent callers never load half a bundle. */
async function writeAtomically(file, contents) {
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, contents);
  await rename(tmp, file);
}

export async function buildCli() {
  await mkdir(OUT_DIR, { recursive: true });
  const { version } = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8'));
  const result = await build({
    entryPoints: { upman: join(ROOT, 'cli', 'main.ts') },
    outdir: OUT_DIR,
    outExtension: { '.js': '.mjs' },
    chunkNames: 'chunk-[hash]', // content-named: rewriting one is harmless to a running CLI
    write: false,
    bundle: true,
    splitting: true, // finance's and vendor's AWS SDK clients load only when those commands run
    platform: 'node',
    target: 'node22',
    format: 'esm',
    metafile: true,
    logLevel: 'warning',
    legalComments: 'none',
    define: { 'process.env.UPMAN_CLI_VERSION': JSON.stringify(version) },
    banner: {
      // Bundled CommonJS dependencies call require(): give the ESM bundle one.
      js: "import { createRequire as __upmanRequire } from 'node:module';\nconst require = __upmanRequire(import.meta.url);",
    },
  });
  // Chunks first, the entry last: the entry never names a chunk that is not there yet.
  const files = [...result.outputFiles].sort(
    (a, b) => Number(basename(a.path) === 'upman.mjs') - Number(basename(b.path) === 'upman.mjs'),
  );
  for (const file of files) await writeAtomically(file.path, file.contents);
  const inputs = Object.keys(result.metafile.inputs)
    .filter((f) => !f.includes('node_modules/'))
    .map((f) => resolve(ROOT, f));
  inputs.push(join(ROOT, 'package.json'), join(ROOT, 'package-lock.json'));
  await writeAtomically(join(OUT_DIR, 'inputs.json'), `${JSON.stringify(inputs)}\n`);
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
  await buildCli();
  await linkBin();
  console.log(`built ${join(OUT_DIR, 'upman.mjs')}; npx upman runs it`);
}
