// Use cases of the download site's keys (S508, S601–S605): record a grant, issue keys for it to
// its employee or their agent (a presigned GET of the best artifact for the client's revision),
// and complete it exactly once from the agent's confirmation of a verified install. Nothing else
// completes a grant: a fetched URL proves no install (mail scanners fetch every link), and S3's
// access logs name the signing role and an address, never the client (access-log-processor.ts
// keeps them as audit evidence only).
import { randomBytes } from 'node:crypto';
import { BadRequest, Conflict, Forbidden, Gone, NotFound } from '../errors.js';
import type { Caller } from '../http/identity.js';
import type { GrantRequest, GrantResult, IssuedKey } from '../ports/key-issuer.js';
import type { ClientChanges, RegistryStore } from '../ports/registry.js';
import { downloadChangeSet } from '../registry/clients.js';
import { clientIdOf, requireObject } from '../registry/validate.js';
import { parseVersion } from '../registry/version.js';
import { revisionNumberOf, softwareOf, TUF_PREFIX, tufMetadataNames } from './layout.js';
import { chooseArtifact, findRelease, latestRelease, type Manifest, releaseOfVersion } from './manifest.js';
import type { Completion, DownloadNotice, Evidence, Grant } from './model.js';

export interface GrantStore {
  /** Stores the grant unless its request already has one; returns the stored grant either way. */
  createGrant(grant: Grant): Promise<Grant>;
  getGrant(grantId: string): Promise<Grant | undefined>;
  grantOfRequest(requestId: string): Promise<Grant | undefined>;
  /** Pins the target revision if none is pinned yet; returns the pinned one. */
  pinRevision(grantId: string, revision: number): Promise<number>;
  /**
   * One transaction: the grant becomes revoked (only while active and not completed: else
   * "already" / "completed"), its request REVOKED (out of the forecast), and what the request
   * holds released: the ledger's committed (or reserved) cost with an entry, a spare licence.
   */
  revoke(grant: Grant, by: string, at: string): Promise<'revoked' | 'already' | 'completed'>;
  /**
   * One transaction: the grant's completion (only if it has none: otherwise "already"), the
   * registry's change set (installation + history entry, conditional on its base: Conflict if
   * the client's inventory changed) and the request's DOWNLOADED status.
   */
  complete(
    grant: Grant,
    completion: Completion,
    change: ClientChanges | undefined,
  ): Promise<'completed' | 'already'>;
  /** Marks the S604 notice sent; false if it already was. */
  markNoticeSent(grantId: string, at: string): Promise<boolean>;
}

export interface ReleaseReader {
  readManifest(software: string): Promise<Manifest | undefined>;
  presignGet(key: string, options: { grantId: string; expiresInSeconds: number }): Promise<string>;
  /** The version of the site's tuf/root.json; undefined while the site signs no metadata. */
  currentRootVersion?(): Promise<number | undefined>;
  /**
   * When the credentials that sign keys stop working (a role session), if known: a presigned URL
   * dies with the session that signed it, whatever its X-Amz-Expires says.
   */
  signingSessionEnds?(): Promise<Date | undefined>;
}

export interface NoticeSender {
  send(notice: DownloadNotice): Promise<void>;
}

export interface GrantPorts {
  grants: GrantStore;
  releases: ReleaseReader;
  registry: Pick<RegistryStore, 'getClient' | 'inventoriesOf'>;
  notices?: NoticeSender;
  keyTtlSeconds: number;
  grantTtlDays: number;
  now?: () => Date;
}

const nowOf = (ports: { now?: () => Date }) => (ports.now ?? (() => new Date()))();
const newGrantId = () => `g-${randomBytes(12).toString('base64url')}`;
/**
 * The longest a key (presigned URL) lives: a revocation stops renewals at once, and every key
 * already out dies within this. The agent renews keys while it downloads.
 */
export const MAX_KEY_TTL_SECONDS = 900;
/** After this long, a completion whose notice is still unsent is taken as interrupted and resumed. */
export const NOTICE_RESUME_AFTER_MS = 60_000;

/** Which release a grant is for: its pinned revision, its version, or the latest. */
function targetOf(grant: Grant, manifest: Manifest) {
  if (grant.targetRevision !== undefined) return findRelease(manifest, grant.targetRevision);
  if (grant.targetVersion !== undefined) return releaseOfVersion(manifest, grant.targetVersion);
  return latestRelease(manifest);
}

