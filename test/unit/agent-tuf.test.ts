import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { verifyTarget } from '../../agent/tuf.js';
import {
  addTargets,
  initRepository,
  type MetadataStore,
  type RoleSigners,
  refreshTimestamp,
  rotateRoot,
} from '../../lib/vendor/tuf.js';
import { createKeyFile, fileSigner } from '../../lib/vendor/tuf-signers.js';
import { MemoryMetadata } from '../fixtures/memory-metadata.js';

let work: string;
beforeEach(() => {
  work = mkdtempSync(join(tmpdir(), 'agent-tuf-'));
});
afterEach(() => rmSync(work, { recursive: true, force: true }));

let keyCount = 0;
async function signers(): Promise<RoleSigners> {
  const one = async () => {
    const file = join(work, 'keys', `k${keyCount++}.pem`);
    await createKeyFile(file);
    return fileSigner(file);
  };
  return { root: [await one()], targets: await one(), snapshot: await one(), timestamp: await one() };
}

const ARTIFACT = { path: 'editor/2/delta-from-1.zdelta', length: 1234, sha256: 'a'.repeat(64) };

/** A vendor site: a repository with one target, served to the agent by "presigned" URL. */
async function site(now = new Date()) {
  const store = new MemoryMetadata();
  const keys = await signers();
  await initRepository(store, keys, now);
  await addTargets(store, keys, [ARTIFACT], now);
  const pinned = join(work, `pinned-${keyCount}.json`);
  writeFileSync(pinned, store.files.get('root.json')!);
  return { store, keys, pinned };
}

/** Every file of the store as a URL; the fetch answers from the store, 404 for the rest. */
function served(store: MemoryMetadata) {
  const urls = Object.fromEntries(
    [...store.files.keys()].map((name) => [name, `https://s3.test/tuf/${name}?sig=x`]),
  );
  const fetchFn = (async (url: string | URL) => {
    const name = new URL(String(url)).pathname.replace('/tuf/', '');
    const body = store.files.get(name);
    return body === undefined ? new Response('NoSuchKey', { status: 404 }) : new Response(body);
  }) as typeof fetch;
  return { urls, fetchFn };
}

const verify = (store: MemoryMetadata, pinned: string, trustDir = join(work, 'trust'), target = ARTIFACT) => {
  const { urls, fetchFn } = served(store);
  return verifyTarget({
    trustDir,
    pinnedRoot: pinned,
    metadataUrls: urls,
    targetPath: target.path,
    size: target.length,
    sha256: target.sha256,
    fetchFn,
  });
};

const edit = (
  store: MemoryMetadata,
  name: string,
  change: (json: { signed: Record<string, unknown> }) => void,
) => {
  const json = JSON.parse(store.files.get(name)!);
  change(json);
  store.files.set(name, JSON.stringify(json));
};

describe('verifyTarget (TUF, before any download)', () => {
  it('accepts a target the signed metadata lists with the same length and SHA-256', async () => {
    const { store, pinned } = await site();
    await expect(verify(store, pinned)).resolves.toBeUndefined();
  });

  it('refuses a bad signature: timestamp.json changed after signing', async () => {
    const { store, pinned } = await site();
    edit(store, 'timestamp.json', (j) => {
      j.signed.expires = '2099-01-01T00:00:00Z';
    });
    await expect(verify(store, pinned)).rejects.toMatchObject({
      code: 'metadata-refused',
      message: expect.stringMatching(/S606.*bad or missing signature.*timestamp/),
    });
  });

  it('refuses unsigned metadata', async () => {
    const { store, pinned } = await site();
    edit(store, 'targets.json', (j) => {
      (j as unknown as { signatures: unknown[] }).signatures = [];
    });
    await expect(verify(store, pinned)).rejects.toMatchObject({
      message: expect.stringMatching(/bad or missing signature.*targets/),
    });
  });

  it('refuses an expired timestamp', async () => {
    const { store, keys, pinned } = await site();
    // The schedule did not run for two days: the last timestamp (1 day) has expired.
    await refreshTimestamp(store, keys, new Date(Date.now() - 2 * 24 * 3600 * 1000));
    await expect(verify(store, pinned)).rejects.toMatchObject({
      message: expect.stringMatching(/expired metadata.*timestamp\.json is expired/),
    });
  });

  it('refuses an older snapshot than one it already trusted (rollback)', async () => {
    const { store, keys, pinned } = await site();
    const old = new Map(store.files);
    await refreshTimestamp(store, keys);
    await verify(store, pinned);
    // An attacker replays the earlier snapshot and timestamp (validly signed, not expired).
    store.files.clear();
    for (const [name, body] of old) store.files.set(name, body);
    await expect(verify(store, pinned)).rejects.toMatchObject({
      message: expect.stringMatching(
        /rolled-back metadata.*timestamp version 2 is less than current version 3/,
      ),
    });
  });

  it('refuses an older snapshot served beside the current timestamp', async () => {
    const { store, keys, pinned } = await site();
    const oldSnapshot = store.files.get('snapshot.json')!;
    await refreshTimestamp(store, keys);
    store.files.set('snapshot.json', oldSnapshot);
    await expect(verify(store, pinned)).rejects.toMatchObject({
      message: expect.stringMatching(/rolled-back metadata.*Snapshot version doesn't match timestamp/),
    });
  });

  it('refuses a target whose hash differs from the signed one', async () => {
    const { store, pinned } = await site();
    await expect(
      verify(store, pinned, undefined, { ...ARTIFACT, sha256: 'b'.repeat(64) }),
    ).rejects.toMatchObject({ message: expect.stringMatching(/target hash mismatch.*delta-from-1\.zdelta/) });
    await expect(
      verify(store, pinned, undefined, { ...ARTIFACT, path: 'editor/9/full.tar.gz' }),
    ).rejects.toMatchObject({ message: expect.stringMatching(/unknown target/) });
  });

  it('refuses metadata of a repository whose root it does not trust', async () => {
    const ours = await site();
    const theirs = await site();
    await expect(verify(theirs.store, ours.pinned)).rejects.toMatchObject({
      message: expect.stringMatching(/bad or missing signature/),
    });
    // A root v2 signed only by foreign keys does not replace the pinned one either.
    const forged = await site();
    theirs.store.files.set(
      '2.root.json',
      forged.store.files.get('root.json')!.replace('"version": 1', '"version": 2'),
    );
    await expect(verify(theirs.store, ours.pinned)).rejects.toMatchObject({ code: 'metadata-refused' });
  });

  it('accepts a rotated root: v2 signed by the old and the new root keys, with new role keys', async () => {
    const { store, keys, pinned } = await site();
    const trustDir = join(work, 'trust-rotated');
    await verify(store, pinned, trustDir);
    const next = await signers();
    await rotateRoot(store, keys.root, next);
    await addTargets(store, next, [{ ...ARTIFACT, path: 'editor/3/full.tar.gz' }]);
    await expect(
      verify(store, pinned, trustDir, { ...ARTIFACT, path: 'editor/3/full.tar.gz' }),
    ).resolves.toBeUndefined();
    // The old keys can no longer sign anything the client accepts.
    await refreshTimestamp(store, keys);
    await expect(verify(store, pinned, trustDir)).rejects.toMatchObject({
      message: expect.stringMatching(/bad or missing signature/),
    });
  });

  it('says that no root is pinned instead of trusting whatever is served', async () => {
    const { store } = await site();
    await expect(verify(store, join(work, 'missing-root.json'))).rejects.toMatchObject({
      message: expect.stringMatching(/no pinned root/),
    });
  });
});
