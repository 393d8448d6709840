import { describe, expect, it } from 'vitest';
import type { Person } from '../../lib/people/model.js';
import { DisplayNameCache } from '../../lib/people/name-cache.js';

const person = (key: string, name: string): Person =>
  ({ key, login: key, name, active: true, revision: 1 }) as unknown as Person;

/** A directory that counts its reads and answers from `people`. */
function directory(people: Record<string, string>) {
  const reads: string[][] = [];
  return {
    reads,
    async getPeople(keys: string[]) {
      reads.push(keys);
      return new Map(keys.filter((k) => people[k]).map((k) => [k, person(k, people[k]!)]));
    },
  };
}

describe('display names for pages, cached per container', () => {
  it('reads each person once within the time-to-live, and only those it does not hold', async () => {
    let now = 0;
    const dir = directory({ ando: 'Ando Taro', okachi: 'Okachi Masao' });
    const cache = new DisplayNameCache(dir, 60_000, () => now);
    expect((await cache.getPeople(['ando', 'okachi'])).get('ando')?.name).toBe('Ando Taro');
    now = 59_999;
    const again = await cache.getPeople(['okachi', 'ando', 'nobody']);
    expect(again.get('okachi')?.name).toBe('Okachi Masao');
    expect(again.has('nobody')).toBe(false);
    expect(dir.reads).toEqual([['ando', 'okachi'], ['nobody']]);
    // Someone not in the directory is not asked for again within the time-to-live either.
    await cache.getPeople(['nobody']);
    expect(dir.reads).toHaveLength(2);
  });

  it('reads again once the time-to-live has passed, so a rename shows within a minute', async () => {
    let now = 0;
    const people = { ando: 'Ando Taro' };
    const dir = directory(people);
    const cache = new DisplayNameCache(dir, 60_000, () => now);
    await cache.getPeople(['ando']);
    people.ando = 'Ando T.';
    expect((await cache.getPeople(['ando'])).get('ando')?.name).toBe('Ando Taro');
    now = 60_000;
    expect((await cache.getPeople(['ando'])).get('ando')?.name).toBe('Ando T.');
    expect(dir.reads).toEqual([['ando'], ['ando']]);
  });
});
