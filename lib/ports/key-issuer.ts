// S508 / MISSION "key file": what the workflow needs from the vendor side when a request is
// approved: the grant. Keys (presigned URLs) are never issued here: mail scanners fetch every
// link a mail carries, so a key goes only to the signed-in employee or their agent, on request
// (POST /update-requests/{id}/key). The workflow only calls this port, so either side can change
// without the other.
export interface GrantRequest {
  requestId: string;
  clientId: string;
  user: string;
  software: string;
  /** Target version; undefined means the catalog's latest. */
  targetVersion?: string;
}

export interface IssuedKey {
  grantId: string;
  url: string;
  kind: 'delta' | 'full';
  fromRevision: number | null;
  toRevision: number;
  size: number;
  sha256: string;
  expiresAt: string;
  /** The artifact's key in the release bucket: its target path in the signed metadata. */
  artifactKey?: string;
  /** Presigned URLs of the vendor's signed release metadata (TUF), by file name under tuf/. */
  metadata?: Record<string, string>;
}

export interface GrantResult {
  grantId: string;
  /** The release the grant is for, when one is published: `upman download` fetches it. */
  release?: { version: string; revision: number };
  /**
   * Why no key came: nothing published yet (the key comes once the vendor publishes), or the
   * release bucket refused the key issuer (AccessDenied: a permission fault to fix, not a failed request).
   */
  keyPending?: { reason: 'not-published' | 'access-denied'; detail?: string };
}

export interface KeyIssuer {
  /** Records the grant (idempotent per request) and pins the release it is for, if published. */
  grant(request: GrantRequest): Promise<GrantResult>;
}
