// Update announcements (MISSION 【0022】): find the users of software X (optionally some
// versions, optionally only releases containing a module) through the same indexed query as
// "who has X", and mail each user once, listing their affected clients. Sending fans out over a
// queue; each (announcement, user) is claimed with a conditional write before the mail goes.

import { createHash } from 'node:crypto';
import { BadRequest, Conflict, NotFound } from '../errors.js';
import { bodyHashOf, idempotencyKeyOf } from '../http/idempotency.js';
import { type Caller, requireRole } from '../http/identity.js';
import { type DirectoryReader, deliver, recipientsOf } from '../mail/delivery.js';
import type { Mailer } from '../ports/mailer.js';
import type { RegistryStore } from '../ports/registry.js';
import type {
  AnnouncementBatch,
  AnnouncementQueue,
  AnnouncementStore,
  ModuleLookup,
  ReleaseModules,
} from '../ports/registry-announcements.js';
import { newId } from './clients.js';
import type { PageState } from './cursor.js';
import type { Announcement, AnnouncementRecipient } from './model.js';
import type { RateLimiter } from './rate-limit.js';
import { versionRangeOf } from './software.js';
import { booleanOf, requireObject, softwareNameOf, textOf } from './validate.js';

/** Recipients per queue message: small enough to send well within the consumer's timeout. */
export const RECIPIENTS_PER_MESSAGE = 25;
const MODULE = /^[A-Za-z0-9._-][A-Za-z0-9._/-]{0,255}$/;

export interface AnnouncementPorts {
  store: RegistryStore;
  announcements: AnnouncementStore;
  queue: AnnouncementQueue;
  modules?: ReleaseModules;
  /** The directory: each recipient's address (the dry run shows them). */
  people: DirectoryReader;
  now?: () => Date;
}

export function parseAnnouncementBody(body: unknown) {
  const b = requireObject(body);
  const software = softwareNameOf(b.software, 'software');
  const str = (name: string) => (typeof b[name] === 'string' ? (b[name] as string) : undefined);
  for (const f of ['minVersion', 'maxVersion'] as const) {
    if (b[f] !== undefined && typeof b[f] !== 'string')
      throw new BadRequest(`${f} must be a version string`, f);
  }
  const range = versionRangeOf({
    ...(str('minVersion') ? { minVersion: str('minVersion')! } : {}),
    ...(str('maxVersion') ? { maxVersion: str('maxVersion')! } : {}),
  });
  let module: string | undefined;
  if (b.module !== undefined) {
    if (typeof b.module !== 'string' || !MODULE.test(b.module) || b.module.includes('..')) {
      throw new BadRequest(
        'module must be a path prefix in the release, like bin/ or lib/core.dll',
        'module',
      );
    }
    module = b.module;
  }
  return {
    software,
    ...range,
    ...(module ? { module } : {}),
    subject: textOf(b.subject, 'subject', 200),
    message: textOf(b.message, 'message', 20_000),
    dryRun: booleanOf(b.dryRun, 'dryRun', false),
  };
}

/** Every affected user with their clients, in user order. */
export async function findRecipients(
  ports: Pick<AnnouncementPorts, 'store' | 'modules'>,
  q: { software: string; minVersion?: string; maxVersion?: string; module?: string },
): Promise<{ recipients: AnnouncementRecipient[]; clients: number; unverified: number }> {
  const byUser = new Map<string, AnnouncementRecipient>();
  const clientIds = new Set<string>();
  // One manifest read for the whole announcement, not one per installation.
  const contains: ModuleLookup | undefined = q.module
    ? ((await ports.modules?.moduleLookup(q.software, q.module)) ?? (() => undefined))
    : undefined;
  let unverified = 0;
  let after: PageState | undefined;
  do {
    const page = await ports.store.installationsOfSoftware({
      software: q.software,
      sort: 'user',
      ...(q.minVersion ? { minVersion: q.minVersion } : {}),
      ...(q.maxVersion ? { maxVersion: q.maxVersion } : {}),
      limit: 100,
      ...(after ? { after } : {}),
    });
    for (const i of page.items) {
      if (contains) {
        // A revision the manifest does not list cannot be ruled out: it stays in (a fix notice
        // reaching one user too many beats one missing) and is counted as unverified.
        const has = contains(i.revision);
        if (has === false) continue;
        if (has === undefined) unverified++;
      }
      let r = byUser.get(i.user);
      if (!r) {
        r = { user: i.user, clients: [] };
        byUser.set(i.user, r);
      }
      r.clients.push({ clientId: i.clientId, name: i.clientName, version: i.version, revision: i.revision });
      clientIds.add(i.clientId);
    }
    after = page.next;
  } while (after);
  return { recipients: [...byUser.values()], clients: clientIds.size, unverified };
}

