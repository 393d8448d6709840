// `npm run bench`: runs every benchmark module in bench/ (each exports `run()`), or only the
// ones named on the command line (`npm run bench -- local-cloud registry`). Figures are
// printed as a table; ratios compare against a baseline measured in the same run.
import { readdirSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export interface BenchResult {
  name: string;
  value: number;
  unit: string;
  note?: string;
}

const here = dirname(fileURLToPath(import.meta.url));
const wanted = process.argv.slice(2);
const modules = readdirSync(here)
  .filter((f) => f.endsWith('.ts') && f !== 'run.ts' && !f.startsWith('_'))
  .map((f) => basename(f, '.ts'))
  .filter((name) => wanted.length === 0 || wanted.includes(name))
  .sort();

if (wanted.length > 0 && modules.length !== wanted.length) {
  console.error(`Unknown benchmark: ${wanted.filter((w) => !modules.includes(w)).join(', ')}`);
  process.exit(2);
}

let failed = false;
for (const name of modules) {
  console.log(`\n## ${name}`);
  try {
    const mod = (await import(pathToFileURL(join(here, `${name}.ts`)).href)) as {
      run: () => Promise<BenchResult[]>;
    };
    const results = await mod.run();
    const width = Math.max(...results.map((r) => r.name.length), 10);
    for (const r of results) {
      const value = Number.isInteger(r.value) ? String(r.value) : r.value.toFixed(3);
      console.log(
        `  ${r.name.padEnd(width)}  ${value.padStart(12)} ${r.unit}${r.note ? `   (${r.note})` : ''}`,
      );
    }
  } catch (error) {
    failed = true;
    console.error(`  failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  }
}
process.exit(failed ? 1 : 0);
