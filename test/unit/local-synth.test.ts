// The local cloud synthesizes again only when the app's sources changed in content: a checkout
// that only touches files (newer mtimes, same bytes) keeps the assembly, so a restart stays fast.
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { assemblyIsFresh, ensureAssembly, sourcesHash } from '../../cdk/local/synth.js';

let root: string;
const assembly = () => join(root, 'cdk.out');
const later = (path: string, seconds: number) => {
  const t = new Date(Date.now() + seconds * 1000);
  utimesSync(path, t, t);
};

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'upman-synth-'));
  mkdirSync(join(root, 'lib'), { recursive: true });
  mkdirSync(join(root, 'cdk', 'local'), { recursive: true });
  mkdirSync(assembly());
  writeFileSync(join(root, 'lib', 'a.ts'), 'export const a = 1;\n');
  writeFileSync(join(root, 'cdk', 'app.ts'), '// app\n');
  writeFileSync(join(root, 'cdk', 'local', 'main.ts'), '// not in the app\n');
  writeFileSync(join(root, 'cdk.json'), '{}\n');
  writeFileSync(join(assembly(), 'manifest.json'), '{}\n');
  writeFileSync(join(assembly(), 'upman-stage-config.json'), '');
  writeFileSync(join(assembly(), 'upman-sources.sha256'), sourcesHash(root));
  later(join(assembly(), 'manifest.json'), 10);
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

describe('assemblyIsFresh', () => {
  it('keeps an assembly whose sources were touched but not changed', () => {
    expect(assemblyIsFresh(root, assembly())).toBe(true);
    later(join(root, 'lib', 'a.ts'), 60);
    expect(assemblyIsFresh(root, assembly())).toBe(true);
  });

  it('asks for a synth when a source changed in content, whatever its time', () => {
    writeFileSync(join(root, 'lib', 'a.ts'), 'export const a = 2;\n');
    later(join(root, 'lib', 'a.ts'), 60);
    expect(assemblyIsFresh(root, assembly())).toBe(false);
  });

  it('ignores the local cloud itself, and asks for a synth for another stage config', () => {
    writeFileSync(join(root, 'cdk', 'local', 'main.ts'), '// changed\n');
    later(join(root, 'cdk', 'local', 'main.ts'), 60);
    expect(assemblyIsFresh(root, assembly())).toBe(true);
    expect(assemblyIsFresh(root, assembly(), '{"auth":{}}')).toBe(false);
  });
});

describe('ensureAssembly', () => {
  // A stand-in app (cdk/synth.ts) that reports a step and writes a manifest, as the real one does.
  const FAKE_SYNTH = `import { mkdirSync, writeFileSync } from 'node:fs';
process.stderr.write('[synth] bundling 1 function…\\n');
mkdirSync(process.env.CDK_OUTDIR, { recursive: true });
writeFileSync(process.env.CDK_OUTDIR + '/manifest.json', '{"version":"x"}');
process.stderr.write('[synth] templates written and checked\\n');
`;
  let scratch: string;
  // Under the repository, so that the synth's `--import tsx` resolves as in a real clone.
  beforeEach(() => {
    mkdirSync(join(process.cwd(), 'node_modules', '.cache'), { recursive: true });
    scratch = mkdtempSync(join(process.cwd(), 'node_modules', '.cache', 'upman-synth-'));
  });
  afterEach(() => rmSync(scratch, { recursive: true, force: true }));

  const clone = (name: string) => {
    const dir = join(scratch, name);
    mkdirSync(join(dir, 'cdk'), { recursive: true });
    mkdirSync(join(dir, 'lib'), { recursive: true });
    writeFileSync(join(dir, 'cdk', 'synth.ts'), FAKE_SYNTH);
    writeFileSync(join(dir, 'lib', 'a.ts'), 'export const a = 1;\n');
    writeFileSync(join(dir, 'cdk.json'), '{"context":{}}\n');
    return dir;
  };

  it('shows the synth steps as they come, and another clone of the same sources copies the assembly', async () => {
    const cache = join(scratch, 'cache');
    const lines: string[] = [];
    const first = clone('first');
    expect(await ensureAssembly(first, join(first, 'cdk.out'), (l) => lines.push(l), '', cache)).toBe(true);
    expect(lines).toContain('  bundling 1 function…');
    expect(lines).toContain('  templates written and checked');
    expect(readdirSync(cache)).toHaveLength(1);

    const second = clone('second');
    const copied: string[] = [];
    expect(await ensureAssembly(second, join(second, 'cdk.out'), (l) => copied.push(l), '', cache)).toBe(
      false,
    );
    expect(copied.join('\n')).toMatch(/synthesized before on this machine/);
    expect(readFileSync(join(second, 'cdk.out', 'manifest.json'), 'utf8')).toBe('{"version":"x"}');
    expect(assemblyIsFresh(second, join(second, 'cdk.out'))).toBe(true);

    // Other sources, or another stage config, are not taken from the cache.
    writeFileSync(join(second, 'lib', 'a.ts'), 'export const a = 2;\n');
    later(join(second, 'lib', 'a.ts'), 60);
    expect(await ensureAssembly(second, join(second, 'cdk.out'), () => {}, '', cache)).toBe(true);
    expect(await ensureAssembly(second, join(second, 'cdk.out'), () => {}, '{"x":1}', cache)).toBe(true);
    expect(readdirSync(cache)).toHaveLength(3);
  }, 120_000);

  it('reports a failed synth with its output', async () => {
    const dir = clone('broken');
    writeFileSync(join(dir, 'cdk', 'synth.ts'), "throw new Error('AwsSolutions-S1: no access logs');\n");
    await expect(
      ensureAssembly(dir, join(dir, 'cdk.out'), () => {}, '', join(scratch, 'cache')),
    ).rejects.toThrow(/cdk synth failed:[\s\S]*AwsSolutions-S1/);
  }, 120_000);
});
