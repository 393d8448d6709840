import { describe, expect, it } from 'vitest';
import { BadRequest } from '../../lib/errors.js';
import { createCursorCodec } from '../../lib/registry/cursor.js';
import {
  belowVersionBound,
  INSTALLATION_SHARDS,
  installationIndexKeys,
  shardOf,
  versionRangeBounds,
} from '../../lib/registry/keys.js';
import { compareVersions, parseVersion, versionKey } from '../../lib/registry/version.js';

describe('versions', () => {
  it('compares as versions, not strings', () => {
    expect(compareVersions('1.10', '1.9')).toBe(1);
    expect(compareVersions('1.9', '1.10')).toBe(-1);
    expect(compareVersions('1.10', '1.10.0')).toBe(0);
    expect(compareVersions('2', '1.99.99')).toBe(1);
    expect(compareVersions('1.0.1', '1')).toBe(1);
  });

  it('makes sort keys whose byte order is the version order', () => {
    const versions = ['1.10', '1.9', '1', '1.0.1', '10', '2.0', '1.10.3', '0.9', '1.2.10', '1.2.9'];
    const byKey = [...versions].sort((a, b) =>
      versionKey(a) < versionKey(b) ? -1 : versionKey(a) > versionKey(b) ? 1 : 0,
    );
    const byVersion = [...versions].sort(compareVersions);
    expect(byKey).toEqual(byVersion);
  });

  it('keeps the version order inside "<key>#<clientId>" and in range bounds', () => {
    const sk = (v: string) =>
      installationIndexKeys({ clientId: 'c1', software: 'X', user: 'u', department: 'D', version: v }).gsi3sk;
    const { from, to } = versionRangeBounds('1.9', '1.10');
    expect(sk('1.9') >= from!).toBe(true);
    expect(sk('1.10') <= to!).toBe(true);
    expect(sk('1.10.1') <= to!).toBe(false);
    expect(sk('1.8.99') >= from!).toBe(false);
    expect(sk('1.9.9') < belowVersionBound('1.10')).toBe(true);
    expect(sk('1.10') < belowVersionBound('1.10')).toBe(false);
    expect(sk('1.10.0') < belowVersionBound('1.10')).toBe(false);
  });

  it('refuses malformed versions, naming the field', () => {
    for (const bad of ['1..2', 'v1.2', '1.2-beta', '', '1.2.3.4.5.6.7', '1234567890']) {
      expect(() => parseVersion(bad, 'items[0].version')).toThrow(BadRequest);
    }
    expect(() => parseVersion('1.x', 'minVersion')).toThrow(
      expect.objectContaining({ field: 'minVersion', statusCode: 400 }),
    );
  });
});

describe('write shards', () => {
  it('spreads clients over every shard, each client always on the same one', () => {
    const counts = new Array(INSTALLATION_SHARDS).fill(0);
    for (let i = 0; i < 8000; i++) counts[shardOf(`client-${i}`)]++;
    for (const c of counts) expect(c).toBeGreaterThan(800);
    expect(shardOf('pc-ando')).toBe(shardOf('pc-ando'));
  });
});

describe('cursors', () => {
  const codec = createCursorCodec('a-test-key-that-is-long-enough');

  it('round-trips a position for the same query', () => {
    const cursor = codec.encode('q1', { sk: 'HIST#2025' })!;
    expect(codec.decode('q1', cursor)).toEqual({ sk: 'HIST#2025' });
  });

  it('refuses a tampered cursor or one from another query with 400 naming cursor', () => {
    const cursor = codec.encode('q1', { sk: 'HIST#2025' })!;
    const flipped = `${cursor.slice(0, 3)}${cursor[3] === 'A' ? 'B' : 'A'}${cursor.slice(4)}`;
    for (const bad of [flipped, `${cursor}x`, 'garbage', cursor.replace('.', '')]) {
      const error = (() => {
        try {
          codec.decode('q1', bad);
        } catch (e) {
          return e as BadRequest;
        }
      })();
      expect(error).toBeInstanceOf(BadRequest);
      expect(error?.field).toBe('cursor');
    }
    expect(() => codec.decode('q2', cursor)).toThrow(/cursor/);
  });
});
