// Installing a downloaded package into <root>/<software>/ (【0015】【0028】) with an atomic swap:
// build the new tree in <root>/.upman/staging (hard links to the old one's unchanged files plus
// the patched ones, or the unpacked full package), then rename old → backup and staging → live. A journal written
// before the first rename lets the next run finish or undo a swap that a kill interrupted;
// any failure before the swap leaves the old tree untouched. The agent never acts outside its
// root: package paths pass the package rule (lib/vendor/package.ts) before anything is written,
// links in the installed tree or the agent's own folders are refused, never followed, and a
// recovery journal is acted on only when every path it names is the one this root would have.
import { randomBytes } from 'node:crypto';
import {
  chmod,
  copyFile,
  link,
  mkdir,
  mkdtemp,
  open,
  readdir,
  readFile,
  rename,
  rm,
  stat,
  writeFile,
} from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { unpackFull } from '../lib/vendor/apply.js';
import { readDeltaHeader, writeDeltaFiles } from '../lib/vendor/delta.js';
import { INSTALL_MANIFEST, scanTree } from '../lib/vendor/package.js';
import { AgentError } from './errors.js';
import {
  assertNoLinks,
  type InstallManifest,
  journalsDir,
  readInstalled,
  SOFTWARE_NAME,
  STATE_DIR,
  softwareDir,
  stagingDir,
  writeManifest,
} from './install-root.js';

/** Points at which a test may stop the process (UPMAN_TEST_KILL_AT). */
export type ApplyPoint = 'staged' | 'journaled' | 'backed-up' | 'swapped';

export interface ApplyInput {
  root: string;
  software: string;
  archive: string;
  kind: 'full' | 'delta';
  /** For a delta: the revision it applies to (must be what is installed). */
  fromRevision: number | null;
  /** The new manifest (version, revision, dates, user, grant). */
  manifest: InstallManifest;
  hooks?: { at?: (point: ApplyPoint) => void | Promise<void> };
}

export interface ApplyResult {
  added: string[];
  changed: string[];
  deleted: string[];
}

interface Journal {
  software: string;
  live: string;
  stage: string;
  backup: string | null;
  startedAt: string;
}

const UNWRITABLE = new Set(['EACCES', 'EPERM', 'EROFS']);

function unwritable(root: string, error: unknown, software: string): AgentError | undefined {
  const code = (error as NodeJS.ErrnoException).code;
  if (!code || !UNWRITABLE.has(code)) return undefined;
  return new AgentError(
    'root-unwritable',
    `The install root ${root} is not writable (${code}): nothing was changed and ${software} stays as it was. ` +
      'Fix the permissions (or run as a user who may write there) and run the command again.',
    { root, errno: code },
  );
}

/** The folders of the root the agent writes, renames or deletes in: none may be (or pass) a link. */
const WORKING_PATHS = [`${STATE_DIR}/locks`, `${STATE_DIR}/staging`, `${STATE_DIR}/journals`];

