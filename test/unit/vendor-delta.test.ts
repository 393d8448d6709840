import { randomBytes } from 'node:crypto';
import { chmodSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { constants, zstdCompressSync } from 'node:zlib';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { applyDelta, verifyTree } from '../../lib/vendor/apply.js';
import { buildDelta, DeltaRefused, readDeltaHeader } from '../../lib/vendor/delta.js';
import { scanTree } from '../../lib/vendor/package.js';

let root: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'vendor-delta-'));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

type Tree = Record<string, { content: Buffer; exec: boolean }>;

function write(name: string, tree: Tree): string {
  const dir = join(root, name);
  mkdirSync(dir, { recursive: true });
  for (const [path, f] of Object.entries(tree)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), f.content);
    chmodSync(join(dir, path), f.exec ? 0o755 : 0o644);
  }
  return dir;
}

async function release(name: string, tree: Tree) {
  const dir = write(name, tree);
  return { dir, files: await scanTree(dir) };
}

function copyTree(from: string, name: string): string {
  const to = join(root, name);
  cpSync(from, to, { recursive: true });
  return to;
}

const file = (content: Buffer | string, exec = false) => ({
  content: Buffer.isBuffer(content) ? content : Buffer.from(content),
  exec,
});

describe('binary deltas', { timeout: 120_000 }, () => {
  it('turns any old tree into the new one, byte for byte (property)', async () => {
    // Paths from a small alphabet so trees overlap: changes, additions, removals, mode flips,
    // empty files and moves between names all occur.
    const path = fc.constantFrom('a', 'b', 'c/d', 'c/e', 'f/g/h', 'i.bin', 'j');
    const content = fc.oneof(
      fc.uint8Array({ maxLength: 3000 }).map((a) => Buffer.from(a)),
      fc.constantFrom(Buffer.alloc(0), Buffer.from('shared text '.repeat(500))),
    );
    const tree = fc.dictionary(path, fc.record({ content, exec: fc.boolean() }), { minKeys: 1 });
    let run = 0;
    await fc.assert(
      fc.asyncProperty(tree, tree, async (before, after) => {
        run++;
        const old = await release(`old-${run}`, before);
        const next = await release(`new-${run}`, after);
        const out = join(root, `delta-${run}`);
        await buildDelta(old, next, { software: 'x', from: 1, to: 2 }, out);
        const installed = copyTree(old.dir, `installed-${run}`);
        await applyDelta(out, installed);
        expect(await verifyTree(installed, next.files)).toEqual([]);
      }),
      { numRuns: 25 },
    );
  });

  it('sends a one-byte change of a large file in a few hundred bytes, not the file', async () => {
    const big = randomBytes(512 * 1024);
    const changed = Buffer.from(big);
    changed[300_000] = (changed[300_000]! + 1) % 256;
    const old = await release('v1', { 'lib/big.bin': file(big), 'a.txt': file('a') });
    const next = await release('v2', { 'lib/big.bin': file(changed), 'a.txt': file('a') });
    const built = await buildDelta(old, next, { software: 'x', from: 1, to: 2 }, join(root, 'd'));
    expect(built.size).toBeLessThan(1024);
  });

  it('finds a renamed file in the old revision (hashed chunk names)', async () => {
    const chunk = randomBytes(256 * 1024);
    const old = await release('v1', { 'dist/chunk-AAAA.js': file(chunk) });
    const next = await release('v2', {
      'dist/chunk-BBBB.js': file(Buffer.concat([chunk, Buffer.from('x')])),
    });
    const built = await buildDelta(old, next, { software: 'x', from: 1, to: 2 }, join(root, 'd'));
    expect(built.header.deleted).toEqual(['dist/chunk-AAAA.js']);
    expect(built.size).toBeLessThan(1024);
    const installed = copyTree(old.dir, 'installed');
    await applyDelta(join(root, 'd'), installed);
    expect(await verifyTree(installed, next.files)).toEqual([]);
  });

  it('refuses a damaged delta and leaves the installed files as they were', async () => {
    const old = await release('v1', { 'a.bin': file(randomBytes(64 * 1024)), 'b.txt': file('b1') });
    const next = await release('v2', { 'a.bin': file(randomBytes(64 * 1024)), 'b.txt': file('b2') });
    const out = join(root, 'd');
    const built = await buildDelta(old, next, { software: 'x', from: 1, to: 2 }, out);
    const bytes = readFileSync(out);
    bytes[built.size - 5_000]! ^= 0xff;
    writeFileSync(out, bytes);
    const installed = copyTree(old.dir, 'installed');
    await expect(applyDelta(out, installed)).rejects.toBeInstanceOf(DeltaRefused);
    expect(await verifyTree(installed, old.files)).toEqual([]);
  });

  it('refuses to patch an installed file that was changed since its revision, naming it', async () => {
    const text = randomBytes(48 * 1024).toString('base64');
    const old = await release('v1', { 'lib/core.js': file(text) });
    const next = await release('v2', { 'lib/core.js': file(`${text}one more\n`) });
    const out = join(root, 'd');
    await buildDelta(old, next, { software: 'x', from: 1, to: 2 }, out);
    const installed = copyTree(old.dir, 'installed');
    // The patch copies the old bytes: with other bytes in their place the result cannot match.
    writeFileSync(join(installed, 'lib/core.js'), randomBytes(48 * 1024).toString('base64'));
    await expect(applyDelta(out, installed)).rejects.toThrow(/lib\/core\.js does not match its SHA-256/);
  });

  it('refuses what is not an upman delta, and a header naming a path outside the install', async () => {
    writeFileSync(join(root, 'junk'), 'not a delta at all');
    await expect(readDeltaHeader(join(root, 'junk'))).rejects.toThrow(/is not an upman delta/);
    const header = Buffer.from(
      JSON.stringify({
        schema: 1,
        software: 'x',
        from: 1,
        to: 2,
        windowLog: 20,
        files: [],
        deleted: ['../etc/passwd'],
      }),
    );
    const packed = zstdCompressSync(header, { params: { [constants.ZSTD_c_compressionLevel]: 3 } });
    const preamble = Buffer.alloc(9);
    preamble.write('UPMD', 'ascii');
    preamble.writeUInt8(1, 4);
    preamble.writeUInt32BE(packed.length, 5);
    writeFileSync(join(root, 'evil'), Buffer.concat([preamble, packed]));
    await expect(readDeltaHeader(join(root, 'evil'))).rejects.toThrow(
      /invalid at deleted\.0: not allowed in a package/,
    );
  });
});
