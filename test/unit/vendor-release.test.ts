import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { copyFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tar from 'tar';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { applyDelta, unpackFull, verifyTree } from '../../lib/vendor/apply.js';
import { buildDelta, readDeltaHeader } from '../../lib/vendor/delta.js';
import {
  deltaKey,
  fullKey,
  manifestKey,
  parseArtifactKey,
  revisionNumberOf,
} from '../../lib/vendor/layout.js';
import {
  type Artifact,
  assertPublishable,
  chooseArtifact,
  emptyManifest,
  type Manifest,
  parseManifest,
} from '../../lib/vendor/manifest.js';
import { buildFull, diffFiles, openRelease, scanTree } from '../../lib/vendor/package.js';
import {
  type CatalogUpdater,
  type Expected,
  type PublishLock,
  publishRelease,
  type ReleaseStore,
} from '../../lib/vendor/publish.js';
import { writeTree } from '../fixtures/tree.js';

let root: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'vendor-release-'));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

const tree = (name: string, files: Record<string, string>) => writeTree(join(root, name), files);

const big = (seed: string) => Array.from({ length: 2000 }, (_, i) => `${seed} line ${i}\n`).join('');

const V1 = {
  'bin/tool': '#!/bin/sh\necho 1\n',
  'lib/core.js': big('core v1'),
  'lib/util.js': big('util'),
  'lib/old/legacy.js': 'legacy\n',
  'README.md': 'read me\n',
};
const V2 = {
  'bin/tool': '#!/bin/sh\necho 2\n',
  'lib/core.js': big('core v2'),
  'lib/util.js': big('util'),
  'lib/new.js': 'new module\n',
  'README.md': 'read me\n',
};

class MemoryStore implements ReleaseStore {
  objects = new Map<string, Buffer>();
  manifests = new Map<string, Manifest>();
  etags = new Map<string, string>();
  locks = new Map<string, { lock: PublishLock; etag: string }>();
  failUploadAt = -1;
  uploads = 0;
  writes = 0;
  deleted: string[] = [];
  /** Runs just before the manifest is written (another publisher's move, in tests). */
  beforeManifestWrite?: () => void;
  async readManifest(software: string) {
    return this.manifests.get(software);
  }
  async readManifestForUpdate(software: string) {
    return { manifest: this.manifests.get(software), etag: this.etags.get(software) ?? null };
  }
  async uploadArtifact(artifact: Artifact, file: string, onProgress?: (sent: number) => void) {
    if (this.uploads++ === this.failUploadAt) throw new Error('network down');
    const body = readFileSync(file);
    onProgress?.(Math.floor(body.length / 2));
    onProgress?.(body.length);
    this.objects.set(artifact.key, body);
    return { versionId: `v${this.uploads}` };
  }
  async writeManifest(manifest: Manifest, expected: Expected) {
    this.beforeManifestWrite?.();
    if ((this.etags.get(manifest.software) ?? null) !== expected.etag) return false;
    this.manifests.set(manifest.software, structuredClone(manifest));
    this.etags.set(manifest.software, `"m${++this.writes}"`);
    return true;
  }
  async writePublishLock(software: string, lock: PublishLock, expected: Expected) {
    if ((this.locks.get(software)?.etag ?? null) !== expected.etag) return false;
    this.locks.set(software, { lock, etag: `"l${++this.writes}"` });
    return true;
  }
  async readPublishLock(software: string) {
    return this.locks.get(software);
  }
  async deletePublishLock(software: string) {
    this.locks.delete(software);
  }
  async deleteArtifact(key: string, versionId?: string) {
    this.deleted.push(`${key}@${versionId}`);
    this.objects.delete(key);
  }
  async downloadArtifact(key: string, file: string) {
    const body = this.objects.get(key);
    if (!body) throw new Error(`NoSuchKey ${key}`);
    writeFileSync(file, body);
  }
}