export async function applyPackage(input: ApplyInput): Promise<ApplyResult> {
  const { root, software } = input;
  const at = input.hooks?.at ?? (() => {});
  const live = softwareDir(root, software);
  for (const path of [...WORKING_PATHS, software]) await assertNoLinks(root, path);
  const release = await acquireLock(root, software);
  let stage: string | undefined;
  let backup: string | null = null;
  let journalFile: string | undefined;
  let movedOld = false;
  try {
    await recoverInstalls(root, { holding: software });
    await mkdir(stagingDir(root), { recursive: true });
    await mkdir(journalsDir(root), { recursive: true });
    stage = await mkdtemp(join(stagingDir(root), `${software}-new-`));
    // mkdtemp makes the folder 0700; an installed program must be readable by every user of the PC.
    await chmod(stage, 0o755);

    const old = await readInstalled(root, software);
    const liveExists = await exists(live);
    let result: ApplyResult | undefined;
    if (input.kind === 'delta') {
      if (!old || String(old.revision) !== String(input.fromRevision)) {
        throw new AgentError(
          'install-failed',
          `The package is a delta from revision ${input.fromRevision}, but ${software} is at ${old ? `revision ${old.revision}` : 'no revision (not installed)'}; ` +
            'run the command again to get a key that matches this client',
        );
      }
      const opened = await readDeltaHeader(input.archive);
      const { header } = opened;
      if (header.software !== software || String(header.from) !== String(old.revision)) {
        throw new AgentError(
          'install-failed',
          `The package is a delta of ${header.software} from revision ${header.from}, not for ${software} at revision ${old.revision}`,
        );
      }
      // Every path of the header passed the package rule when it was read (readDeltaHeader).
      // Cost in proportion to the change: unchanged files are hard-linked, not copied or
      // hashed (the previous install verified them); only the patched files are written and
      // hashed. The walk refuses any link in the installed tree before a byte is written.
      const replaced = new Set([...header.files.map((f) => f.path), ...header.deleted, INSTALL_MANIFEST]);
      await linkTree(live, stage, replaced);
      await writeDeltaFiles(input.archive, live, stage, opened);
      result = {
        added: header.files.filter((f) => !f.old).map((f) => f.path),
        changed: header.files.filter((f) => f.old).map((f) => f.path),
        deleted: header.deleted,
      };
    } else {
      // The package rule refuses links, paths leaving the package and the install manifest.
      await unpackFull(input.archive, stage);
    }
    await writeManifest(stage, input.manifest);
    result ??= await diffTrees(liveExists ? live : undefined, stage);
    await at('staged');

    backup = liveExists ? join(stagingDir(root), `${software}-old-${randomBytes(4).toString('hex')}`) : null;
    const journal: Journal = { software, live, stage, backup, startedAt: new Date().toISOString() };
    journalFile = await writeJournal(root, journal);
    await at('journaled');

    if (backup) {
      await rename(live, backup);
      movedOld = true;
      await at('backed-up');
    }
    await rename(stage, live);
    stage = undefined;
    await at('swapped');
    // Committed: what follows only tidies up.
    await rm(journalFile, { force: true });
    journalFile = undefined;
    if (backup) await rm(backup, { recursive: true, force: true }).catch(() => {});
    return result;
  } catch (error) {
    // Roll back: the old tree goes back to its place, the half-built one away.
    if (movedOld && backup && !(await exists(live))) await rename(backup, live).catch(() => {});
    if (stage) await rm(stage, { recursive: true, force: true }).catch(() => {});
    if (journalFile) await rm(journalFile, { force: true }).catch(() => {});
    const wrapped = unwritable(root, error, software);
    if (wrapped) throw wrapped;
    if (error instanceof AgentError) throw error;
    throw new AgentError(
      'install-failed',
      `Installing ${software} failed (${(error as Error).message}); the previous version was kept. Run the command again to retry.`,
    );
  } finally {
    await release();
  }
}

async function writeJournal(root: string, journal: Journal): Promise<string> {
  const file = join(journalsDir(root), `${journal.software}.json`);
  const tmp = `${file}.tmp`;
  const handle = await open(tmp, 'w', 0o644);
  try {
    await handle.writeFile(`${JSON.stringify(journal)}\n`);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(tmp, file);
  return file;
}

export interface Recovered {
  software: string;
  outcome: 'rolled-back' | 'completed';
}

/**
 * Finishes or undoes swaps a killed process left behind (one journal per software), then
 * removes staging leftovers. If the new tree had reached its place the swap is completed (it
 * was fully built and checked before the swap began); otherwise the old tree is put back.
 */
export async function recoverInstalls(
  root: string,
  options: { holding?: string } = {},
): Promise<Recovered[]> {
  const dir = journalsDir(root);
  let names: string[];
  try {
    names = (await readdir(dir)).filter((n) => n.endsWith('.json'));
  } catch {
    names = [];
  }
  const recovered: Recovered[] = [];
  for (const path of WORKING_PATHS) await assertNoLinks(root, path);
  for (const name of names) {
    const file = join(dir, name);
    const journal = checkedJournal(root, file, await readFile(file, 'utf8'));
    await assertNoLinks(root, journal.software);
    let release: () => Promise<void> = async () => {};
    if (journal.software !== options.holding) {
      // A live process is mid-install of that software: its journal is not ours to resolve.
      if (await lockHeld(root, journal.software)) continue;
      release = await acquireLock(root, journal.software);
    }
    try {
      const liveExists = await exists(journal.live);
      if (await exists(journal.stage)) {
        // The new tree never reached its place.
        if (!liveExists && journal.backup && (await exists(journal.backup)))
          await rename(journal.backup, journal.live);
        await rm(journal.stage, { recursive: true, force: true });
        recovered.push({ software: journal.software, outcome: 'rolled-back' });
      } else if (liveExists) {
        if (journal.backup) await rm(journal.backup, { recursive: true, force: true });
        recovered.push({ software: journal.software, outcome: 'completed' });
      } else if (journal.backup && (await exists(journal.backup))) {
        await rename(journal.backup, journal.live);
        recovered.push({ software: journal.software, outcome: 'rolled-back' });
      }
      await rm(file, { force: true });
    } finally {
      await release();
    }
  }
  // Staging folders no journal names are builds a kill interrupted before the swap began.
  try {
    for (const name of await readdir(stagingDir(root))) {
      const software = name.replace(/-(new|old)-[^-]+$/, '');
      if (!(await lockHeld(root, software)))
        await rm(join(stagingDir(root), name), { recursive: true, force: true });
    }
  } catch {
    // no staging folder: nothing to tidy
  }
  return recovered;
}

/**
 * A journal's paths must be exactly those this root would use for its software: the live folder
 * and staging folders directly under <root>/.upman/staging named after it. Anything else (an
 * absolute path elsewhere, a "..", another software's folder) is refused before any change.
 */
function checkedJournal(root: string, file: string, text: string): Journal {
  let j: Partial<Journal>;
  try {
    j = JSON.parse(text) as Partial<Journal>;
  } catch {
    j = {};
  }
  const software = typeof j.software === 'string' ? j.software : '';
  const staging = resolve(stagingDir(root));
  const inStaging = (path: unknown, kind: 'new' | 'old') =>
    typeof path === 'string' &&
    dirname(resolve(path)) === staging &&
    basename(path).startsWith(`${software}-${kind}-`) &&
    resolve(path) === path;
  const ok =
    SOFTWARE_NAME.test(software) &&
    basename(file) === `${software}.json` &&
    typeof j.live === 'string' &&
    resolve(j.live) === resolve(softwareDir(root, software)) &&
    inStaging(j.stage, 'new') &&
    (j.backup === null || inStaging(j.backup, 'old'));
  if (!ok) {
    throw new AgentError(
      'install-failed',
      `The recovery journal ${file} names paths that are not this root's (${JSON.stringify({ live: j.live, stage: j.stage, backup: j.backup })}); ` +
        `upman refuses to act on it and changed nothing. Check ${root}, remove the journal, and run the command again.`,
      { journal: file },
    );
  }
  return j as Journal;
}

/** One installer per software at a time: an exclusive lock file holding the owner's pid. */
async function acquireLock(root: string, software: string): Promise<() => Promise<void>> {
  const dir = join(root, STATE_DIR, 'locks');
  const file = join(dir, `${software}.lock`);
  try {
    await mkdir(dir, { recursive: true });
  } catch (error) {
    throw unwritable(root, error, software) ?? error;
  }
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      await writeFile(file, String(process.pid), { flag: 'wx' });
      return () => rm(file, { force: true });
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== 'EEXIST') throw unwritable(root, error, software) ?? error;
      const pid = Number((await readFile(file, 'utf8').catch(() => '')).trim());
      if (pid && pid !== process.pid && alive(pid)) {
        throw new AgentError(
          'install-failed',
          `Another upman (pid ${pid}) is installing ${software} right now; try again when it is done`,
        );
      }
      await rm(file, { force: true }); // left by a process that died
    }
  }
  throw new AgentError('install-failed', `Cannot take the install lock ${file}`);
}

