// @cloud-copilot/iam-simulate (AGPL) is a development-only tool of the local cloud: no bundle
// that ships — a Lambda function's (cdk.out, synthesized by the global setup) or the agent's —
// may contain it.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const AGPL_TOOL = /@cloud-copilot\//;
const run = promisify(execFile);

describe('shipped bundles hold no AGPL iam-simulate', () => {
  it("every function bundle's sources (from its source map) leave it out", () => {
    const assembly = join(process.cwd(), 'cdk.out');
    const bundles = readdirSync(assembly)
      .filter((d) => d.startsWith('asset.') && existsSync(join(assembly, d, 'index.mjs')))
      .map((d) => join(assembly, d));
    expect(bundles.length).toBeGreaterThan(10);
    for (const dir of bundles) {
      const map = JSON.parse(readFileSync(join(dir, 'index.mjs.map'), 'utf8')) as { sources: string[] };
      // The map does list the bundled modules (so an absence means something).
      expect(map.sources.some((s) => s.includes('node_modules/'))).toBe(true);
      expect(map.sources.filter((s) => AGPL_TOOL.test(s))).toEqual([]);
    }
  });

  it('the agent bundle leaves it out', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'upman-agent-bundle-')), 'upman-agent.mjs');
    await run(process.execPath, ['--import', 'tsx', 'agent/bundle.ts', out], { timeout: 120_000 });
    const text = readFileSync(out, 'utf8');
    // esbuild names each bundled module in a comment: the absence of one is then meaningful.
    expect(text).toMatch(/\/\/ node_modules\/commander\//);
    expect(text).not.toMatch(AGPL_TOOL);
  });
});
