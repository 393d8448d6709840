// Announcements: the record of one announcement, the per-recipient delivery ledger that makes
// sending idempotent, the queue that carries the fan-out, and the vendor's module lists.
import type { Announcement, AnnouncementRecipient } from '../registry/model.js';

/** One queue message: a slice of an announcement's recipients. */
export interface AnnouncementBatch {
  announcementId: string;
  software: string;
  subject: string;
  message: string;
  recipients: AnnouncementRecipient[];
}

export interface AnnouncementQueue {
  enqueue(batches: AnnouncementBatch[]): Promise<void>;
}

export type ClaimResult =
  /** This caller may send now. */
  | 'claimed'
  /** Already sent, or a send is in progress or in doubt: never send again. */
  | 'skip';

export interface AnnouncementStore {
  putAnnouncement(announcement: Announcement): Promise<void>;
  getAnnouncement(id: string): Promise<Announcement | undefined>;
  /** Conditional write: succeeds only if nothing was sent to `user` yet (or the last try failed). */
  claimDelivery(id: string, user: string, claim: string, at: string): Promise<ClaimResult>;
  completeDelivery(
    id: string,
    user: string,
    claim: string,
    outcome:
      | { status: 'sent'; messageId: string; at: string }
      | { status: 'failed'; error: string; at: string },
  ): Promise<void>;
  deliveryCounts(id: string): Promise<{ sent: number; failed: number; sending: number }>;
}

/**
 * The files of a vendor release, from the release manifest (paths like "bin/core.dll"). A
 * module is a path prefix. undefined: the vendor site does not list that release (yet).
 */
export interface ReleaseModules {
  filesOf(software: string, version: string, revision: number | string): Promise<string[] | undefined>;
}
