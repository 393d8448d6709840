// The directory of people (docs/identity.md): key, login name, display name, e-mail,
// department, active. Written from the caller's token when its claims changed, and by admins,
// one by one or by a bulk import (CSV or JSON) that can be tried first (dry run). Where people
// type a name, resolvePerson turns a login name or e-mail address into the stable key.
import { parse as parseCsv } from 'csv-parse/sync';
import { z } from 'zod';
import { isValidUserName } from '../directory.js';
import { BadRequest, badRequestOf, Conflict, Forbidden, NotFound } from '../errors.js';
import { type Caller, readsEverything, requireRole } from '../http/identity.js';
import type { PeopleStore } from '../ports/people.js';
import type { CursorCodec, PageState } from '../registry/cursor.js';
import { pageSizeOf } from '../registry/validate.js';
import { closestNames } from '../suggest.js';
import type { Person } from './model.js';

export interface PeoplePorts {
  people: PeopleStore;
  now?: () => Date;
}

const EMAIL = /^[^@\s<>"',;()[\]\\]+@[^@\s<>"',;()[\]\\]+\.[^@\s<>"',;()[\]\\]+$/;
const DEPARTMENT = /^[\p{L}\p{N} ._&()/-]{1,64}$/u;
const noControl = (s: string) => [...s].every((c) => c >= ' ' && c !== '\u007f');

const login = z.string().refine(isValidUserName, 'must be a login name (letters, digits, "._@+=:|-")');
const email = z.string().max(254).regex(EMAIL, 'must be an e-mail address');
const displayName = z.string().trim().min(1).max(200).refine(noControl, 'must be printable text');
const department = z.string().regex(DEPARTMENT, 'must be 1-64 letters, digits, spaces or ._&()/-');

/** What an admin may set on a person; absent fields keep their value. */
export const PersonInput = z
  .object({
    login: login.optional(),
    name: displayName.optional(),
    email: email.optional(),
    department: department.optional(),
    active: z.boolean().optional(),
  })
  .strict();
type PersonInput = z.infer<typeof PersonInput>;

const ImportRow = PersonInput.extend({
  key: z.string().refine(isValidUserName, 'must be a person key (letters, digits, "._@+=:|-")'),
});
type ImportRow = z.infer<typeof ImportRow>;

const sameEntry = (a: Person, b: Person) =>
  a.login === b.login &&
  a.name === b.name &&
  a.email === b.email &&
  a.department === b.department &&
  a.active === b.active;

function applied(
  previous: Person | undefined,
  key: string,
  input: PersonInput,
  by: string,
  at: string,
): Person {
  const base = previous ?? { key, login: key, active: true, revision: 0, updatedAt: at, updatedBy: by };
  const next: Person = { ...base, ...input, key };
  for (const field of ['name', 'email', 'department'] as const)
    if (next[field] === undefined) delete next[field];
  return { ...next, revision: base.revision + 1, updatedAt: at, updatedBy: by };
}

const nowOf = (ports: PeoplePorts) => (ports.now?.() ?? new Date()).toISOString();

/** PUT /people/{key} (admins): creates or changes a person. */
export async function putPerson(ports: PeoplePorts, caller: Caller, keyParam: string, body: unknown) {
  requireRole(caller, 'admins');
  if (!isValidUserName(keyParam))
    throw new BadRequest('key must be a person key (letters, digits, "._@+=:|-")', 'key');
  const parsed = PersonInput.safeParse(body ?? {});
  if (!parsed.success) throw badRequestOf(parsed.error);
  const previous = await ports.people.getPerson(keyParam);
  const person = applied(previous, keyParam, parsed.data, caller.user, nowOf(ports));
  if (previous && sameEntry(previous, person)) return { person: previous, created: false };
  await ports.people.savePerson(person, previous);
  return { person, created: previous === undefined };
}

/** GET /people/{key}: the person themselves, admins and auditors. */
export async function getPerson(ports: PeoplePorts, caller: Caller, keyParam: string): Promise<Person> {
  if (keyParam !== caller.user && !readsEverything(caller)) {
    throw new Forbidden('Only the person, an admin or an auditor may read a directory entry');
  }
  const person = await ports.people.getPerson(keyParam);
  if (!person) throw new NotFound(`Nobody in the directory has the key ${keyParam}`, 'key');
  return person;
}

/** GET /people (admins, auditors): the directory, by key, a page at a time. */
export async function listPeople(
  ports: PeoplePorts & { cursors: CursorCodec },
  caller: Caller,
  query: Record<string, string>,
) {
  if (!readsEverything(caller)) throw new Forbidden('Only an admin or an auditor may list the directory');
  const after = ports.cursors.decode('people', query.cursor);
  const page = await ports.people.listPeople({ limit: pageSizeOf(query.limit), ...(after ? { after } : {}) });
  const cursor = ports.cursors.encode('people', page.next);
  return { items: page.items, ...(cursor ? { cursor } : {}) };
}

