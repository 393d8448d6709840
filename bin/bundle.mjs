// Runs one of the project's esbuild bundles (scripts/build-cli.mjs, built at install by `npm ci`'s
// prepare step). When a source the bundle was built from is newer than the bundle (a developer
// edited it), it is rebuilt first: a few stat calls decide that, so calls stay fast.
import { readFileSync, statSync } from 'node:fs';

function stale(entry, inputsFile) {
  let built;
  try {
    built = statSync(entry).mtimeMs;
    const inputs = JSON.parse(readFileSync(inputsFile, 'utf8'));
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

/** `dir` is the bundle's folder under dist/, `name` its entry, `builder` the build-cli export. */
export async function runBundle(dir, name, builder) {
  const entry = new URL(`../dist/${dir}/${name}.mjs`, import.meta.url);
  if (stale(entry, new URL(`../dist/${dir}/inputs.json`, import.meta.url))) {
    const build = await import('../scripts/build-cli.mjs');
    await build[builder]();
  }
  await import(entry.href);
}