describe('release layout', () => {
  it('names artifacts by software and revision and reads the names back', () => {
    expect(fullKey('editor', 7)).toBe('editor/7/full.tar.gz');
    expect(deltaKey('editor', 7, 3)).toBe('editor/7/delta-from-3.zdelta');
    expect(manifestKey('editor')).toBe('editor/manifest.json');
    expect(parseArtifactKey('editor/7/delta-from-3.zdelta')).toEqual({
      software: 'editor',
      kind: 'delta',
      to: 7,
      from: 3,
    });
    expect(parseArtifactKey('editor/7/full.tar.gz')).toEqual({
      software: 'editor',
      kind: 'full',
      to: 7,
      from: null,
    });
    expect(parseArtifactKey('editor/manifest.json')).toBeUndefined();
  });

  it('refuses revisions that are not whole positive numbers, naming the field', () => {
    expect(revisionNumberOf('12')).toBe(12);
    expect(() => revisionNumberOf(0)).toThrow(/revision must be a whole number/);
    expect(() => revisionNumberOf('1.5', 'currentRevision')).toThrow(/currentRevision/);
  });
});

describe('manifest', () => {
  const artifact = (from: number | null, size: number): Artifact => ({
    key: from === null ? fullKey('x', 3) : deltaKey('x', 3, from),
    kind: from === null ? 'full' : 'delta',
    from,
    to: 3,
    size,
    sha256: 'a'.repeat(64),
  });
  const manifest: Manifest = {
    ...emptyManifest('x'),
    releases: [
      { version: '1.0', revision: 1, publishedAt: 't', files: [], artifacts: [] },
      { version: '1.1', revision: 2, publishedAt: 't', files: [], artifacts: [] },
      {
        version: '2.0',
        revision: 3,
        publishedAt: 't',
        files: [],
        artifacts: [artifact(null, 1000), artifact(1, 1200), artifact(2, 100)],
      },
    ],
  };

  it('chooses the delta from the client revision when it is smaller than the full package', () => {
    expect(chooseArtifact(manifest, 3, 2)?.artifact.kind).toBe('delta');
    expect(chooseArtifact(manifest, 3, 2)?.artifact.from).toBe(2);
  });

  it('falls back to the full package when no delta fits', () => {
    expect(chooseArtifact(manifest, 3, null)?.artifact.kind).toBe('full');
    expect(chooseArtifact(manifest, 3, 3)?.artifact.kind).toBe('full');
    expect(chooseArtifact(manifest, 3, 99)?.artifact.kind).toBe('full');
    // A delta larger than the full package is never chosen.
    expect(chooseArtifact(manifest, 3, 1)?.artifact.kind).toBe('full');
    expect(chooseArtifact(manifest, 4, 2)).toBeUndefined();
  });

  it('refuses a second publish of a version and a revision that does not go up', () => {
    expect(() => assertPublishable(manifest, '2.0', 4)).toThrow(/2\.0 is already published/);
    expect(() => assertPublishable(manifest, '2.0.0', 4)).toThrow(/already published/);
    expect(() => assertPublishable(manifest, '3.0', 3)).toThrow(/revision 3 is not above/);
    expect(() => assertPublishable(manifest, '1.5', 9)).toThrow(/version 1\.5 is not above/);
    expect(() => assertPublishable(manifest, '3.0', 4)).not.toThrow();
  });

  it('rejects a malformed stored manifest instead of replacing it', () => {
    expect(() => parseManifest('{', 'x')).toThrow(/not valid JSON/);
    expect(() => parseManifest(JSON.stringify({ schema: 1, software: 'y', releases: [] }), 'x')).toThrow(
      /software/,
    );
    expect(parseManifest(JSON.stringify(manifest), 'x').releases).toHaveLength(3);
  });
});

