// Storage of the approver table: append-only periods per user (kind "approver") and per
// approver (kind "delegation").
import type { ApproverPeriod, PeriodKind } from '../registry/model.js';
import type { Page, PageRequest } from './registry.js';

export interface ApproverStore {
  /** Appends a period; never overwrites one. */
  putPeriod(period: ApproverPeriod): Promise<void>;
  /** Periods of (kind, user) with validFrom <= at, latest validFrom first (ties: latest filed first). */
  periodsStartedBy(
    kind: PeriodKind,
    user: string,
    at: string,
    page: PageRequest,
  ): Promise<Page<ApproverPeriod>>;
  /** Every period of (kind, user) in validFrom order. */
  listPeriods(kind: PeriodKind, user: string, page: PageRequest): Promise<Page<ApproverPeriod>>;
}
