// The registry's records as the use cases see them (MISSION "The registry", Fig. 3).
export type LicenceModel = 'per-user' | 'per-client';

export interface Client {
  clientId: string;
  name: string;
  ipAddress: string;
  osRegistrationId: string;
  department: string;
  users: string[];
  createdAt: string;
  updatedAt: string;
}

/** One software on one client: the current state; its past is in the history. */
export interface Installation {
  clientId: string;
  software: string;
  version: string;
  revision: Revision;
  installedAt: string;
  updatedAt?: string;
  user: string;
  /** The client's department and name, copied here so "who has X" can sort by department and
   * an announcement can name the clients without reading each one. */
  department: string;
  clientName: string;
  /** When the registry last changed this record. */
  recordedAt: string;
}

/** A revision as the vendor numbers it: a build number or a short token. */
export type Revision = number | string;

export type HistoryChange = 'installed' | 'updated' | 'removed';

/** Append-only: never updated or deleted. */
export interface HistoryEntry {
  clientId: string;
  software: string;
  change: HistoryChange;
  version: string;
  revision: Revision;
  previousVersion?: string;
  previousRevision?: Revision;
  /** When it happened on the client (install/update date; the report time for removals). */
  at: string;
  user: string;
  /** When the registry learnt of it. */
  recordedAt: string;
  /** Where it came from: an inventory report or the vendor site's download notice (S605). */
  source: 'inventory' | 'download';
}

export interface CatalogEntry {
  name: string;
  vendor: string;
  latestVersion: string;
  latestRevision: Revision;
  licencePrice: number;
  licenceModel: LicenceModel;
  updatedAt: string;
}

export type PeriodKind = 'approver' | 'delegation';

/**
 * One row of the approver table. kind "approver": `approver` approves for `user` in
 * [validFrom, validTo). kind "delegation": approver `user` is away and `delegate` acts for them.
 * Rows are never changed: a change is a new row that supersedes older ones (docs/registry.md).
 */
export interface ApproverPeriod {
  periodId: string;
  kind: PeriodKind;
  user: string;
  approver?: string;
  delegate?: string;
  validFrom: string;
  validTo?: string;
  filedAt: string;
  filedBy: string;
  note?: string;
}

/** What S504 needs: who approves for `user` at time `at`, and who acts for them if away. */
export interface ApproverLookup {
  user: string;
  approver: string;
  validFrom: string;
  validTo?: string;
  delegate?: string;
  delegateValidFrom?: string;
  delegateValidTo?: string;
  /** Whoever must decide: the delegate if one is in force, else the approver. */
  decidedBy: string;
}

/** The update-request workflow's request record, as far as the registry counts it (forecast). */
export type RequestStatus =
  | 'AWAITING_BUDGET'
  | 'AWAITING_APPROVAL'
  | 'APPROVED'
  | 'DOWNLOADED'
  | 'REJECTED'
  | 'EXPIRED'
  | 'FAILED'
  /** Approved, then its download grant was revoked by an admin. */
  | 'REVOKED';

export interface UpdateRequestRecord {
  requestId: string;
  software: string;
  targetVersion: string;
  clientId: string;
  requester: string;
  /** The client's department when the request was made (the forecast splits by it). */
  department?: string;
  status: RequestStatus;
  createdAt: string;
}

/** A request still needs its licence while it waits for budget or approval, or is approved but not yet downloaded. */
export const IN_FLIGHT_STATUSES: readonly RequestStatus[] = [
  'AWAITING_BUDGET',
  'AWAITING_APPROVAL',
  'APPROVED',
];

export function isInFlight(status: RequestStatus): boolean {
  return IN_FLIGHT_STATUSES.includes(status);
}

export interface Announcement {
  announcementId: string;
  software: string;
  minVersion?: string;
  maxVersion?: string;
  module?: string;
  subject: string;
  message: string;
  recipients: number;
  clients: number;
  unverifiedClients?: number;
  createdAt: string;
  createdBy: string;
  /** Digest of the request, when it came with an Idempotency-Key: a resend must match it. */
  bodyHash?: string;
  /** When its recipients were queued; absent if the request stopped before (a resend queues them). */
  queuedAt?: string;
}

export interface AnnouncedClient {
  clientId: string;
  name?: string;
  version: string;
  revision: Revision;
}

export interface AnnouncementRecipient {
  user: string;
  clients: AnnouncedClient[];
}
