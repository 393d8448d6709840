import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type PinnedVendorRoot,
  pinVendorRoot,
  readVendorRoot,
  type VendorRootStore,
} from '../../lib/registry/vendor-root.js';
import { initRepository } from '../../lib/vendor/tuf.js';
import { createKeyFile, fileSigner } from '../../lib/vendor/tuf-signers.js';
import { MemoryMetadata } from '../fixtures/memory-metadata.js';

class MemoryVendorRoot implements VendorRootStore {
  pinned: PinnedVendorRoot | undefined;
  async getVendorRoot() {
    return this.pinned;
  }
  async putVendorRoot(pinned: PinnedVendorRoot) {
    this.pinned = pinned;
  }
}

const admin = { user: 'it-admin', groups: ['admins'] };
const employee = { user: 'alice', groups: ['employees'] };
let work: string;
let root: Record<string, unknown>;
const T0 = new Date('2026-01-01T00:00:00Z');

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'vendor-root-'));
  const signer = async (name: string) => {
    await createKeyFile(join(work, `${name}.pem`));
    return fileSigner(join(work, `${name}.pem`));
  };
  const store = new MemoryMetadata();
  await initRepository(
    store,
    {
      root: [await signer('root')],
      targets: await signer('targets'),
      snapshot: await signer('snapshot'),
      timestamp: await signer('timestamp'),
    },
    T0,
  );
  root = JSON.parse(store.files.get('root.json')!);
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

const ports = (store = new MemoryVendorRoot()) => ({
  vendorRoot: store,
  now: () => new Date(T0.getTime() + 1000),
});

describe('the vendor root the organisation pins', () => {
  it('lets an admin pin a self-signed root, and any signed-in role read it back', async () => {
    const store = new MemoryVendorRoot();
    const pinned = await pinVendorRoot(ports(store), admin, root);
    expect(pinned).toMatchObject({ version: 1, pinnedBy: 'it-admin', root });
    expect(pinned.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(await readVendorRoot(ports(store), employee)).toEqual(pinned);
  });

  it('refuses anyone but an admin (403), and says 404 while nothing is pinned', async () => {
    await expect(pinVendorRoot(ports(), employee, root)).rejects.toMatchObject({ statusCode: 403 });
    await expect(readVendorRoot(ports(), employee)).rejects.toMatchObject({ statusCode: 404 });
    await expect(readVendorRoot(ports(), { user: 'x', groups: [] })).rejects.toMatchObject({
      statusCode: 403,
    });
  });

  it('refuses what is not a root, a root its own keys did not sign, and an expired one, naming the field', async () => {
    const store = new MemoryVendorRoot();
    await expect(pinVendorRoot(ports(store), admin, { signed: { _type: 'targets' } })).rejects.toMatchObject({
      statusCode: 400,
      field: 'signed',
    });
    const forged = structuredClone(root) as { signed: { version: number } };
    forged.signed.version = 7;
    await expect(pinVendorRoot(ports(store), admin, forged)).rejects.toMatchObject({
      statusCode: 400,
      field: 'signatures',
    });
    const later = { vendorRoot: store, now: () => new Date(T0.getTime() + 400 * 24 * 3600 * 1000) };
    await expect(pinVendorRoot(later, admin, root)).rejects.toMatchObject({
      statusCode: 400,
      field: 'signed.expires',
    });
    expect(store.pinned).toBeUndefined();
    await expect(pinVendorRoot(ports(store), admin, 'root.json')).rejects.toMatchObject({ statusCode: 400 });
  });
});
