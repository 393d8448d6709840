// Announcements: the record of one announcement, the per-recipient delivery ledger that makes
// sending idempotent, the queue that carries the fan-out, and the vendor's module lists.
import type { Announcement, AnnouncementRecipient, Revision } from '../registry/model.js';

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
  /** Conditional on the id being new: 'exists' if an announcement has it already. */
  putAnnouncement(announcement: Announcement): Promise<'created' | 'exists'>;
  /** Records that the announcement's recipients are on the queue. */
  markQueued(id: string, at: string): Promise<void>;
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
 * Which installed releases hold a module, from the vendor's release manifest (files like
 * "bin/core.dll"; a module is a path prefix of them).
 */
export interface ReleaseModules {
  /**
   * Reads the manifest of `software` once (one read per announcement, however many
   * installations) and answers per revision: true or false when the manifest lists that
   * revision, undefined when it does not (or the vendor site has no manifest for `software`).
   */
  moduleLookup(software: string, module: string): Promise<ModuleLookup>;
}

export type ModuleLookup = (revision: Revision) => boolean | undefined;
