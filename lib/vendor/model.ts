// The grant (S508, DESIGN §5): the right to download one software revision onto one client,
// recorded at approval. It outlives every key (presigned URL) issued for it.
import type { IssuedKey } from '../ports/key-issuer.js';

export interface Grant {
  grantId: string;
  requestId: string;
  clientId: string;
  user: string;
  software: string;
  /** As approved; undefined means the latest published release at approval time. */
  targetVersion?: string;
  /** Pinned once a release is known (at approval, or at the first key when nothing was published yet). */
  targetRevision?: number;
  status: 'active' | 'revoked';
  createdAt: string;
  /** A fresh key can be asked for until then (410 afterwards). */
  validUntil: string;
  revokedAt?: string;
  revokedBy?: string;
  /** S604/S605 bookkeeping: set once, by the agent's confirmation of a verified install. */
  completedAt?: string;
  completion?: Completion;
  noticeSentAt?: string;
}

/** What completes a grant: the agent's confirmation that it verified and installed the artifact. */
export interface Evidence {
  kind: 'confirmation';
  artifactKey: string;
  sha256: string;
  at: string;
}

export interface Completion {
  /** 'access-log' on grants completed before access logs became audit evidence only. */
  evidence: Evidence['kind'] | 'access-log';
  artifactKey: string;
  version: string;
  revision: number;
  at: string;
  /** Whether the registry got a history entry (false when it already showed this revision). */
  historyWritten: boolean;
}

/** S604: the message on finance's download-completed queue. `grantId` is its idempotency key. */
export interface DownloadNotice {
  type: 'download-completed';
  grantId: string;
  requestId: string;
  clientId: string;
  user: string;
  software: string;
  version: string;
  revision: number;
  artifactKey: string;
  evidence: Completion['evidence'];
  completedAt: string;
}

/**
 * Audit evidence from the release bucket's access logs: successful GETs of one artifact made
 * with a grant's key, as one log object shows them. Kept for audit; it changes nothing else.
 */
export interface LogEvidence {
  grantId: string;
  logObject: string;
  artifactKey: string;
  requests: number;
  bytes: number;
  /** One 200 sent the whole object. */
  whole: boolean;
  firstAt: string;
  lastAt: string;
  /** Remote addresses as S3 logged them (the requester is the signing role, never the client). */
  remoteIps: string[];
}

export type FreshKey = IssuedKey;