async function lockHeld(root: string, software: string): Promise<boolean> {
  const pid = Number(
    (await readFile(join(root, STATE_DIR, 'locks', `${software}.lock`), 'utf8').catch(() => '')).trim(),
  );
  return pid > 0 && pid !== process.pid && alive(pid);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Mirrors `from` into `to` with hard links (a copy where the file system refuses one), leaving
 * out the relative paths in `skip`. Files are replaced, never written into, so the link is safe.
 */
async function linkTree(from: string, to: string, skip: Set<string>, prefix = ''): Promise<void> {
  for (const entry of await readdir(from, { withFileTypes: true })) {
    const path = prefix ? `${prefix}/${entry.name}` : entry.name;
    const source = join(from, entry.name);
    const target = join(to, entry.name);
    if (entry.isDirectory()) {
      await mkdir(target);
      await chmod(target, (await stat(source)).mode & 0o7777);
      await linkTree(source, target, skip, path);
    } else if (skip.has(path)) {
    } else if (entry.isFile()) {
      await link(source, target).catch(() => copyFile(source, target));
    } else {
      // Never followed, never copied: a link could send the delta's writes outside the root.
      throw new AgentError(
        'install-failed',
        `The installed tree holds a link or special file at ${source}; upman never follows links in its root. ` +
          'Nothing outside was touched and the installed version stays as it was: remove the link (or reinstall) and run the command again.',
        { path: source },
      );
    }
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

/** What the install changes, file by file (the manifest itself excluded). */
export async function diffTrees(before: string | undefined, after: string): Promise<ApplyResult> {
  const old = new Map(before ? (await scanTree(before)).map((f) => [f.path, f]) : []);
  const result: ApplyResult = { added: [], changed: [], deleted: [] };
  for (const f of await scanTree(after)) {
    if (f.path === INSTALL_MANIFEST) continue;
    const o = old.get(f.path);
    old.delete(f.path);
    if (!o) result.added.push(f.path);
    else if (o.sha256 !== f.sha256 || o.mode !== f.mode) result.changed.push(f.path);
  }
  for (const path of old.keys()) if (path !== INSTALL_MANIFEST) result.deleted.push(path);
  return result;
}
