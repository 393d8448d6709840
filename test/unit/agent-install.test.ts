import { execFileSync, spawnSync } from 'node:child_process';
import {
  chmod,
  chown,
  cp,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  rename,
  rm,
  stat,
  truncate,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type ApplyInput, applyPackage, recoverInstalls } from '../../agent/install.js';
import { type InstallManifest, MANIFEST, readInstalled, writeManifest } from '../../agent/install-root.js';
import { verifyTree } from '../../lib/vendor/apply.js';
import { buildDelta } from '../../lib/vendor/delta.js';
import { scanTree } from '../../lib/vendor/package.js';
import { buildFixture, type Fixture, SOFTWARE } from '../fixtures/agent/releases.js';

let fx: Fixture;
let root: string;
const live = () => join(root, SOFTWARE);

const manifest = (revision: number, version: string): InstallManifest => ({
  software: SOFTWARE,
  version,
  revision,
  installedAt: '2025-01-01T00:00:00.000Z',
  user: 'alice',
});

/** The installed tree equals the release (the agent's manifest aside). */
async function expectRelease(files: Fixture['v1']['files']) {
  const problems = (await verifyTree(live(), files)).filter((p) => p.path !== MANIFEST);
  expect(problems).toEqual([]);
}

/** Every file of the installed tree equals the reference tree's, byte for byte, mode for mode. */
async function expectIdentical(reference: string) {
  const want = await scanTree(reference);
  const got = (await scanTree(live())).filter((f) => f.path !== MANIFEST);
  expect(got.map((f) => f.path)).toEqual(want.map((f) => f.path));
  for (const f of want) {
    expect(await readFile(join(live(), f.path))).toEqual(await readFile(join(reference, f.path)));
    expect((await stat(join(live(), f.path))).mode & 0o777).toBe(f.mode);
  }
}

const runApp = () => execFileSync(join(live(), 'bin', 'app'), { encoding: 'utf8' }).trim();

async function installV1() {
  await applyPackage({
    root,
    software: SOFTWARE,
    archive: fx.v1.full,
    kind: 'full',
    fromRevision: null,
    manifest: manifest(1, '1.0.0'),
  });
}

const deltaInput = (): ApplyInput => ({
  root,
  software: SOFTWARE,
  archive: fx.delta,
  kind: 'delta',
  fromRevision: 1,
  manifest: { ...manifest(2, '1.1.0'), updatedAt: '2025-02-01T00:00:00.000Z' },
});

/** Applies in a child process: killed with SIGKILL at `killAt`, or run as another user. */
function applyInChild(input: Omit<ApplyInput, 'hooks'>, killAt?: string, uid?: number) {
  const child = spawnSync(
    process.execPath,
    [
      '--import',
      'tsx',
      'test/fixtures/agent/apply-child.ts',
      JSON.stringify(input),
      ...(killAt ? [killAt] : []),
    ],
    {
      encoding: 'utf8',
      cwd: process.cwd(),
      ...(uid === undefined ? {} : { uid, gid: uid }),
      timeout: 60_000,
    },
  );
  return child;
}

async function staged(): Promise<string[]> {
  return readdir(join(root, '.upman', 'staging')).catch(() => []);
}

beforeAll(async () => {
  fx = await buildFixture();
}, 120_000);
afterAll(async () => {
  await rm(fx.work, { recursive: true, force: true });
});
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'upman-agent-root-'));
  return () => rm(root, { recursive: true, force: true }).then(() => undefined);
});