async function issueKey(
  ports: GrantPorts,
  grant: Grant,
  currentRevision: number | null,
  manifest: Manifest | undefined,
  trustedRootVersion: number | null = null,
): Promise<IssuedKey | undefined> {
  const release = manifest && targetOf(grant, manifest);
  if (!manifest || !release) return undefined;
  const revision = grant.targetRevision ?? (await ports.grants.pinRevision(grant.grantId, release.revision));
  const choice = chooseArtifact(manifest, revision, currentRevision);
  if (!choice) return undefined;
  const { artifact } = choice;
  const now = nowOf(ports);
  const lifetime = await keyLifetimeSeconds(ports, now);
  const url = await ports.releases.presignGet(artifact.key, {
    grantId: grant.grantId,
    expiresInSeconds: lifetime,
  });
  // The signed metadata travels the same way as the artifact: presigned, the bucket stays private.
  // Every root the client has not seen yet is offered, however many rotations it missed.
  const currentRoot = await ports.releases.currentRootVersion?.();
  let metadata: Record<string, string> | undefined;
  if (currentRoot !== undefined) {
    metadata = {};
    for (const name of tufMetadataNames({ trusted: trustedRootVersion ?? 1, current: currentRoot })) {
      metadata[name] = await ports.releases.presignGet(`${TUF_PREFIX}${name}`, {
        grantId: grant.grantId,
        expiresInSeconds: lifetime,
      });
    }
  }
  return {
    grantId: grant.grantId,
    url,
    artifactKey: artifact.key,
    ...(metadata ? { metadata } : {}),
    kind: artifact.kind,
    fromRevision: artifact.from,
    toRevision: artifact.to,
    size: artifact.size,
    sha256: artifact.sha256,
    expiresAt: new Date(now.getTime() + lifetime * 1000).toISOString(),
  };
}

/**
 * A key lives min(the configured TTL, 15 minutes, what remains of the signing session): the
 * answer states that.
 */
async function keyLifetimeSeconds(ports: GrantPorts, now: Date): Promise<number> {
  const ttl = Math.min(ports.keyTtlSeconds, MAX_KEY_TTL_SECONDS);
  const sessionEnds = await ports.releases.signingSessionEnds?.();
  if (!sessionEnds) return ttl;
  const remaining = Math.floor((sessionEnds.getTime() - now.getTime()) / 1000);
  return Math.max(1, Math.min(ttl, remaining));
}

/**
 * S508: records the grant (once per request) and pins the release it is for when one is
 * published. No key is issued here: the approval mail names `upman download`, and keys go to
 * the signed-in employee or their agent only (freshKey), never into a mail a scanner may fetch.
 */
export async function grantDownload(ports: GrantPorts, request: GrantRequest): Promise<GrantResult> {
  const software = softwareOf(request.software);
  const clientId = clientIdOf(request.clientId);
  const targetVersion =
    request.targetVersion === undefined ? undefined : parseVersion(request.targetVersion, 'targetVersion');
  let manifest: Manifest | undefined;
  let denied: string | undefined;
  try {
    manifest = await ports.releases.readManifest(software);
  } catch (error) {
    // The grant is the approval's result and stands; a refusal by the bucket is reported, not fatal.
    if ((error as Error).name !== 'ReleaseAccessDenied') throw error;
    denied = (error as Error).message;
  }
  const now = nowOf(ports);
  const proposed: Grant = {
    grantId: newGrantId(),
    requestId: request.requestId,
    clientId,
    user: request.user,
    software,
    ...(targetVersion ? { targetVersion } : {}),
    status: 'active',
    createdAt: now.toISOString(),
    validUntil: new Date(now.getTime() + ports.grantTtlDays * 86_400_000).toISOString(),
  };
  const proposedRelease = manifest && targetOf(proposed, manifest);
  if (proposedRelease) proposed.targetRevision = proposedRelease.revision;
  const grant = await ports.grants.createGrant(proposed);
  const release =
    manifest && grant.targetRevision !== undefined ? findRelease(manifest, grant.targetRevision) : undefined;
  if (release)
    return { grantId: grant.grantId, release: { version: release.version, revision: release.revision } };
  return {
    grantId: grant.grantId,
    keyPending: denied ? { reason: 'access-denied', detail: denied } : { reason: 'not-published' },
  };
}

