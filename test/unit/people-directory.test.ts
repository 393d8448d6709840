// The directory of people: admins write entries one by one or by import (with a dry run), the
// callers' tokens keep their own entries current, and typed names resolve to keys.
import { describe, expect, it } from 'vitest';
import type { Caller } from '../../lib/http/identity.js';
import {
  importPeople,
  importRowsOf,
  listPeople,
  putPerson,
  resolvePerson,
  TokenDirectory,
} from '../../lib/people/directory.js';
import { createCursorCodec } from '../../lib/registry/cursor.js';
import { admin, errorOf, MemoryPeople } from './registry-fakes.js';

const now = () => new Date('2025-06-01T12:00:00Z');
const portsWith = (...keys: string[]) => ({ people: new MemoryPeople(keys), now });

describe('resolvePerson', () => {
  it('takes a key, a login name or an e-mail address (any case) and answers the key', async () => {
    const ports = portsWith();
    await putPerson(ports, admin, '9f1c-opaque', {
      login: 'ando',
      email: 'Ando@Corp.example',
      name: 'Ando Taro',
    });
    expect(await resolvePerson(ports, '9f1c-opaque', 'approver')).toBe('9f1c-opaque');
    expect(await resolvePerson(ports, 'ando', 'approver')).toBe('9f1c-opaque');
    expect(await resolvePerson(ports, 'ANDO', 'approver')).toBe('9f1c-opaque');
    expect(await resolvePerson(ports, 'ando@corp.example', 'approver')).toBe('9f1c-opaque');
  });

  it('is 400 naming the field for nobody, a non-name, or someone no longer active', async () => {
    const ports = portsWith('itou');
    for (const value of ['bucho', 'bucho@corp.example', '', 42]) {
      const e = await errorOf(() => resolvePerson(ports, value, 'approver'));
      expect([e.statusCode, e.field]).toEqual([400, 'approver']);
    }
    await putPerson(ports, admin, 'itou', { active: false });
    const e = await errorOf(() => resolvePerson(ports, 'itou', 'delegate'));
    expect([e.statusCode, e.field, e.message]).toEqual([
      400,
      'delegate',
      'delegate: itou is no longer active',
    ]);
  });
});

describe('did you mean, for people', () => {
  it('names the active people whose login is closest to a name that matches nobody', async () => {
    const ports = portsWith('ando', 'andou-k', 'suzuki', 'kaneda');
    await putPerson(ports, admin, 'andou-k', { active: false });
    const e = await errorOf(() => resolvePerson(ports, 'andou', 'users[0]'));
    expect([e.statusCode, e.field, e.message]).toEqual([
      400,
      'users[0]',
      'users[0]: nobody in the directory has the login name or e-mail "andou". Did you mean ando?',
    ]);
    const far = await errorOf(() => resolvePerson(ports, 'bucho', 'approver'));
    expect(far.message).toBe('approver: nobody in the directory has the login name or e-mail "bucho"');
  });

  it('reads the directory a page at a time', async () => {
    const keys = Array.from({ length: 600 }, (_, i) => `person-${String(i).padStart(3, '0')}`);
    const ports = portsWith(...keys, 'yamada');
    const e = await errorOf(() => resolvePerson(ports, 'yamda', 'delegate'));
    expect(e.message).toMatch(/Did you mean yamada\?$/);
  });
});

describe('putPerson', () => {
  it('creates, changes and leaves unchanged entries; only admins', async () => {
    const ports = portsWith();
    const created = await putPerson(ports, admin, 'kaneda', {
      name: 'Kaneda Ken',
      department: 'Engineering',
    });
    expect(created).toMatchObject({
      created: true,
      person: { key: 'kaneda', login: 'kaneda', active: true, revision: 1 },
    });
    const same = await putPerson(ports, admin, 'kaneda', { name: 'Kaneda Ken' });
    expect(same.person.revision).toBe(1);
    const changed = await putPerson(ports, admin, 'kaneda', { email: 'kaneda@corp.example' });
    expect(changed.person).toMatchObject({ revision: 2, name: 'Kaneda Ken', email: 'kaneda@corp.example' });
    const e = await errorOf(() =>
      putPerson(ports, { user: 'kaneda', groups: ['employees', 'auditors'] }, 'kaneda', {}),
    );
    expect(e.statusCode).toBe(403);
  });

  it('names the field of a bad value, and refuses an address someone else has (409)', async () => {
    const ports = portsWith('ando');
    for (const [body, field] of [
      [{ email: 'not-an-address' }, 'email'],
      [{ login: 'two words' }, 'login'],
      [{ active: 'yes' }, 'active'],
      [{ shoeSize: 42 }, 'shoeSize'],
    ] as const) {
      const e = await errorOf(() => putPerson(ports, admin, 'suzuki', body));
      expect([e.statusCode, e.field]).toEqual([400, field]);
    }
    const e = await errorOf(() => putPerson(ports, admin, 'suzuki', { email: 'ANDO@corp.example' }));
    expect([e.statusCode, e.field]).toEqual([409, 'email']);
  });
});

