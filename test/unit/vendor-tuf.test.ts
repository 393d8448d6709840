import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Metadata, type MetadataKind, type Snapshot, type Targets, type Timestamp } from '@tufjs/models';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { verifyTarget } from '../../agent/tuf.js';
import {
  addTargets,
  initRepository,
  type RoleSigners,
  refreshTimestamp,
  refreshWhenDue,
} from '../../lib/vendor/tuf.js';
import { createKeyFile, fileSigner } from '../../lib/vendor/tuf-signers.js';
import { MemoryMetadata } from '../fixtures/memory-metadata.js';

let work: string;
beforeEach(() => {
  work = mkdtempSync(join(tmpdir(), 'vendor-tuf-'));
});
afterEach(() => rmSync(work, { recursive: true, force: true }));

let n = 0;
async function signers(): Promise<RoleSigners> {
  const one = async () => {
    const file = join(work, 'keys', `k${n++}.pem`);
    await createKeyFile(file);
    return fileSigner(file);
  };
  return { root: [await one()], targets: await one(), snapshot: await one(), timestamp: await one() };
}

const signed = <T extends Targets | Snapshot | Timestamp>(store: MemoryMetadata, name: string) =>
  Metadata.fromJSON(name.replace('.json', '') as MetadataKind.Targets, JSON.parse(store.files.get(name)!))
    .signed as unknown as T;

const target = (path: string) => ({ path, length: path.length, sha256: 'b'.repeat(64) });
const HOUR = 3600 * 1000;

describe('conditional metadata writes', () => {
  it('keeps both targets when two publishes of different software sign at the same moment', async () => {
    const store = new MemoryMetadata();
    const keys = await signers();
    await initRepository(store, keys);
    // Both writers have read targets.json v1 before either writes: the classic lost update.
    let waiting: Array<() => void> = [];
    let attempts = 0;
    store.beforeWrite = async (name) => {
      if (name !== 'targets.json') return;
      attempts++;
      if (attempts > 2) return;
      await new Promise<void>((resolve) => {
        waiting.push(resolve);
        if (waiting.length === 2) {
          for (const go of waiting) go();
          waiting = [];
        }
      });
    };
    await Promise.all([
      addTargets(store, keys, [target('editor/1/full.tar.gz')]),
      addTargets(store, keys, [target('viewer/1/full.tar.gz')]),
    ]);
    // One write lost the race, read again and merged.
    expect(attempts).toBe(3);
    const targets = signed<Targets>(store, 'targets.json');
    expect(Object.keys(targets.targets).sort()).toEqual(['editor/1/full.tar.gz', 'viewer/1/full.tar.gz']);
    expect(targets.version).toBe(3);
    const snapshot = signed<Snapshot>(store, 'snapshot.json');
    expect(snapshot.meta['targets.json']?.version).toBe(3);
    expect(signed<Timestamp>(store, 'timestamp.json').snapshotMeta.version).toBe(snapshot.version);
    // And a client verifies either target against the result.
    const pinned = join(work, 'root.json');
    writeFileSync(pinned, store.files.get('root.json')!);
    const urls = Object.fromEntries([...store.files.keys()].map((n) => [n, `https://s3.test/tuf/${n}`]));
    const fetchFn = (async (url: string | URL) => {
      const body = store.files.get(new URL(String(url)).pathname.replace('/tuf/', ''));
      return body === undefined ? new Response('', { status: 404 }) : new Response(body);
    }) as typeof fetch;
    for (const path of ['editor/1/full.tar.gz', 'viewer/1/full.tar.gz']) {
      await expect(
        verifyTarget({
          trustDir: join(work, 'trust'),
          pinnedRoot: pinned,
          metadataUrls: urls,
          targetPath: path,
          size: path.length,
          sha256: 'b'.repeat(64),
          fetchFn,
        }),
      ).resolves.toBeUndefined();
    }
  });

  it('never lets a snapshot name an older targets version than the one it replaces', async () => {
    const store = new MemoryMetadata();
    const keys = await signers();
    await initRepository(store, keys);
    // A refresh and a publish interleave: whatever lands last, the snapshot names targets v2.
    let once = false;
    store.beforeWrite = async (name) => {
      if (name === 'snapshot.json' && !once) {
        once = true;
        await addTargets(store, keys, [target('editor/1/full.tar.gz')]);
      }
    };
    await refreshTimestamp(store, keys);
    const targets = signed<Targets>(store, 'targets.json');
    expect(targets.version).toBe(2);
    expect(signed<Snapshot>(store, 'snapshot.json').meta['targets.json']?.version).toBe(2);
    const timestamp = signed<Timestamp>(store, 'timestamp.json');
    expect(timestamp.snapshotMeta.version).toBe(signed<Snapshot>(store, 'snapshot.json').version);
  });

  it('gives up with a conflict naming the file when it keeps losing', async () => {
    const store = new MemoryMetadata();
    const keys = await signers();
    await initRepository(store, keys);
    store.beforeWrite = (name) => {
      // Another writer changes the file every time just before this one writes.
      if (name === 'targets.json') store.files.set(name, `${store.files.get(name)} `);
    };
    await expect(addTargets(store, keys, [target('a/1/full.tar.gz')])).rejects.toMatchObject({
      statusCode: 409,
      message: expect.stringMatching(/targets\.json kept changing/),
    });
  });

  it('refuses a second init of the same site', async () => {
    const store = new MemoryMetadata();
    const keys = await signers();
    await initRepository(store, keys);
    await expect(initRepository(store, keys)).rejects.toMatchObject({ statusCode: 409 });
  });
});