describe('applyPackage', () => {
  it('installs a full package into <root>/<software>/ with its manifest', async () => {
    await installV1();
    await expectRelease(fx.v1.files);
    expect(runApp()).toBe('demo-app 1.0.0');
    expect(await readInstalled(root, SOFTWARE)).toMatchObject({
      revision: 1,
      version: '1.0.0',
      user: 'alice',
    });
    expect(await staged()).toEqual([]);
    expect((await stat(live())).mode & 0o777).toBe(0o755);
  });

  it('applies a delta: changed and added files written, deleted ones removed, and reports what changed', async () => {
    await installV1();
    const result = await applyPackage(deltaInput());
    await expectRelease(fx.v2.files);
    expect(runApp()).toBe('demo-app 1.1.0');
    expect(result).toEqual({
      added: ['data/extra.bin', 'lib/new.txt'],
      changed: ['bin/app', 'lib/core.txt'],
      deleted: ['docs/old.txt'],
    });
    expect(await readInstalled(root, SOFTWARE)).toMatchObject({ revision: 2, version: '1.1.0' });
    expect(await readdir(join(root, '.upman', 'journals'))).toEqual([]);
  });

  it('installs a full package over an old version, removing files the new one lacks', async () => {
    await installV1();
    const result = await applyPackage({
      ...deltaInput(),
      archive: fx.v2.full,
      kind: 'full',
      fromRevision: null,
    });
    await expectRelease(fx.v2.files);
    expect(result.deleted).toEqual(['docs/old.txt']);
  });

  it('refuses a delta for another revision and leaves the old version as it was', async () => {
    await installV1();
    await expect(applyPackage({ ...deltaInput(), fromRevision: 7 })).rejects.toMatchObject({
      code: 'install-failed',
      message: expect.stringContaining('delta from revision 7'),
    });
    await expectRelease(fx.v1.files);
    expect(await staged()).toEqual([]);
  });

  it('rolls back on a damaged package: the old version stays intact and runnable, a retry succeeds', async () => {
    await installV1();
    const broken = join(fx.work, 'broken.tar.gz');
    await cp(fx.delta, broken);
    await truncate(broken, Math.floor(fx.deltaSize / 2));
    await expect(applyPackage({ ...deltaInput(), archive: broken })).rejects.toMatchObject({
      code: 'install-failed',
    });
    await expectRelease(fx.v1.files);
    expect(runApp()).toBe('demo-app 1.0.0');
    expect(await staged()).toEqual([]);
    await applyPackage(deltaInput());
    await expectRelease(fx.v2.files);
  });

  it('leaves a tree byte-identical to the release after each delta of a chain', async () => {
    // Revision 3: a rename, a mode change, an emptied file and a removed directory.
    const v3dir = join(fx.work, 'v3');
    await cp(fx.v2.dir, v3dir, { recursive: true });
    await rename(join(v3dir, 'data', 'extra.bin'), join(v3dir, 'data', 'extra-2f9c.bin'));
    await chmod(join(v3dir, 'docs', 'readme.txt'), 0o755);
    await writeFile(join(v3dir, 'lib', 'core.txt'), '');
    await rm(join(v3dir, 'lib', 'new.txt'));
    const v3 = { dir: v3dir, files: await scanTree(v3dir) };
    const delta23 = join(fx.work, 'delta-2-3.zdelta');
    const built = await buildDelta(fx.v2, v3, { software: SOFTWARE, from: 2, to: 3 }, delta23);
    expect(built.size).toBeLessThan(4096); // the renamed 768 KiB file is found in revision 2

    await installV1();
    await applyPackage(deltaInput());
    await expectIdentical(fx.v2.dir);
    const result = await applyPackage({
      ...deltaInput(),
      archive: delta23,
      fromRevision: 2,
      manifest: { ...manifest(3, '1.2.0'), updatedAt: '2025-03-01T00:00:00.000Z' },
    });
    await expectIdentical(v3dir);
    expect(result).toEqual({
      added: ['data/extra-2f9c.bin'],
      changed: ['docs/readme.txt', 'lib/core.txt'],
      deleted: ['data/extra.bin', 'lib/new.txt'],
    });
    expect(await staged()).toEqual([]);
  }, 120_000);

  it('refuses a corrupted patch (one flipped byte) and keeps the old version', async () => {
    await installV1();
    const broken = join(fx.work, 'flipped.zdelta');
    const bytes = await readFile(fx.delta);
    bytes[bytes.length - 1000]! ^= 0x40;
    await writeFile(broken, bytes);
    await expect(applyPackage({ ...deltaInput(), archive: broken })).rejects.toMatchObject({
      code: 'install-failed',
      message: expect.stringMatching(/the previous version was kept/),
    });
    await expectRelease(fx.v1.files);
    expect(runApp()).toBe('demo-app 1.0.0');
    expect(await readInstalled(root, SOFTWARE)).toMatchObject({ revision: 1 });
    expect(await staged()).toEqual([]);
  });

  it('refuses a package that would overwrite the agent manifest', async () => {
    const dir = join(fx.work, 'evil');
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, MANIFEST), '{}');
    const { buildFull } = await import('../../lib/vendor/package.js');
    const archive = join(fx.work, 'evil.tar.gz');
    await buildFull(dir, await scanTree(dir), archive);
    await expect(
      applyPackage({ ...deltaInput(), archive, kind: 'full', fromRevision: null }),
    ).rejects.toMatchObject({ message: expect.stringContaining(MANIFEST) });
    expect(await readInstalled(root, SOFTWARE)).toBeUndefined();
  });
});