/**
 * The key of the person a typed name means: their key, login name or e-mail address. Naming
 * nobody, or someone no longer active, is 400 naming the field.
 */
export async function resolvePerson(ports: PeoplePorts, value: unknown, field: string): Promise<string> {
  if (typeof value !== 'string' || value.trim() === '') {
    throw new BadRequest(`${field} must name a person (login name or e-mail address)`, field);
  }
  const typed = value.trim();
  let person = isValidUserName(typed) ? await ports.people.getPerson(typed) : undefined;
  if (!person) {
    const key =
      (await ports.people.keyOfLogin(typed)) ??
      (EMAIL.test(typed) ? await ports.people.keyOfEmail(typed) : undefined);
    if (key) person = await ports.people.getPerson(key);
  }
  if (!person) {
    const near = await peopleNamedLike(ports, typed);
    throw new BadRequest(
      `${field}: nobody in the directory has the login name or e-mail "${typed}"` +
        (near.length > 0 ? `. Did you mean ${near.join(' or ')}?` : ''),
      field,
    );
  }
  if (!person.active) throw new BadRequest(`${field}: ${typed} is no longer active`, field);
  return person.key;
}

/** How much of the directory a typo may read for its "did you mean" (an error path stays cheap). */
const SUGGESTION_SCAN = { pageSize: 250, pages: 4 };

/**
 * "Did you mean …?" for a name that matches nobody: the login names of active people closest to
 * it (lib/suggest.ts), from the first thousand entries of the directory.
 */
async function peopleNamedLike(ports: PeoplePorts, typed: string): Promise<string[]> {
  const logins: string[] = [];
  let after: PageState | undefined;
  for (let page = 0; page < SUGGESTION_SCAN.pages; page++) {
    const found = await ports.people.listPeople({
      limit: SUGGESTION_SCAN.pageSize,
      ...(after ? { after } : {}),
    });
    for (const person of found.items) if (person.active) logins.push(person.login);
    if (!found.next) break;
    after = found.next;
  }
  return closestNames(typed, logins);
}

/** resolvePerson for a list, keeping order. */
export async function resolvePeople(ports: PeoplePorts, values: unknown, field: string): Promise<string[]> {
  if (!Array.isArray(values)) throw new BadRequest(`${field} must be a list of people`, field);
  return Promise.all(values.map((v, i) => resolvePerson(ports, v, `${field}[${i}]`)));
}

/**
 * Keeps the directory in step with the callers' tokens: a person's login, e-mail and display
 * name are written when they differ from what this container last saw for that key, so an
 * unchanged caller costs nothing. Department and active stay the admins'.
 */
export class TokenDirectory {
  private readonly seen = new Map<string, string>();

  constructor(
    private readonly ports: PeoplePorts,
    private readonly warn: (message: string, detail: Record<string, unknown>) => void = () => {},
  ) {}

  async record(caller: Caller): Promise<void> {
    const claims: PersonInput = {};
    if (caller.login && isValidUserName(caller.login)) claims.login = caller.login;
    if (caller.email && email.safeParse(caller.email).success) claims.email = caller.email;
    if (caller.name && displayName.safeParse(caller.name).success) claims.name = caller.name.trim();
    const fingerprint = JSON.stringify([claims.login, claims.email, claims.name]);
    if (this.seen.get(caller.user) === fingerprint) return;
    try {
      const previous = await this.ports.people.getPerson(caller.user);
      const person = applied(previous, caller.user, claims, caller.user, nowOf(this.ports));
      if (!previous || !sameEntry(previous, person)) await this.ports.people.savePerson(person, previous);
      this.seen.set(caller.user, fingerprint);
    } catch (error) {
      // The caller's request goes on; the entry is tried again on their next call.
      this.warn('directory entry not updated from the token', {
        key: caller.user,
        reason: error instanceof Conflict ? error.message : String(error),
      });
    }
  }
}

export type ImportOutcome = 'created' | 'updated' | 'unchanged' | 'conflict';

export interface ImportReport {
  dryRun: boolean;
  counts: Record<ImportOutcome, number>;
  rows: Array<{ row: number; key: string; outcome: ImportOutcome; message?: string }>;
  errors: Array<{ row: number; field: string; message: string }>;
}

export const MAX_IMPORT_ROWS = 500;

