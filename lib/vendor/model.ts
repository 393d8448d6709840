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
  /** S604/S605 bookkeeping: set once, by whichever evidence comes first. */
  completedAt?: string;
  completion?: Completion;
  noticeSentAt?: string;
}

export type Evidence =
  | { kind: 'access-log'; artifactKey: string; bytes: number; logObject: string; at: string }
  | { kind: 'confirmation'; artifactKey: string; sha256: string; at: string };

export interface Completion {
  evidence: Evidence['kind'];
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
  evidence: Evidence['kind'];
  completedAt: string;
}

export type FreshKey = IssuedKey;
