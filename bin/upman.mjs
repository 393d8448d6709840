#!/usr/bin/env node
// The `upman` command: runs the esbuild bundle of cli/main.ts (dist/cli, built at install by
// `npm ci`'s prepare step). When a source the bundle was built from is newer than the bundle (a
// developer edited it), it is rebuilt first: a few stat calls decide that, so calls stay fast.
import { readFileSync, statSync } from 'node:fs';

const entry = new URL('../dist/cli/upman.mjs', import.meta.url);

function stale() {
  let built;
  try {
    built = statSync(entry).mtimeMs;
    const inputs = JSON.parse(readFileSync(new URL('../dist/cli/inputs.json', import.meta.url), 'utf8'));
    return inputs.some((file) => {
      try {
        return statSync(file).mtimeMs > built;
      } catch {
        return true; // a source was removed or renamed
      }
    });
  } catch {
    return true; // never built
  }
}

if (stale()) {
  const { buildCli } = await import('../scripts/build-cli.mjs');
  await buildCli();
}
await import(entry.href);
