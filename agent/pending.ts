// A confirmation not yet accepted by the server (S604/S605 evidence from the agent): kept in
// <root>/.upman/pending/<requestId>.json until POST /grants/{grantId}/confirmation succeeds,
// so a rerun of `upman download` sends it instead of downloading again.
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pendingDir } from './install-root.js';

export interface PendingConfirmation {
  software: string;
  grantId: string;
  sha256: string;
  kind: 'full' | 'delta';
  fromRevision: number | null;
  toRevision: number;
}

const fileOf = (root: string, requestId: string) =>
  join(pendingDir(root), `${requestId.replace(/[^A-Za-z0-9._-]/g, '_')}.json`);

export async function writePending(root: string, requestId: string, p: PendingConfirmation): Promise<void> {
  await mkdir(pendingDir(root), { recursive: true });
  const file = fileOf(root, requestId);
  await writeFile(`${file}.tmp`, JSON.stringify(p));
  await rename(`${file}.tmp`, file);
}

export async function readPending(root: string, requestId: string): Promise<PendingConfirmation | undefined> {
  try {
    return JSON.parse(await readFile(fileOf(root, requestId), 'utf8')) as PendingConfirmation;
  } catch {
    return undefined;
  }
}

export async function clearPending(root: string, requestId: string): Promise<void> {
  await rm(fileOf(root, requestId), { force: true });
}