/** An announcement's id: from its author and Idempotency-Key if given (a resend lands on it), else random. */
export function announcementIdOf(user: string, idempotencyKey: string | undefined): string {
  if (idempotencyKey === undefined) return newId();
  return createHash('sha256')
    .update(`upman-announcement\n${user}\n${idempotencyKey}`)
    .digest('hex')
    .slice(0, 16);
}

/**
 * POST /announcements (admins). dryRun answers the lists and sends nothing. With an
 * Idempotency-Key header, a resend of the same body answers the same announcement (and queues
 * its recipients if the first request stopped before it did); the same key with another body is
 * 409. Queuing twice is harmless: each (announcement, user) is mailed at most once.
 */
export async function announce(
  ports: AnnouncementPorts,
  caller: Caller,
  body: unknown,
  headers: Record<string, string> = {},
) {
  requireRole(caller, 'admins');
  const key = idempotencyKeyOf(headers, false);
  const input = parseAnnouncementBody(body);
  if (!(await ports.store.getSoftware(input.software))) {
    throw new BadRequest(`software ${input.software} is not in the catalog`, 'software');
  }
  const { dryRun, ...rest } = input;
  const announcementId = announcementIdOf(caller.user, key);
  const bodyHash = bodyHashOf(rest);
  if (!dryRun && key !== undefined) {
    const earlier = await ports.announcements.getAnnouncement(announcementId);
    if (earlier?.queuedAt) return { status: 202, body: answerOf(sameRequest(earlier, bodyHash)) };
  }
  const found = await findRecipients(ports, input);
  const counts = {
    recipients: found.recipients.length,
    clients: found.clients,
    unverifiedClients: found.unverified,
  };
  if (dryRun) {
    const people = await recipientsOf(
      ports.people,
      found.recipients.map((r) => r.user),
    );
    return {
      status: 200,
      body: {
        dryRun: true,
        ...counts,
        recipientList: found.recipients.map((r) => {
          const p = people.get(r.user)!;
          return { ...r, name: p.name, ...(p.address ? { email: p.address } : { noMail: p.missing }) };
        }),
        clientList: [...new Set(found.recipients.flatMap((r) => r.clients.map((c) => c.clientId)))].sort(),
      },
    };
  }
  const now = () => (ports.now?.() ?? new Date()).toISOString();
  let announcement: Announcement = {
    announcementId,
    ...rest,
    ...counts,
    createdAt: now(),
    createdBy: caller.user,
    ...(key !== undefined ? { bodyHash } : {}),
  };
  if ((await ports.announcements.putAnnouncement(announcement)) === 'exists') {
    // A resend whose first request stopped before queuing (or a concurrent resend).
    announcement = sameRequest((await ports.announcements.getAnnouncement(announcementId))!, bodyHash);
  }
  const batches: AnnouncementBatch[] = [];
  for (let i = 0; i < found.recipients.length; i += RECIPIENTS_PER_MESSAGE) {
    batches.push({
      announcementId,
      software: announcement.software,
      subject: announcement.subject,
      message: announcement.message,
      recipients: found.recipients.slice(i, i + RECIPIENTS_PER_MESSAGE),
    });
  }
  await ports.queue.enqueue(batches);
  await ports.announcements.markQueued(announcementId, now());
  return { status: 202, body: answerOf(announcement) };
}

/** The announcement an Idempotency-Key names, if the resend asks for the same thing; else 409. */
function sameRequest(earlier: Announcement, bodyHash: string): Announcement {
  if (earlier.bodyHash !== bodyHash) {
    throw new Conflict(
      'This Idempotency-Key was already used for a different announcement',
      'Idempotency-Key',
    );
  }
  return earlier;
}

