// S508 / MISSION "key file": what the workflow needs from the vendor side when a request is
// approved. The vendor issue implements it (grant record + presigned URL); the workflow only
// calls it, so either side can change without the other.
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
  /** Absent when no release is published yet: the grant stands, the key comes on request. */
  key?: IssuedKey;
  /**
   * Why no key came: nothing published yet (the key comes once the vendor publishes), or the
   * release bucket refused the key issuer (AccessDenied: a permission fault to fix, not a failed request).
   */
  keyPending?: { reason: 'not-published' | 'access-denied'; detail?: string };
}

export interface KeyIssuer {
  /** Records the grant (idempotent per request) and issues a first key. */
  grant(request: GrantRequest): Promise<GrantResult>;
}