describe('a process killed during apply', () => {
  it.each([
    ['staged', '1.0.0'],
    ['journaled', '1.0.0'],
    ['backed-up', '1.0.0'],
    ['swapped', '1.1.0'],
  ])('killed at "%s": the next run recovers to %s, and a second try succeeds', async (point, expected) => {
    await installV1();
    const { hooks: _, ...input } = deltaInput();
    const child = applyInChild(input, point);
    expect(child.signal).toBe('SIGKILL');

    const recovered = await recoverInstalls(root);
    if (point === 'staged') expect(recovered).toEqual([]);
    else
      expect(recovered).toEqual([
        { software: SOFTWARE, outcome: expected === '1.0.0' ? 'rolled-back' : 'completed' },
      ]);
    expect(runApp()).toBe(`demo-app ${expected}`);
    await expectRelease(expected === '1.0.0' ? fx.v1.files : fx.v2.files);
    expect(await staged()).toEqual([]);

    if (expected === '1.0.0') await applyPackage(deltaInput());
    await expectRelease(fx.v2.files);
    expect(runApp()).toBe('demo-app 1.1.0');
  });

  it('recovers on the next install too (no separate recovery step needed)', async () => {
    await installV1();
    const { hooks: _, ...input } = deltaInput();
    expect(applyInChild(input, 'backed-up').signal).toBe('SIGKILL');
    await applyPackage(deltaInput());
    await expectRelease(fx.v2.files);
    expect(await staged()).toEqual([]);
  });
});

describe('an unwritable install root', () => {
  it('fails with a clear message, leaves the old version intact and runnable, and a second try succeeds', async () => {
    await installV1();
    await chmod(root, 0o555);
    await chmod(live(), 0o555);
    const { hooks: _, ...input } = deltaInput();
    // Root ignores permissions: then the install runs as "nobody".
    const asRoot = process.getuid?.() === 0;
    if (asRoot) await chmod(fx.work, 0o755);
    const child = applyInChild(input, undefined, asRoot ? 65534 : undefined);
    const answer = JSON.parse(child.stdout) as { ok: boolean; code: string; message: string };
    expect(child.status).toBe(1);
    expect(answer).toMatchObject({ ok: false, code: 'root-unwritable' });
    expect(answer.message).toContain(`${root} is not writable`);
    expect(runApp()).toBe('demo-app 1.0.0');
    await expectRelease(fx.v1.files);

    await chmod(root, 0o755);
    await chmod(live(), 0o755);
    if (asRoot) await chown(root, 0, 0);
    await applyPackage(deltaInput());
    await expectRelease(fx.v2.files);
  });
});

describe('writeManifest', () => {
  it('replaces the manifest atomically', async () => {
    await mkdir(live(), { recursive: true });
    await writeManifest(live(), manifest(3, '3.0.0'));
    expect(JSON.parse(await readFile(join(live(), MANIFEST), 'utf8'))).toMatchObject({ revision: 3 });
    expect(await readdir(live())).toEqual([MANIFEST]);
  });
});
