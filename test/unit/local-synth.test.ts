// The local cloud synthesizes again only when the app's sources changed in content: a checkout
// that only touches files (newer mtimes, same bytes) keeps the assembly, so a restart stays fast.
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { assemblyIsFresh, sourcesHash } from '../../cdk/local/synth.js';

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
