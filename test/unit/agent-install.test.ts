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
  symlink,
  truncate,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import * as tar from 'tar';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type ApplyInput, applyPackage, recoverInstalls } from '../../agent/install.js';
import { type InstallManifest, MANIFEST, readInstalled, writeManifest } from '../../agent/install-root.js';
import { applyDelta, verifyTree } from '../../lib/vendor/apply.js';
import { buildDelta } from '../../lib/vendor/delta.js';
import { openRelease, scanTree } from '../../lib/vendor/package.js';
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

describe('never outside the root', () => {
  /** A delta from revision 1 that removes docs/old.txt and adds docs/new.txt. */
  async function docsDelta(): Promise<string> {
    const next = join(fx.work, 'docs-next');
    await rm(next, { recursive: true, force: true });
    await cp(fx.v1.dir, next, { recursive: true });
    await rm(join(next, 'docs', 'old.txt'));
    await writeFile(join(next, 'docs', 'new.txt'), 'new\n');
    const out = join(fx.work, 'docs.zdelta');
    await buildDelta(
      { dir: fx.v1.dir, files: fx.v1.files },
      { dir: next, files: await scanTree(next) },
      { software: SOFTWARE, from: 1, to: 2 },
      out,
    );
    return out;
  }

  /** A folder outside the root holding what the installed docs/ would hold. */
  async function outsideDocs(): Promise<string> {
    const outside = await mkdtemp(join(tmpdir(), 'upman-outside-'));
    await writeFile(join(outside, 'old.txt'), 'only in 1.0.0\n');
    await writeFile(join(outside, 'readme.txt'), 'read me\n');
    return outside;
  }

  it('refuses a delta whose deleted and added paths pass through a link in the installed tree; outside stays as it was', async () => {
    await installV1();
    const archive = await docsDelta();
    const outside = await outsideDocs();
    try {
      await rm(join(live(), 'docs'), { recursive: true });
      await symlink(outside, join(live(), 'docs'));
      await expect(applyPackage({ ...deltaInput(), archive })).rejects.toMatchObject({
        code: 'install-failed',
        message: expect.stringMatching(/link .*never follows links/),
      });
      expect((await readdir(outside)).sort()).toEqual(['old.txt', 'readme.txt']);
      expect(await readFile(join(outside, 'old.txt'), 'utf8')).toBe('only in 1.0.0\n');
      expect(await readInstalled(root, SOFTWARE)).toMatchObject({ revision: 1 });
      expect(await staged()).toEqual([]);

      // The tools' in-place applier refuses the same delta before touching anything.
      await expect(applyDelta(archive, live())).rejects.toThrow(/passes through the link/);
      expect((await readdir(outside)).sort()).toEqual(['old.txt', 'readme.txt']);
    } finally {
      await rm(outside, { recursive: true, force: true });
    }
  });

  it('refuses to install when the software folder itself is a link', async () => {
    const outside = await mkdtemp(join(tmpdir(), 'upman-outside-'));
    try {
      await symlink(outside, live());
      await expect(
        applyPackage({ ...deltaInput(), archive: fx.v1.full, kind: 'full', fromRevision: null }),
      ).rejects.toMatchObject({
        code: 'install-failed',
        message: expect.stringContaining('is a link'),
      });
      expect(await readdir(outside)).toEqual([]);
    } finally {
      await rm(outside, { recursive: true, force: true });
    }
  });

  it.each([
    [
      'absolute paths elsewhere',
      (outside: string) => ({ live: join(outside, 'victim'), stage: join(outside, 'stage') }),
    ],
    [
      'a staging path that climbs out',
      (outside: string) => ({
        live: live(),
        stage: `${join(root, '.upman', 'staging')}/../../../${outside.split('/').pop()}/stage`,
      }),
    ],
    [
      "another software's folder",
      (outside: string) => ({ live: join(root, 'other-app'), stage: join(outside, 'stage') }),
    ],
  ])('refuses a recovery journal naming %s, and changes nothing', async (_name, paths) => {
    const outside = await mkdtemp(join(tmpdir(), 'upman-outside-'));
    try {
      await mkdir(join(outside, 'stage'));
      await writeFile(join(outside, 'stage', 'keep.txt'), 'keep\n');
      await mkdir(join(outside, 'victim'));
      await writeFile(join(outside, 'victim', 'keep.txt'), 'keep\n');
      await mkdir(join(root, '.upman', 'journals'), { recursive: true });
      const journal = {
        software: SOFTWARE,
        backup: join(outside, 'victim'),
        startedAt: '2025-01-01T00:00:00.000Z',
        ...paths(outside),
      };
      await writeFile(join(root, '.upman', 'journals', `${SOFTWARE}.json`), JSON.stringify(journal));
      await expect(recoverInstalls(root)).rejects.toMatchObject({
        code: 'install-failed',
        message: expect.stringContaining('refuses to act on it'),
      });
      expect(await readFile(join(outside, 'stage', 'keep.txt'), 'utf8')).toBe('keep\n');
      expect(await readFile(join(outside, 'victim', 'keep.txt'), 'utf8')).toBe('keep\n');
      expect((await readdir(outside)).sort()).toEqual(['stage', 'victim']);
    } finally {
      await rm(outside, { recursive: true, force: true });
    }
  });

  it.each([
    ['its install manifest at the top', { '.upman.json': '{}', 'a.txt': 'a' }],
    ['its install manifest in a folder', { 'lib/.upman.json': '{}', 'a.txt': 'a' }],
    ['a path that leaves the package', { '../escape.txt': 'x', 'a.txt': 'a' }],
  ])('vendor publish refuses a package holding %s, and so does the agent', async (_name, files) => {
    const dir = await mkdtemp(join(fx.work, 'pkg-'));
    const entries: string[] = [];
    for (const [path, content] of Object.entries(files)) {
      const file = join(dir, 'src', path);
      await mkdir(dirname(file), { recursive: true });
      await writeFile(file, content);
      entries.push(path);
    }
    const archive = join(dir, 'package.tar.gz');
    // Built by hand (a vendor's own tool): preservePaths keeps "../" as written.
    await tar.c({ cwd: join(dir, 'src'), gzip: true, file: archive, preservePaths: true }, entries);
    await expect(openRelease(archive)).rejects.toMatchObject({ statusCode: 400, field: 'package' });
    await expect(
      applyPackage({ ...deltaInput(), archive, kind: 'full', fromRevision: null }),
    ).rejects.toMatchObject({ code: 'install-failed' });
    expect(await readInstalled(root, SOFTWARE)).toBeUndefined();
    expect(await readdir(root).then((names) => names.filter((n) => n !== '.upman'))).toEqual([]);
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
