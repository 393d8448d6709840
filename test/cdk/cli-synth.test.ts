// `npx cdk synth` must work offline with the CLI this project pins (package.json devDependencies),
// and with cdk-nag on: it is the path a newcomer and a deploy take, not only the in-process App.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

describe('npx cdk synth', () => {
  it('synthesizes both stacks with the pinned CLI and no network', { timeout: 300_000 }, () => {
    const out = mkdtempSync(join(tmpdir(), 'upman-cli-synth-'));
    try {
      const require = createRequire(import.meta.url);
      const pinned = (
        JSON.parse(readFileSync('package.json', 'utf8')) as { devDependencies: Record<string, string> }
      ).devDependencies['aws-cdk'];
      const cliVersion = (require('aws-cdk/package.json') as { version: string }).version;
      expect(cliVersion).toBe(pinned);
      const result = spawnSync('npx', ['--no-install', 'cdk', 'synth', '-q', '-o', out], {
        encoding: 'utf8',
        // The CLI would otherwise ask the registry for a newer version of itself.
        env: { ...process.env, CDK_DISABLE_VERSION_CHECK: '1', CI: 'true' },
      });
      expect(result.status, result.stderr).toBe(0);
      for (const stack of ['UpdateManagementStack', 'VendorSiteStack']) {
        expect(existsSync(join(out, `${stack}.template.json`)), stack).toBe(true);
      }
      // Every function gets its own bundle (no two functions of this app share a handler): CDK
      // caches staged assets by folder, so a bundling bug would hand one handler to several.
      const template = JSON.parse(readFileSync(join(out, 'UpdateManagementStack.template.json'), 'utf8')) as {
        Resources: Record<string, { Type: string; Properties: { Code?: { S3Key?: string } } }>;
      };
      const keys = Object.values(template.Resources)
        .filter((r) => r.Type === 'AWS::Lambda::Function' && r.Properties.Code?.S3Key)
        .map((r) => r.Properties.Code!.S3Key!);
      expect(keys.length).toBeGreaterThan(10);
      expect(new Set(keys).size).toBe(keys.length);
      for (const key of keys) {
        const bundle = readFileSync(join(out, `asset.${key.replace(/\.zip$/, '')}`, 'index.mjs'), 'utf8');
        expect(bundle).toMatch(/export\s*\{[^}]*as handler/);
      }
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});