/** The rows of an import body: JSON ({people: [...]} or a list) or CSV with a header line. */
export function importRowsOf(body: unknown, rawBody: string | undefined, contentType: string): unknown[] {
  if (contentType.startsWith('text/csv')) {
    let records: Record<string, string>[];
    try {
      records = parseCsv(rawBody ?? '', { columns: true, skip_empty_lines: true, trim: true, bom: true });
    } catch (error) {
      throw new BadRequest(`body is not CSV: ${(error as Error).message}`, 'body');
    }
    return records.map((r) => {
      const row: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(r)) {
        if (v === '') continue;
        row[k] = k === 'active' ? booleanCell(v) : v;
      }
      return row;
    });
  }
  const list = Array.isArray(body) ? body : (body as { people?: unknown } | undefined)?.people;
  if (!Array.isArray(list)) throw new BadRequest('people must be a list (or send text/csv)', 'people');
  return list;
}

function booleanCell(v: string): unknown {
  const t = v.toLowerCase();
  if (['true', 'yes', '1'].includes(t)) return true;
  if (['false', 'no', '0'].includes(t)) return false;
  return v;
}

/**
 * POST /people/import (admins). Every row is checked first — its fields, duplicates within the
 * file, login names and addresses held by someone else — and reported by row and field. A dry
 * run stops there; a real import with any error writes nothing (400), else writes each person.
 */
export async function importPeople(
  ports: PeoplePorts,
  caller: Caller,
  rows: unknown[],
  dryRun: boolean,
): Promise<ImportReport> {
  requireRole(caller, 'admins');
  if (rows.length === 0) throw new BadRequest('people is empty', 'people');
  if (rows.length > MAX_IMPORT_ROWS) {
    throw new BadRequest(`at most ${MAX_IMPORT_ROWS} people per import (split the file)`, 'people');
  }
  const errors: ImportReport['errors'] = [];
  const valid: Array<{ row: number; input: ImportRow }> = [];
  const taken = {
    key: new Map<string, number>(),
    login: new Map<string, number>(),
    email: new Map<string, number>(),
  };
  rows.forEach((raw, i) => {
    const row = i + 1;
    const parsed = ImportRow.safeParse(raw);
    if (!parsed.success) {
      const e = badRequestOf(parsed.error);
      errors.push({ row, field: e.field ?? 'row', message: e.message });
      return;
    }
    for (const field of ['key', 'login', 'email'] as const) {
      const value = parsed.data[field]?.toLowerCase();
      if (value === undefined) continue;
      const first = taken[field].get(value);
      if (first !== undefined) {
        errors.push({ row, field, message: `${field} ${parsed.data[field]} is also in row ${first}` });
        return;
      }
      taken[field].set(value, row);
    }
    valid.push({ row, input: parsed.data });
  });
  const previous = await ports.people.getPeople(valid.map((v) => v.input.key));
  const at = nowOf(ports);
  const plan: Array<{ row: number; person: Person; previous: Person | undefined; outcome: ImportOutcome }> =
    [];
  await inBatches(valid, 10, async ({ row, input }) => {
    const { key, ...fields } = input;
    for (const field of ['login', 'email'] as const) {
      const value = fields[field];
      if (value === undefined) continue;
      const holder =
        field === 'login' ? await ports.people.keyOfLogin(value) : await ports.people.keyOfEmail(value);
      if (holder !== undefined && holder !== key) {
        errors.push({ row, field, message: `${field} ${value} belongs to ${holder} in the directory` });
        return;
      }
    }
    const before = previous.get(key);
    const person = applied(before, key, fields, caller.user, at);
    const outcome: ImportOutcome = !before ? 'created' : sameEntry(before, person) ? 'unchanged' : 'updated';
    plan.push({ row, person, previous: before, outcome });
  });
  plan.sort((a, b) => a.row - b.row);
  errors.sort((a, b) => a.row - b.row);
  const report = (): ImportReport => {
    const counts: ImportReport['counts'] = { created: 0, updated: 0, unchanged: 0, conflict: 0 };
    for (const p of plan) counts[p.outcome]++;
    return {
      dryRun,
      counts,
      rows: plan.map((p) => ({ row: p.row, key: p.person.key, outcome: p.outcome })),
      errors,
    };
  };
  if (dryRun) return report();
  if (errors.length > 0) {
    const first = errors[0]!;
    throw new BadRequest(
      `row ${first.row}: ${first.message}${errors.length > 1 ? ` (and ${errors.length - 1} more: try ?dryRun=true)` : ''}; nothing was imported`,
      `people[${first.row - 1}].${first.field}`,
    );
  }
  await inBatches(plan, 8, async (p) => {
    if (p.outcome === 'unchanged') return;
    try {
      await ports.people.savePerson(p.person, p.previous);
    } catch (error) {
      if (!(error instanceof Conflict)) throw error;
      p.outcome = 'conflict';
      errors.push({ row: p.row, field: error.field ?? 'key', message: error.message });
    }
  });
  return report();
}

async function inBatches<T>(items: T[], size: number, run: (item: T) => Promise<void>): Promise<void> {
  for (let i = 0; i < items.length; i += size) await Promise.all(items.slice(i, i + size).map(run));
}
