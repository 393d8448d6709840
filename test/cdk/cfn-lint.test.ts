// cfn-lint over both templates of the dev synth and of a two-account, two-region prod synth.
// cfn-lint's exit code is a bit set (2 errors, 4 warnings, 8 informational; 1 the tool failed):
// warnings are allowed, errors are not. A machine without cfn-lint fails this test.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { synthApp, TWO_ACCOUNT_PROD } from './synth.js';

function lint(context: Record<string, unknown>) {
  const synth = synthApp(context);
  expect(synth.synthError).toBeUndefined();
  const outdir = synth.app.outdir;
  const files = [synth.management, synth.vendor].map((s) => join(outdir, s.templateFile));
  const result = spawnSync('cfn-lint', ['--format', 'parseable', '--', ...files], { encoding: 'utf8' });
  if (result.error) throw new Error(`cfn-lint is required (pip install cfn-lint): ${result.error.message}`);
  return { status: result.status ?? 1, output: `${result.stdout}${result.stderr}`, files };
}

describe('cfn-lint', () => {
  it.each([
    ['dev', {}],
    ['two-account, two-region prod', TWO_ACCOUNT_PROD],
  ])('finds no error in the %s templates', (_name, context) => {
    const { status, output, files } = lint(context);
    expect(files).toHaveLength(2);
    expect(status & 1, `cfn-lint failed to run:\n${output}`).toBe(0);
    expect(status & 2, `cfn-lint errors:\n${output}`).toBe(0);
  });
});