describe('packages and deltas', () => {
  it('round-trips a full package file by file', async () => {
    const src = tree('v1', V1);
    chmodSync(join(src, 'bin/tool'), 0o755);
    const files = await scanTree(src);
    const built = await buildFull(src, files, join(root, 'full.tar.gz'));
    expect(built.size).toBe(readFileSync(join(root, 'full.tar.gz')).length);
    const out = join(root, 'out');
    mkdirSync(out);
    await unpackFull(join(root, 'full.tar.gz'), out);
    expect(await verifyTree(out, files)).toEqual([]);
  });

  it('lists changed, added and deleted files between revisions', async () => {
    const a = await scanTree(tree('a', V1));
    const b = await scanTree(tree('b', V2));
    expect(diffFiles(a, b)).toEqual({
      changed: ['bin/tool', 'lib/core.js', 'lib/new.js'],
      deleted: ['lib/old/legacy.js'],
    });
  });

  it('applies a delta onto the old release and yields exactly the new one', async () => {
    const v1 = tree('v1', V1);
    const v2 = tree('v2', V2);
    chmodSync(join(v2, 'bin/tool'), 0o755);
    const f1 = await scanTree(v1);
    const f2 = await scanTree(v2);
    const full = await buildFull(v2, f2, join(root, 'full.tar.gz'));
    const delta = await buildDelta(
      { dir: v1, files: f1 },
      { dir: v2, files: f2 },
      { software: 'x', from: 1, to: 2 },
      join(root, 'delta.zdelta'),
    );
    expect(delta.size).toBeLessThan(full.size);
    expect(delta.header.deleted).toEqual(['lib/old/legacy.js']);
    expect(
      (await readDeltaHeader(join(root, 'delta.zdelta'))).header.files.map((f) => [f.path, f.old]),
    ).toEqual([
      ['bin/tool', true],
      ['lib/core.js', true],
      ['lib/new.js', false],
    ]);

    const installed = join(root, 'installed');
    mkdirSync(installed);
    await unpackFull(await packOf(v1, f1), installed);
    expect((await verifyTree(installed, f2)).length).toBeGreaterThan(0);
    await applyDelta(join(root, 'delta.zdelta'), installed);
    expect(await verifyTree(installed, f2)).toEqual([]);
  });

  async function packOf(dir: string, files: Awaited<ReturnType<typeof scanTree>>) {
    const file = join(root, `pack-${Math.random()}.tar.gz`);
    await buildFull(dir, files, file);
    return file;
  }
});

describe('opening a release', () => {
  it('reads a .tar.gz the vendor built elsewhere', async () => {
    const src = tree('src', V1);
    const file = join(root, 'in.tar.gz');
    await tar.c({ cwd: src, gzip: true, file }, ['.']);
    const opened = await openRelease(file);
    expect(opened.files.map((f) => f.path)).toEqual(Object.keys(V1).sort());
    await opened.close();
  });

  it.skipIf(!hasZip())('reads a .zip', async () => {
    const src = tree('zsrc', V1);
    const file = join(root, 'in.zip');
    execFileSync('zip', ['-qr', file, '.'], { cwd: src });
    const opened = await openRelease(file);
    expect(opened.files.map((f) => f.path)).toEqual(Object.keys(V1).sort());
    expect(opened.files.find((f) => f.path === 'README.md')?.size).toBe(8);
    await opened.close();
  });

  it('refuses an empty package, a corrupt archive and a link, saying why', async () => {
    await expect(openRelease(tree('empty', {}))).rejects.toThrow(/contains no files/);
    const corrupt = join(root, 'corrupt.tar.gz');
    writeFileSync(corrupt, 'this is not gzip');
    await expect(openRelease(corrupt)).rejects.toThrow(/not a readable \.tar\.gz/);
    const src = tree('t', V1);
    const good = join(root, 'good.tar.gz');
    await tar.c({ cwd: src, gzip: true, file: good }, ['.']);
    const truncated = join(root, 'truncated.tar.gz');
    writeFileSync(truncated, readFileSync(good).subarray(0, 200));
    await expect(openRelease(truncated)).rejects.toThrow(/not a readable \.tar\.gz/);
    const badZip = join(root, 'bad.zip');
    writeFileSync(badZip, 'PK nonsense');
    await expect(openRelease(badZip)).rejects.toThrow(/not a readable \.zip/);
    const linked = tree('linked', { 'a.txt': 'a' });
    symlinkSync('/etc/passwd', join(linked, 'passwd'));
    await expect(openRelease(linked)).rejects.toThrow(/passwd is not a regular file/);
    const linkTar = join(root, 'link.tar.gz');
    await tar.c({ cwd: linked, gzip: true, file: linkTar }, ['.']);
    await expect(openRelease(linkTar)).rejects.toThrow(/passwd is a link or a special file/);
    await expect(openRelease(join(root, 'nope.tar.gz'))).rejects.toThrow(/does not exist/);
  });
});