function assertUsable(grant: Grant, now: Date): void {
  if (grant.status === 'revoked') {
    throw new Gone(
      `The download grant for ${grant.software} was revoked${grant.revokedAt ? ` on ${grant.revokedAt}` : ''}: file a new update request`,
    );
  }
  if (grant.validUntil <= now.toISOString()) {
    throw new Gone(
      `The download grant for ${grant.software} expired on ${grant.validUntil}: file a new update request`,
    );
  }
}

function currentRevisionOf(value: unknown): number | null {
  if (value === undefined || value === null) return null;
  return revisionNumberOf(value, 'currentRevision');
}

/** POST /update-requests/{id}/key: a fresh key for the caller's client at its current revision (claims 6, 7). */
export async function freshKey(
  ports: GrantPorts,
  caller: Caller,
  requestId: string,
  body: unknown,
): Promise<IssuedKey> {
  const b = requireObject(body);
  const clientId = clientIdOf(b.clientId);
  const currentRevision = currentRevisionOf(b.currentRevision);
  const trustedRootVersion =
    b.trustedRootVersion === undefined || b.trustedRootVersion === null
      ? null
      : revisionNumberOf(b.trustedRootVersion, 'trustedRootVersion');
  const grant = await ports.grants.grantOfRequest(requestId);
  if (!grant) throw new NotFound(`Update request ${requestId} has no download grant (is it approved?)`, 'id');
  if (grant.user !== caller.user) throw new Forbidden('This update request belongs to another user');
  if (grant.clientId !== clientId) throw new Forbidden('This download grant is for another client');
  assertUsable(grant, nowOf(ports));
  const manifest = await ports.releases.readManifest(grant.software);
  const key = await issueKey(ports, grant, currentRevision, manifest, trustedRootVersion);
  if (!key) throw new NotFound(`No release of ${grant.software} for this grant is published yet`, 'id');
  return key;
}

/**
 * DELETE /grants/{grantId} (admins): no fresh key afterwards (410), and keys already issued die
 * within their lifetime (at most 15 minutes) — the agent renews keys while it downloads, and
 * renewals are refused now. The request shows REVOKED, the forecast stops counting it, and the
 * ledger gets back what the purchase order committed. A grant whose install was confirmed
 * cannot be revoked (409): the software is on the client.
 */
export async function revokeGrant(ports: GrantPorts, caller: Caller, grantId: string): Promise<Grant> {
  if (!caller.groups.includes('admins')) throw new Forbidden('Only an admin may revoke a download grant');
  const grant = await ports.grants.getGrant(grantId);
  if (!grant) throw new NotFound(`No download grant ${grantId}`, 'grantId');
  const at = nowOf(ports).toISOString();
  const outcome = grant.completedAt ? 'completed' : await ports.grants.revoke(grant, caller.user, at);
  if (outcome === 'completed') {
    throw new Conflict(
      `The download grant ${grantId} was installed and confirmed already; there is nothing to revoke`,
      'grantId',
    );
  }
  const stored = outcome === 'already' ? await ports.grants.getGrant(grantId) : undefined;
  return {
    ...grant,
    status: 'revoked',
    revokedAt: stored?.revokedAt ?? at,
    revokedBy: stored?.revokedBy ?? caller.user,
  };
}

const SHA256 = /^[0-9a-f]{64}$/;

export interface CompletionResult {
  grantId: string;
  /** "recorded" for the confirmation that completed the grant, "already-recorded" for any later one. */
  status: 'recorded' | 'already-recorded';
  completedAt: string;
  evidence: Completion['evidence'];
}

