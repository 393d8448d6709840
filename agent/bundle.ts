// Bundles the agent into one file an IT department can ship: `npx tsx agent/bundle.ts [out]`
// writes dist/upman-agent.mjs (default), runnable with any Node >= 20.11: `node upman-agent.mjs`.
import { chmod } from 'node:fs/promises';
import { resolve } from 'node:path';
import { build } from 'esbuild';

const out = resolve(process.argv[2] ?? 'dist/upman-agent.mjs');
const result = await build({
  entryPoints: [resolve(import.meta.dirname, 'main.ts')],
  outfile: out,
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  minify: false,
  legalComments: 'external',
  metafile: true,
  banner: {
    // Some bundled CommonJS dependencies call require(): give the ESM bundle one.
    js: "#!/usr/bin/env node\nimport { createRequire as __upmanRequire } from 'node:module';\nconst require = __upmanRequire(import.meta.url);",
  },
});
await chmod(out, 0o755);
const bytes = Object.values(result.metafile.outputs).reduce((n, o) => n + o.bytes, 0);
console.log(`${out}: ${(bytes / 1024).toFixed(0)} KiB`);