describe('importPeople', () => {
  const csv = [
    'key,login,name,email,department,active',
    'ando,ando,Ando Taro,ando@corp.example,Sales,true',
    '"u-2","suzuki","Suzuki, Hanako",suzuki@corp.example,Sales,',
    'u-3,kaneda,Kaneda Ken,,Engineering,no',
  ].join('\n');

  it('reads CSV with a header line (quoted commas, empty cells absent) and JSON', () => {
    const rows = importRowsOf(undefined, csv, 'text/csv; charset=utf-8');
    expect(rows).toEqual([
      {
        key: 'ando',
        login: 'ando',
        name: 'Ando Taro',
        email: 'ando@corp.example',
        department: 'Sales',
        active: true,
      },
      {
        key: 'u-2',
        login: 'suzuki',
        name: 'Suzuki, Hanako',
        email: 'suzuki@corp.example',
        department: 'Sales',
      },
      { key: 'u-3', login: 'kaneda', name: 'Kaneda Ken', department: 'Engineering', active: false },
    ]);
    expect(importRowsOf({ people: [{ key: 'a' }] }, undefined, 'application/json')).toEqual([{ key: 'a' }]);
    expect(() => importRowsOf({ people: 'a' }, undefined, 'application/json')).toThrow(
      /people must be a list/,
    );
  });

  it('reports what it would do in a dry run and writes nothing; then imports', async () => {
    const ports = portsWith('ando');
    const rows = importRowsOf(undefined, csv, 'text/csv');
    const dry = await importPeople(ports, admin, rows, true);
    expect(dry).toMatchObject({ dryRun: true, counts: { created: 2, updated: 1, unchanged: 0 }, errors: [] });
    expect(await ports.people.getPerson('u-2')).toBeUndefined();
    const real = await importPeople(ports, admin, rows, false);
    expect(real.counts).toEqual({ created: 2, updated: 1, unchanged: 0, conflict: 0 });
    expect(await ports.people.getPerson('u-3')).toMatchObject({ login: 'kaneda', active: false });
    expect((await importPeople(ports, admin, rows, false)).counts.unchanged).toBe(3);
  });

  it('reports every bad row by row and field; a real import with errors writes nothing', async () => {
    const ports = portsWith('ando');
    const rows = [
      { key: 'n-1', email: 'x' },
      { key: 'n-2', login: 'dup' },
      { key: 'n-3', login: 'DUP' },
      { key: 'n-4', email: 'ando@corp.example' },
      { key: 'n-5', name: 'Fine' },
    ];
    const dry = await importPeople(ports, admin, rows, true);
    expect(dry.errors.map((e) => [e.row, e.field])).toEqual([
      [1, 'email'],
      [3, 'login'],
      [4, 'email'],
    ]);
    const e = await errorOf(() => importPeople(ports, admin, rows, false));
    expect([e.statusCode, e.field]).toEqual([400, 'people[0].email']);
    expect(await ports.people.getPerson('n-5')).toBeUndefined();
  });
});

describe('TokenDirectory', () => {
  it('writes a caller’s entry when their claims changed, and not again while they stay the same', async () => {
    const people = new MemoryPeople();
    let writes = 0;
    const save = people.savePerson.bind(people);
    people.savePerson = async (p, prev) => {
      writes++;
      return save(p, prev);
    };
    const directory = new TokenDirectory({ people, now });
    const caller: Caller = {
      user: 'sub-1',
      groups: ['employees'],
      login: 'ando',
      email: 'ando@corp.example',
      name: 'Ando',
    };
    await directory.record(caller);
    await directory.record(caller);
    expect(writes).toBe(1);
    expect(await people.getPerson('sub-1')).toMatchObject({
      login: 'ando',
      email: 'ando@corp.example',
      name: 'Ando',
    });
    await directory.record({ ...caller, name: 'Ando Taro' });
    expect(writes).toBe(2);
    // A new container (empty cache) reads the entry, finds it current, writes nothing.
    await new TokenDirectory({ people, now }).record({ ...caller, name: 'Ando Taro' });
    expect(writes).toBe(2);
  });

  it('keeps the admin’s department and active flag, and never fails the caller’s request', async () => {
    const people = new MemoryPeople();
    await putPerson({ people, now }, admin, 'sub-2', { department: 'Legal', email: 'taken@corp.example' });
    await putPerson({ people, now }, admin, 'sub-9', { email: 'other@corp.example' });
    const warnings: string[] = [];
    const directory = new TokenDirectory({ people, now }, (m) => warnings.push(m));
    await directory.record({ user: 'sub-2', groups: [], login: 'kojima', email: 'other@corp.example' });
    expect(warnings).toHaveLength(1);
    await directory.record({ user: 'sub-2', groups: [], login: 'kojima', email: 'kojima@corp.example' });
    expect(await people.getPerson('sub-2')).toMatchObject({
      login: 'kojima',
      department: 'Legal',
      active: true,
    });
  });
});

describe('listPeople', () => {
  it('pages through the directory for admins and auditors only', async () => {
    const ports = {
      ...portsWith('a1', 'a2', 'a3'),
      cursors: createCursorCodec('unit-test-cursor-key-0123456789'),
    };
    const first = await listPeople(ports, { user: 'x', groups: ['auditors'] }, { limit: '2' });
    expect(first.items.map((p) => p.key)).toEqual(['a1', 'a2']);
    const second = await listPeople(ports, admin, { limit: '2', cursor: first.cursor! });
    expect(second.items.map((p) => p.key)).toEqual(['a3']);
    expect(
      (await errorOf(() => listPeople(ports, { user: 'a1', groups: ['employees'] }, {}))).statusCode,
    ).toBe(403);
  });
});