describe('refresh when due (the schedule)', () => {
  it('signs nothing while snapshot and timestamp are current and far from expiry', async () => {
    const store = new MemoryMetadata();
    const keys = await signers();
    const t0 = new Date('2026-01-01T00:00:00Z');
    await initRepository(store, keys, t0);
    const before = new Map(store.files);
    const r = await refreshTimestamp(store, keys, new Date(t0.getTime() + HOUR), undefined, {
      onlyWhenDue: true,
    });
    expect(r.renewed).toEqual([]);
    expect(store.files).toEqual(before);
  });

  it('renews the timestamp when less than half its day is left, and the snapshot only when it is due too', async () => {
    const store = new MemoryMetadata();
    const keys = await signers();
    const t0 = new Date('2026-01-01T00:00:00Z');
    await initRepository(store, keys, t0);
    const snapshotBefore = store.files.get('snapshot.json');
    const at13h = new Date(t0.getTime() + 13 * HOUR);
    const r = await refreshTimestamp(store, keys, at13h, undefined, { onlyWhenDue: true });
    expect(r.renewed).toEqual(['timestamp']);
    expect(store.files.get('snapshot.json')).toBe(snapshotBefore);
    const timestamp = signed<Timestamp>(store, 'timestamp.json');
    expect(timestamp.version).toBe(2);
    expect(Date.parse(timestamp.expires)).toBe(at13h.getTime() + 24 * HOUR);

    const at4d = new Date(t0.getTime() + 4 * 24 * HOUR);
    const r2 = await refreshTimestamp(store, keys, at4d, undefined, { onlyWhenDue: true });
    expect(r2.renewed).toEqual(['snapshot', 'timestamp']);
    expect(signed<Snapshot>(store, 'snapshot.json').version).toBe(2);
    expect(signed<Timestamp>(store, 'timestamp.json').snapshotMeta.version).toBe(2);
  });

  it('signs a snapshot at once when it names an older targets version', async () => {
    const store = new MemoryMetadata();
    const keys = await signers();
    const t0 = new Date('2026-01-01T00:00:00Z');
    await initRepository(store, keys, t0);
    // A publish that wrote targets and died before its snapshot.
    const snapshot = store.files.get('snapshot.json')!;
    const timestamp = store.files.get('timestamp.json')!;
    await addTargets(store, keys, [target('a/1/full.tar.gz')], t0);
    store.files.set('snapshot.json', snapshot);
    store.files.set('timestamp.json', timestamp);
    const r = await refreshTimestamp(store, keys, new Date(t0.getTime() + HOUR), undefined, {
      onlyWhenDue: true,
    });
    expect(r.renewed).toEqual(['snapshot', 'timestamp']);
    expect(signed<Snapshot>(store, 'snapshot.json').meta['targets.json']?.version).toBe(2);
  });
});

describe('the scheduled refresh (refreshWhenDue)', () => {
  const listed = (store: MemoryMetadata) =>
    Object.assign(store, { metadataExists: async (name: string) => store.files.has(name) });

  it('does nothing before the site is initialised', async () => {
    const store = listed(new MemoryMetadata());
    expect(await refreshWhenDue(store, await signers())).toEqual({ status: 'not-initialised' });
    expect(store.files.size).toBe(0);
  });

  it('refuses to sign with keys the root does not name for snapshot and timestamp, and writes nothing', async () => {
    const store = listed(new MemoryMetadata());
    await initRepository(store, await signers());
    const before = new Map(store.files);
    const other = await signers();
    await expect(refreshWhenDue(store, other, new Date(Date.now() + 20 * HOUR))).rejects.toMatchObject({
      statusCode: 409,
      message: expect.stringMatching(/does not name this site's snapshot key .*--site-keys/),
    });
    expect(store.files).toEqual(before);
  });

  it('renews what is due with the keys the root names', async () => {
    const store = listed(new MemoryMetadata());
    const keys = await signers();
    const t0 = new Date('2026-01-01T00:00:00Z');
    await initRepository(store, keys, t0);
    const r = await refreshWhenDue(store, keys, new Date(t0.getTime() + 20 * HOUR));
    expect(r).toMatchObject({ status: 'checked', renewed: ['timestamp'], timestamp: 2 });
  });
});
