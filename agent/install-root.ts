// The install root (docs/agent.md): one folder per software, each with a manifest
//   <root>/<software>/.upman.json  {software, version, revision, installedAt, updatedAt?, user}
// and the agent's own working area <root>/.upman/ (downloads, staging, journals). Folders whose
// name starts with "." are never software.
import { mkdir, readdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { firstLinkOn, INSTALL_MANIFEST } from '../lib/vendor/package.js';
import { AgentError } from './errors.js';

export const MANIFEST = INSTALL_MANIFEST;
export const STATE_DIR = '.upman';

export interface InstallManifest {
  software: string;
  version: string;
  revision: number | string;
  installedAt: string;
  updatedAt?: string;
  user: string;
  /** The grant the current revision came from (set by `upman download`). */
  grantId?: string;
}

export const SOFTWARE_NAME = /^[A-Za-z0-9][A-Za-z0-9._+-]{0,99}$/;

export const stateDir = (root: string) => join(root, STATE_DIR);
export const downloadsDir = (root: string) => join(root, STATE_DIR, 'downloads');
export const stagingDir = (root: string) => join(root, STATE_DIR, 'staging');
export const journalsDir = (root: string) => join(root, STATE_DIR, 'journals');
export const pendingDir = (root: string) => join(root, STATE_DIR, 'pending');
export const softwareDir = (root: string, software: string) => join(root, software);

/**
 * Refuses when any part of `relative` under the root is a link: the agent never follows links
 * inside its root, so a link cannot send a write, a rename or a delete outside it. Parts that do
 * not exist yet are fine (the agent creates them).
 */
export async function assertNoLinks(root: string, relative: string): Promise<void> {
  const link = await firstLinkOn(root, relative);
  if (link) {
    throw new AgentError(
      'install-failed',
      `${link} is a link; upman never follows links inside the install root ${root}. ` +
        'Nothing was changed: replace it with a real folder (or reinstall) and run the command again.',
      { path: link },
    );
  }
}

export function assertSoftwareName(software: string): void {
  if (!SOFTWARE_NAME.test(software)) {
    throw new AgentError(
      'usage',
      `software must be 1-100 letters, digits, ".", "_", "+" or "-": ${JSON.stringify(software)}`,
    );
  }
}

/** Checks a manifest's fields; the message names the file and the field. */
export function parseManifest(text: string, file: string, folder: string): InstallManifest {
  let m: Record<string, unknown>;
  try {
    m = JSON.parse(text) as Record<string, unknown>;
  } catch {
    throw new AgentError('usage', `${file} is not valid JSON`);
  }
  const bad = (field: string, why: string): never => {
    throw new AgentError('usage', `${file}: ${field} ${why}`);
  };
  if (typeof m !== 'object' || m === null) bad('manifest', 'must be a JSON object');
  if (m.software !== folder) bad('software', `must equal the folder name ${JSON.stringify(folder)}`);
  if (typeof m.version !== 'string' || m.version === '') bad('version', 'must be a version string');
  if (
    !(typeof m.revision === 'number' && Number.isSafeInteger(m.revision) && m.revision >= 0) &&
    typeof m.revision !== 'string'
  ) {
    bad('revision', 'must be a revision number');
  }
  if (typeof m.installedAt !== 'string' || Number.isNaN(Date.parse(m.installedAt)))
    bad('installedAt', 'must be an ISO date-time');
  if (
    m.updatedAt !== undefined &&
    (typeof m.updatedAt !== 'string' || Number.isNaN(Date.parse(m.updatedAt)))
  ) {
    bad('updatedAt', 'must be an ISO date-time');
  }
  if (typeof m.user !== 'string' || m.user === '') bad('user', 'must be a user name');
  return m as unknown as InstallManifest;
}

export async function readInstalled(root: string, software: string): Promise<InstallManifest | undefined> {
  const file = join(softwareDir(root, software), MANIFEST);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new AgentError('usage', `Cannot read ${file}: ${(error as Error).message}`);
  }
  return parseManifest(text, file, software);
}

/** Writes a manifest atomically (temp file + rename), so a crash never leaves half a manifest. */
export async function writeManifest(dir: string, manifest: InstallManifest): Promise<void> {
  const file = join(dir, MANIFEST);
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, `${JSON.stringify(manifest, null, 2)}\n`, { mode: 0o644 });
  await rename(tmp, file);
}

export interface ScanResult {
  installed: InstallManifest[];
  /** Folders without a usable manifest, and why. */
  skipped: Array<{ folder: string; reason: string }>;
}

/** Every software folder of the root with its manifest, sorted by name. */
export async function scanRoot(root: string): Promise<ScanResult> {
  let entries: import('node:fs').Dirent[];
  try {
    entries = await readdir(root, { withFileTypes: true });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new AgentError(
      'usage',
      code === 'ENOENT'
        ? `The install root ${root} does not exist`
        : `Cannot read the install root ${root}: ${code}`,
    );
  }
  const result: ScanResult = { installed: [], skipped: [] };
  for (const entry of entries.sort((a, b) => a.name.localeCompare(b.name))) {
    if (!entry.isDirectory() || entry.name.startsWith('.')) continue;
    try {
      const manifest = await readInstalled(root, entry.name);
      if (manifest) result.installed.push(manifest);
      else result.skipped.push({ folder: entry.name, reason: `no ${MANIFEST}` });
    } catch (error) {
      result.skipped.push({ folder: entry.name, reason: (error as Error).message });
    }
  }
  return result;
}

export async function ensureDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
}