/** POST /grants/{grantId}/confirmation: the agent's word, checked against the artifact's SHA-256. */
export async function confirmDownload(
  ports: GrantPorts,
  caller: Caller,
  grantId: string,
  body: unknown,
): Promise<CompletionResult> {
  const b = requireObject(body);
  const sha256 = typeof b.sha256 === 'string' ? b.sha256.toLowerCase() : '';
  if (!SHA256.test(sha256)) throw new BadRequest('sha256 must be 64 hexadecimal digits', 'sha256');
  const grant = await ports.grants.getGrant(grantId);
  if (!grant) throw new NotFound(`No download grant ${grantId}`, 'grantId');
  if (grant.user !== caller.user) throw new Forbidden('This download grant belongs to another user');
  const manifest = await ports.releases.readManifest(grant.software);
  const release =
    manifest && grant.targetRevision !== undefined ? findRelease(manifest, grant.targetRevision) : undefined;
  const artifact = release?.artifacts.find((a) => a.sha256 === sha256);
  if (!artifact) {
    throw new BadRequest(
      `sha256 matches no artifact of ${grant.software}${release ? ` ${release.version} (revision ${release.revision})` : ''}: the download is incomplete or damaged`,
      'sha256',
    );
  }
  return completeDownload(ports, grant, {
    kind: 'confirmation',
    artifactKey: artifact.key,
    sha256,
    at: nowOf(ports).toISOString(),
  });
}

/**
 * S604 + S605, exactly once per grant. The first evidence writes the completion, the
 * installation's new revision and its history entry in one transaction; every later evidence
 * finds the completion and changes nothing. The S604 notice follows the transaction; if that
 * was interrupted, a later evidence resends it (finance deduplicates by grantId, as any SQS
 * consumer must).
 */
export async function completeDownload(
  ports: GrantPorts,
  grant: Grant,
  evidence: Evidence,
): Promise<CompletionResult> {
  if (grant.completedAt && grant.completion) return finish(ports, grant, 'already-recorded');
  if (grant.targetRevision === undefined)
    throw new Conflict(`Grant ${grant.grantId} has no release yet`, 'grantId');
  const manifest = await ports.releases.readManifest(grant.software);
  const release = manifest && findRelease(manifest, grant.targetRevision);
  if (!release)
    throw new Conflict(`Revision ${grant.targetRevision} of ${grant.software} is not in the manifest`);
  for (let attempt = 1; ; attempt++) {
    const at = nowOf(ports).toISOString();
    const change = await registryChange(ports, grant, release.version, release.revision, evidence.at, at);
    const completion: Completion = {
      evidence: evidence.kind,
      artifactKey: evidence.artifactKey,
      version: release.version,
      revision: release.revision,
      at,
      historyWritten: change !== undefined,
    };
    try {
      const outcome = await ports.grants.complete(grant, completion, change);
      if (outcome === 'already') {
        const stored = (await ports.grants.getGrant(grant.grantId)) ?? grant;
        return finish(ports, stored, 'already-recorded');
      }
      return finish(ports, { ...grant, completedAt: at, completion }, 'recorded', true);
    } catch (error) {
      // The installation changed between our read and the write (an inventory report): re-read once.
      if (error instanceof Conflict && attempt < 2) continue;
      throw error;
    }
  }
}

/** The installation's new revision and its history entry; undefined when the registry already shows it. */
async function registryChange(
  ports: GrantPorts,
  grant: Grant,
  version: string,
  revision: number,
  at: string,
  recordedAt: string,
): Promise<ClientChanges | undefined> {
  const client = await ports.registry.getClient(grant.clientId);
  if (!client) throw new Conflict(`Client ${grant.clientId} is not in the registry`, 'clientId');
  const base = (await ports.registry.inventoriesOf([client.clientId])).get(client.clientId)!;
  return downloadChangeSet(
    client,
    base,
    { software: grant.software, version, revision, at, user: grant.user },
    recordedAt,
  );
}

async function finish(
  ports: GrantPorts,
  grant: Grant,
  status: CompletionResult['status'],
  justCompleted = false,
): Promise<CompletionResult> {
  const completion = grant.completion!;
  const stale = Date.parse(grant.completedAt!) + NOTICE_RESUME_AFTER_MS <= nowOf(ports).getTime();
  if (ports.notices && !grant.noticeSentAt && (justCompleted || stale)) {
    await ports.notices.send({
      type: 'download-completed',
      grantId: grant.grantId,
      requestId: grant.requestId,
      clientId: grant.clientId,
      user: grant.user,
      software: grant.software,
      version: completion.version,
      revision: completion.revision,
      artifactKey: completion.artifactKey,
      evidence: completion.evidence,
      completedAt: grant.completedAt!,
    });
    await ports.grants.markNoticeSent(grant.grantId, nowOf(ports).toISOString());
  }
  return { grantId: grant.grantId, status, completedAt: grant.completedAt!, evidence: completion.evidence };
}