const answerOf = (a: Announcement) => ({
  announcementId: a.announcementId,
  recipients: a.recipients,
  clients: a.clients,
  unverifiedClients: a.unverifiedClients ?? 0,
});

/** GET /announcements/{id} (admins): the announcement and how its delivery stands. */
export async function announcementStatus(
  ports: Pick<AnnouncementPorts, 'announcements'>,
  caller: Caller,
  id: string,
) {
  requireRole(caller, 'admins', 'auditors');
  if (!/^[a-f0-9]{16}$/.test(id))
    throw new BadRequest('announcementId is not an announcement id', 'announcementId');
  const a = await ports.announcements.getAnnouncement(id);
  if (!a) throw new NotFound(`No announcement ${id}`, 'announcementId');
  return { ...a, delivery: await ports.announcements.deliveryCounts(id) };
}

export interface DeliveryPorts {
  announcements: AnnouncementStore;
  mailer: Mailer;
  limiter: RateLimiter;
  people: DirectoryReader;
  now?: () => Date;
}

/**
 * Sends one queue message's mails. Each recipient is claimed first (conditional write), so a
 * redelivered message never mails anyone twice; a failed send is released and the whole message
 * fails, so the queue retries it (sent recipients are skipped on the retry).
 */
export async function deliverBatch(ports: DeliveryPorts, batch: AnnouncementBatch) {
  const now = () => (ports.now?.() ?? new Date()).toISOString();
  const result = { sent: 0, skipped: 0, failed: [] as string[], refused: [] as string[] };
  for (const r of batch.recipients) {
    const claim = newId();
    if ((await ports.announcements.claimDelivery(batch.announcementId, r.user, claim, now())) === 'skip') {
      result.skipped++;
      continue;
    }
    try {
      const recipient = (await recipientsOf(ports.people, [r.user])).get(r.user)!;
      if (recipient.address) await ports.limiter.take();
      const delivery = await deliver(ports.mailer, recipient, (to) => ({
        to: [to],
        ...renderAnnouncement(batch, r, recipient.name),
        tag: `announcement-${batch.announcementId}`,
      }));
      if (!delivery.sent) {
        // No address, or SES refused it: recorded on the delivery (GET /announcements/{id}), not retried.
        await ports.announcements.completeDelivery(batch.announcementId, r.user, claim, {
          status: 'failed',
          error: `${delivery.code}: ${delivery.reason}`,
          at: now(),
        });
        result.refused.push(r.user);
        continue;
      }
      await ports.announcements.completeDelivery(batch.announcementId, r.user, claim, {
        status: 'sent',
        messageId: delivery.messageId,
        at: now(),
      });
      result.sent++;
    } catch (error) {
      result.failed.push(r.user);
      await ports.announcements.completeDelivery(batch.announcementId, r.user, claim, {
        status: 'failed',
        error: (error as Error).message ?? String(error),
        at: now(),
      });
    }
  }
  return result;
}

const escapeHtml = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

export function renderAnnouncement(
  batch: Pick<AnnouncementBatch, 'software' | 'subject' | 'message'>,
  r: AnnouncementRecipient,
  name = r.user,
) {
  const lines = r.clients.map(
    (c) => `${c.name ?? c.clientId} (${c.clientId}): ${batch.software} ${c.version} rev ${c.revision}`,
  );
  const text = [
    `Hello ${name},`,
    '',
    `An update for ${batch.software}:`,
    '',
    batch.message,
    '',
    'It concerns these clients of yours:',
    ...lines.map((l) => `  - ${l}`),
    '',
    'You can request the update with the upman agent.',
  ].join('\n');
  const html = [
    `<p>Hello ${escapeHtml(name)},</p>`,
    `<p>An update for <strong>${escapeHtml(batch.software)}</strong>:</p>`,
    `<p>${escapeHtml(batch.message).replace(/\n/g, '<br>')}</p>`,
    '<p>It concerns these clients of yours:</p>',
    `<ul>${lines.map((l) => `<li>${escapeHtml(l)}</li>`).join('')}</ul>`,
    '<p>You can request the update with the upman agent.</p>',
  ].join('\n');
  return { subject: batch.subject, text, html };
}
