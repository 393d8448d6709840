// The registry's routes at the edge: path, query and body of each, bounded before any use case
// runs. Bodies keep the fields the use cases read (unknown ones are dropped, never stored).
import { isIP } from 'node:net';
import { z } from 'zod';
import { MAX_INVENTORY_ITEMS, MAX_REPORTS_PER_CALL, MAX_USERS_PER_CLIENT } from '../../registry/clients.js';
import {
  booleanText,
  clientId,
  department,
  instant,
  optionalParam,
  page,
  revision,
  softwareName,
  text,
  user,
  version,
} from '../fields.js';

export const ClientPath = z.object({ clientId });
export const SoftwarePath = z.object({ name: softwareName });
export const UserPath = z.object({ user });
export const PersonPath = z.object({ key: user });
export const AnnouncementPath = z.object({
  announcementId: z.string().regex(/^[a-f0-9]{16}$/, 'is not an announcement id'),
});

export const PageQuery = z.object(page);
export const InstallationsQuery = PageQuery.extend({
  minVersion: optionalParam(version),
  maxVersion: optionalParam(version),
  sort: optionalParam(z.enum(['user', 'department', 'version'])),
});
export const ForecastQuery = z.object({ targetVersion: version });
export const AtQuery = z.object({ at: optionalParam(instant) });
export const PeriodsQuery = PageQuery.extend({ kind: optionalParam(z.enum(['approver', 'delegation'])) });

export const ClientBody = z.object({
  name: text(128),
  ipAddress: z
    .string()
    .max(45)
    .refine((s) => isIP(s) !== 0, 'must be an IPv4 or IPv6 address'),
  osRegistrationId: text(128),
  department,
  // A client is somebody's: an enrolment without a user would be nobody's to report or request for.
  users: z.array(user).min(1, 'must name at least one user').max(MAX_USERS_PER_CLIENT),
});

const ReportedItem = z.object({
  software: softwareName,
  version,
  revision,
  installedAt: instant,
  updatedAt: instant.optional(),
  user,
});
export const InventoryBody = z.object({ items: z.array(ReportedItem).max(MAX_INVENTORY_ITEMS) });
export const InventoriesBody = z.object({
  reports: z
    .array(z.object({ clientId, items: InventoryBody.shape.items }))
    .min(1)
    .max(MAX_REPORTS_PER_CALL),
});

export const CatalogBody = z.object({
  vendor: text(128),
  latestVersion: version,
  latestRevision: revision,
  licencePrice: z.number().min(0).max(1e9),
  // Spellings such as "per user" are read by the use case; the set stays small.
  licenceModel: z.string().max(32),
});

export const PeriodBody = z.object({
  kind: z.enum(['approver', 'delegation']).optional(),
  approver: user.optional(),
  delegate: user.optional(),
  validFrom: instant,
  validTo: instant.nullable().optional(),
  note: text(500).optional(),
});

export const ImportQuery = z.object({ dryRun: optionalParam(booleanText) });

export const AnnouncementBody = z.object({
  software: softwareName,
  minVersion: version.optional(),
  maxVersion: version.optional(),
  module: z.string().max(256).optional(),
  subject: text(200),
  message: text(20_000),
  dryRun: z.boolean().optional(),
});

/** A TUF root.json, kept whole (its digest is what agents compare) and small enough to store. */
export const VendorRootBody = z
  .object({
    signed: z.record(z.string(), z.unknown()),
    signatures: z.array(z.object({ keyid: z.string().max(128), sig: z.string().max(2048) }).loose()).max(64),
  })
  .loose()
  .refine((root) => JSON.stringify(root).length <= 100_000, 'must be at most 100,000 characters of JSON');