describe('publishRelease', () => {
  const catalog = () => {
    const calls: string[] = [];
    const c: CatalogUpdater = {
      check: async (s) => {
        calls.push(`check ${s}`);
      },
      setLatest: async (s, v, r) => {
        calls.push(`latest ${s} ${v} ${r}`);
      },
    };
    return { c, calls };
  };

  it('uploads the full package and a delta per earlier revision, then the manifest and the catalog', async () => {
    const store = new MemoryStore();
    const { c, calls } = catalog();
    const r1 = await publishRelease(
      { store, catalog: c },
      { software: 'tool', version: '1.0', revision: 1, input: tree('v1', V1) },
    );
    expect(r1.artifacts.map((a) => a.key)).toEqual(['tool/1/full.tar.gz']);
    const r2 = await publishRelease(
      { store, catalog: c },
      { software: 'tool', version: '1.1', revision: '2', input: tree('v2', V2) },
    );
    expect(r2.artifacts.map((a) => a.key)).toEqual(['tool/2/full.tar.gz', 'tool/2/delta-from-1.zdelta']);
    const manifest = store.manifests.get('tool')!;
    expect(manifest.releases.map((r) => r.revision)).toEqual([1, 2]);
    expect(manifest.releases[1]!.files.map((f) => f.path)).toContain('lib/new.js');
    for (const a of manifest.releases[1]!.artifacts) expect(store.objects.get(a.key)?.length).toBe(a.size);
    expect(calls).toEqual(['check tool', 'latest tool 1.0 1', 'check tool', 'latest tool 1.1 2']);
  });

  it('builds deltas from the last N revisions only, each reproducing the new release', async () => {
    const store = new MemoryStore();
    const versions = [
      V1,
      V2,
      { ...V2, 'lib/core.js': big('core v3') },
      { ...V2, 'lib/core.js': big('core v4') },
    ];
    for (const [i, files] of versions.entries()) {
      await publishRelease(
        { store },
        {
          software: 'tool',
          version: `1.${i}`,
          revision: i + 1,
          input: tree(`v${i + 1}`, files),
          deltaRevisions: 2,
        },
      );
    }
    const manifest = store.manifests.get('tool')!;
    expect(manifest.releases[3]!.artifacts.map((a) => a.key)).toEqual([
      'tool/4/full.tar.gz',
      'tool/4/delta-from-3.zdelta',
      'tool/4/delta-from-2.zdelta',
    ]);
    for (const from of [2, 3]) {
      const installed = join(root, `installed-${from}`);
      mkdirSync(installed);
      writeFileSync(join(root, 'full.tar.gz'), store.objects.get(`tool/${from}/full.tar.gz`)!);
      await unpackFull(join(root, 'full.tar.gz'), installed);
      writeFileSync(join(root, 'd.zdelta'), store.objects.get(`tool/4/delta-from-${from}.zdelta`)!);
      await applyDelta(join(root, 'd.zdelta'), installed);
      expect(await verifyTree(installed, manifest.releases[3]!.files)).toEqual([]);
    }
    await expect(
      publishRelease(
        { store },
        { software: 'tool', version: '2.0', revision: 9, input: tree('v9', V1), deltaRevisions: -1 },
      ),
    ).rejects.toMatchObject({ statusCode: 400, field: 'deltas' });
  });

  it('refuses a publish while another holds the lock, before uploading anything; takes over an expired lock', async () => {
    const store = new MemoryStore();
    const now = new Date('2025-06-01T10:00:00Z');
    store.locks.set('tool', {
      lock: { holder: 'ci-runner-7', startedAt: '2025-06-01T09:30:00Z', expiresAt: '2025-06-01T10:30:00Z' },
      etag: '"held"',
    });
    await expect(
      publishRelease(
        { store },
        { software: 'tool', version: '1.0', revision: 1, input: tree('v1', V1), now: () => now },
      ),
    ).rejects.toMatchObject({
      statusCode: 409,
      message: expect.stringMatching(
        /another publish of tool is in progress \(ci-runner-7, since 2025-06-01T09:30:00Z\)/,
      ),
    });
    expect(store.uploads).toBe(0);
    expect(store.locks.get('tool')!.etag).toBe('"held"');
    // An hour later the lock has expired (its publisher crashed): taken over, then released.
    const later = new Date('2025-06-01T11:00:00Z');
    await publishRelease(
      { store },
      { software: 'tool', version: '1.0', revision: 1, input: tree('v1', V1), now: () => later },
    );
    expect(store.manifests.get('tool')!.releases).toHaveLength(1);
    expect(store.locks.has('tool')).toBe(false);
  });

  it('undoes a publish whose manifest changed meanwhile: its artifacts are deleted, nothing of it is listed', async () => {
    const store = new MemoryStore();
    await publishRelease({ store }, { software: 'tool', version: '1.0', revision: 1, input: tree('v1', V1) });
    store.beforeManifestWrite = () => {
      store.etags.set('tool', '"someone-else"');
    };
    await expect(
      publishRelease({ store }, { software: 'tool', version: '1.1', revision: 2, input: tree('v2', V2) }),
    ).rejects.toMatchObject({
      statusCode: 409,
      message: expect.stringMatching(/changed while this publish ran/),
    });
    expect([...store.objects.keys()]).toEqual(['tool/1/full.tar.gz']);
    expect(store.manifests.get('tool')!.releases).toHaveLength(1);
    expect(store.locks.has('tool')).toBe(false);
  });

  it('reports upload progress per artifact up to its size', async () => {
    const store = new MemoryStore();
    const seen = new Map<string, number[]>();
    await publishRelease(
      { store },
      {
        software: 'tool',
        version: '1.0',
        revision: 1,
        input: tree('v1', V1),
        onUpload: (a, sent) => seen.set(a.key, [...(seen.get(a.key) ?? []), sent]),
      },
    );
    const full = store.manifests.get('tool')!.releases[0]!.artifacts[0]!;
    expect(seen.get(full.key)).toEqual([Math.floor(full.size / 2), full.size]);
  });

  it('refuses to publish the same version twice, before uploading anything', async () => {
    const store = new MemoryStore();
    await publishRelease({ store }, { software: 'tool', version: '1.0', revision: 1, input: tree('v1', V1) });
    const before = store.uploads;
    await expect(
      publishRelease({ store }, { software: 'tool', version: '1.0', revision: 2, input: tree('v2', V2) }),
    ).rejects.toMatchObject({ statusCode: 409, field: 'version' });
    expect(store.uploads).toBe(before);
  });

  it('removes every uploaded artifact when a later upload fails, and writes no manifest', async () => {
    const store = new MemoryStore();
    await publishRelease({ store }, { software: 'tool', version: '1.0', revision: 1, input: tree('v1', V1) });
    store.failUploadAt = store.uploads + 1; // the full package goes up, the delta fails
    await expect(
      publishRelease({ store }, { software: 'tool', version: '1.1', revision: 2, input: tree('v2', V2) }),
    ).rejects.toThrow(/network down/);
    expect(store.deleted).toEqual(['tool/2/full.tar.gz@v2']);
    expect([...store.objects.keys()]).toEqual(['tool/1/full.tar.gz']);
    expect(store.manifests.get('tool')!.releases).toHaveLength(1);
  });

  it('uploads nothing when the catalog cannot be updated', async () => {
    const store = new MemoryStore();
    const c: CatalogUpdater = {
      check: async () => {
        throw new Error('tool is not in the catalog');
      },
      setLatest: async () => {},
    };
    await expect(
      publishRelease(
        { store, catalog: c },
        { software: 'tool', version: '1.0', revision: 1, input: tree('v1', V1) },
      ),
    ).rejects.toThrow(/not in the catalog/);
    expect(store.uploads).toBe(0);
  });

  it('keeps the invariant when publishing a copied archive (input is never modified)', async () => {
    const store = new MemoryStore();
    const src = tree('v1', V1);
    const file = join(root, 'v1.tar.gz');
    await tar.c({ cwd: src, gzip: true, file }, ['.']);
    const copy = join(root, 'copy.tar.gz');
    await copyFile(file, copy);
    await publishRelease({ store }, { software: 'tool', version: '1.0', revision: 1, input: copy });
    expect(readFileSync(copy)).toEqual(readFileSync(file));
  });
});

function hasZip(): boolean {
  try {
    execFileSync('zip', ['-v'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
