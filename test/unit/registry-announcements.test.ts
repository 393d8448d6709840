import { beforeEach, describe, expect, it } from 'vitest';
import { ManifestReleaseModules, moduleLookupOf } from '../../lib/adapters/s3/release-modules.js';
import {
  announce,
  announcementStatus,
  deliverBatch,
  RECIPIENTS_PER_MESSAGE,
} from '../../lib/registry/announcements.js';
import { putClient, reportInventory } from '../../lib/registry/clients.js';
import { tokenBucket } from '../../lib/registry/rate-limit.js';
import { putSoftware } from '../../lib/registry/software.js';
import { admin, employee, errorOf, memoryPorts, RecordingMailer } from './registry-fakes.js';

describe('announcements', () => {
  let ports: ReturnType<typeof memoryPorts>;
  beforeEach(async () => {
    ports = memoryPorts();
    await putSoftware(ports, admin, 'Office', {
      vendor: 'Contoso',
      latestVersion: '2.0',
      latestRevision: 20,
      licencePrice: 1,
      licenceModel: 'per-user',
    });
    const setup: Array<[string, string, string]> = [
      ['pc-a1', 'ando', '1.9'],
      ['pc-a2', 'ando', '1.10'],
      ['pc-s1', 'suzuki', '2.0'],
      ['pc-k1', 'kaneda', '1.2'],
    ];
    for (const [id, user, version] of setup) {
      await putClient(ports, admin, id, {
        name: `Client ${id}`,
        ipAddress: '10.0.0.1',
        osRegistrationId: 'os',
        department: 'Sales',
        users: [user],
      });
      await reportInventory(ports, admin, id, {
        items: [{ software: 'Office', version, revision: 1, installedAt: '2025-01-01', user }],
      });
    }
  });
  const body = {
    software: 'Office',
    maxVersion: '1.10',
    subject: 'Office 2.0 is out',
    message: 'Fixes <everything>.',
  };

  it('answers a dry run with the recipients and clients it would mail, sending nothing', async () => {
    const { status, body: answer } = await announce(ports, admin, { ...body, dryRun: true });
    expect(status).toBe(200);
    expect(answer).toMatchObject({ recipients: 2, clients: 3, clientList: ['pc-a1', 'pc-a2', 'pc-k1'] });
    expect(
      (answer as { recipientList: Array<{ user: string; email: string }> }).recipientList.map((r) => [
        r.user,
        r.email,
      ]),
    ).toEqual([
      ['ando', 'ando@corp.example'],
      ['kaneda', 'kaneda@corp.example'],
    ]);
    expect(ports.queue.batches).toHaveLength(0);
  });

  it('queues the fan-out and mails each user once, HTML and text, listing their clients', async () => {
    const { status, body: answer } = await announce(ports, admin, body);
    expect(status).toBe(202);
    expect(answer).toMatchObject({ recipients: 2, clients: 3 });
    expect(ports.queue.batches).toHaveLength(1);
    const mailer = new RecordingMailer();
    const delivery = { announcements: ports.store, people: ports.people, mailer, limiter: tokenBucket(1000) };
    const batch = ports.queue.batches[0]!;
    expect(await deliverBatch(delivery, batch)).toEqual({ sent: 2, skipped: 0, failed: [], refused: [] });
    // The queue delivers the message again: nobody is mailed twice.
    expect(await deliverBatch(delivery, batch)).toEqual({ sent: 0, skipped: 2, failed: [], refused: [] });
    expect(mailer.sent.map((m) => m.to[0])).toEqual(['ando@corp.example', 'kaneda@corp.example']);
    const ando = mailer.sent[0]!;
    expect(ando.subject).toBe('Office 2.0 is out');
    expect(ando.text).toContain('Client pc-a1 (pc-a1): Office 1.9');
    expect(ando.text).toContain('pc-a2');
    expect(ando.text).not.toContain('pc-k1');
    expect(ando.html).toContain('Fixes &lt;everything&gt;.');
    const id = (answer as { announcementId: string }).announcementId;
    expect((await announcementStatus(ports, admin, id)).delivery).toEqual({ sent: 2, failed: 0, sending: 0 });
  });

  it('answers a resend with the same Idempotency-Key with the same announcement, queued once', async () => {
    const headers = { 'idempotency-key': 'announce-office-2.0' };
    const first = await announce(ports, admin, body, headers);
    expect(first.status).toBe(202);
    const again = await announce(ports, admin, body, headers);
    expect(again).toEqual(first);
    expect(ports.queue.batches).toHaveLength(1);
    expect(ports.store.announcementsById.size).toBe(1);
    // Another admin's key is theirs: the same string names another announcement.
    const other = await announce(ports, { ...admin, user: 'root2' }, body, headers);
    const idOf = (a: { body: unknown }) => (a.body as { announcementId: string }).announcementId;
    expect(idOf(other)).not.toBe(idOf(first));
    // The same key with another body is a mistake, not a resend.
    const reused = await errorOf(() => announce(ports, admin, { ...body, subject: 'Other' }, headers));
    expect([reused.statusCode, reused.field]).toEqual([409, 'Idempotency-Key']);
    const bad = await errorOf(() => announce(ports, admin, body, { 'idempotency-key': 'short' }));
    expect([bad.statusCode, bad.field]).toEqual([400, 'Idempotency-Key']);
    expect(ports.store.announcementsById.size).toBe(2);
  });

  it('queues the recipients on a resend when the first request stopped before queuing them', async () => {
    const headers = { 'idempotency-key': 'announce-office-2.0' };
    const enqueue = ports.queue.enqueue.bind(ports.queue);
    ports.queue.enqueue = async () => {
      throw new Error('the function timed out here');
    };
    await expect(announce(ports, admin, body, headers)).rejects.toThrow('timed out');
    expect(ports.queue.batches).toHaveLength(0);
    ports.queue.enqueue = enqueue;
    const resent = await announce(ports, admin, body, headers);
    expect(resent).toMatchObject({ status: 202, body: { recipients: 2, clients: 3 } });
    expect(ports.queue.batches).toHaveLength(1);
    expect(ports.store.announcementsById.size).toBe(1);
    const id = (resent.body as { announcementId: string }).announcementId;
    expect(ports.store.announcementsById.get(id)?.queuedAt).toBeDefined();
    // A third resend finds it queued and queues nothing more.
    await announce(ports, admin, body, headers);
    expect(ports.queue.batches).toHaveLength(1);
  });

  it('retries a failed send on redelivery, and only that one', async () => {
    await announce(ports, admin, body);
    const mailer = new RecordingMailer();
    mailer.failFor.add('kaneda@corp.example');
    const delivery = { announcements: ports.store, people: ports.people, mailer, limiter: tokenBucket(1000) };
    const batch = ports.queue.batches[0]!;
    expect(await deliverBatch(delivery, batch)).toEqual({
      sent: 1,
      skipped: 0,
      failed: ['kaneda'],
      refused: [],
    });
    mailer.failFor.clear();
    expect(await deliverBatch(delivery, batch)).toEqual({ sent: 1, skipped: 1, failed: [], refused: [] });
    expect(mailer.sent.map((m) => m.to[0])).toEqual(['ando@corp.example', 'kaneda@corp.example']);
  });

  it('records a recipient without an address, or one SES refuses, as failed with the reason, not retried', async () => {
    await announce(ports, admin, body);
    const kaneda = (await ports.people.getPerson('kaneda'))!;
    const { email: _gone, ...withoutAddress } = kaneda;
    await ports.people.savePerson({ ...withoutAddress, revision: kaneda.revision + 1 }, kaneda);
    const mailer = new RecordingMailer();
    mailer.send = async () => {
      throw Object.assign(new Error('Email address is not verified.'), { name: 'MessageRejected' });
    };
    const delivery = { announcements: ports.store, people: ports.people, mailer, limiter: tokenBucket(1000) };
    const batch = ports.queue.batches[0]!;
    expect(await deliverBatch(delivery, batch)).toEqual({
      sent: 0,
      skipped: 0,
      failed: [],
      refused: ['ando', 'kaneda'],
    });
    const status = await announcementStatus(ports, admin, batch.announcementId);
    expect(status.delivery).toEqual({ sent: 0, failed: 2, sending: 0 });
    // failed (the batch item failures SQS retries) is empty: a refusal is final, and on record.
  });

  it('splits large fan-outs into queue messages of bounded size', async () => {
    for (let i = 0; i < 60; i++) {
      const user = `user${i}`;
      await ports.people.savePerson(
        {
          ...(await ports.people.getPerson('ando'))!,
          key: user,
          login: user,
          email: `${user}@corp.example`,
          revision: 1,
        },
        undefined,
      );
      await putClient(ports, admin, `pc-${i}`, {
        name: 'c',
        ipAddress: '10.0.0.1',
        osRegistrationId: 'os',
        department: 'Ops',
        users: [user],
      });
      await reportInventory(ports, admin, `pc-${i}`, {
        items: [{ software: 'Office', version: '1.0', revision: 1, installedAt: '2025-01-01', user }],
      });
    }
    await announce(ports, admin, body);
    expect(ports.queue.batches.length).toBe(Math.ceil(62 / RECIPIENTS_PER_MESSAGE));
    expect(ports.queue.batches.every((b) => b.recipients.length <= RECIPIENTS_PER_MESSAGE)).toBe(true);
  });

  it('refuses bad announcements naming the field, and non-admins', async () => {
    for (const [b, field] of [
      [{ ...body, software: 'Nope' }, 'software'],
      [{ ...body, minVersion: 'x' }, 'minVersion'],
      [{ ...body, subject: '' }, 'subject'],
      [{ ...body, module: '../etc' }, 'module'],
      [{ ...body, dryRun: 'yes' }, 'dryRun'],
    ] as const) {
      const e = await errorOf(() => announce(ports, admin, b));
      expect([e.statusCode, e.field]).toEqual([400, field]);
    }
    expect((await errorOf(() => announce(ports, employee('ando'), body))).statusCode).toBe(403);
  });

  it('narrows to releases containing a module, reading the manifest once per announcement', async () => {
    // Revision 1 of 1.9 has bin/, revision 2 (on 1.10) does not; revision 3 is not in the manifest.
    await reportInventory(ports, admin, 'pc-a2', {
      items: [{ software: 'Office', version: '1.10', revision: 2, installedAt: '2025-01-01', user: 'ando' }],
    });
    await reportInventory(ports, admin, 'pc-k1', {
      items: [
        { software: 'Office', version: '1.2', revision: '3', installedAt: '2025-01-01', user: 'kaneda' },
      ],
    });
    const manifest = {
      schema: 1 as const,
      software: 'Office',
      releases: [
        { version: '1.9', revision: 1, files: ['bin/core.dll', 'lib/a'] },
        { version: '1.10', revision: 2, files: ['lib/a', 'binaries/x'] },
      ].map((r) => ({
        ...r,
        publishedAt: '2025-01-01T00:00:00Z',
        artifacts: [],
        files: r.files.map((path) => ({ path, size: 1, sha256: '0'.repeat(64), mode: 0o644 })),
      })),
    };
    const reads: string[] = [];
    const modules = new ManifestReleaseModules({
      readManifest: async (software) => {
        reads.push(software);
        return manifest;
      },
    });
    const { body: answer } = await announce({ ...ports, modules }, admin, {
      ...body,
      module: 'bin/',
      dryRun: true,
    });
    // pc-a1 (rev 1) has bin/; pc-a2 (rev 2) has only binaries/ and lib/: out; pc-k1 (rev "3") is
    // not in the manifest, so it stays in, unverified.
    expect(answer).toMatchObject({
      recipients: 2,
      clients: 2,
      unverifiedClients: 1,
      clientList: ['pc-a1', 'pc-k1'],
    });
    expect(reads).toEqual(['Office']);

    const { body: sent } = await announce({ ...ports, modules }, admin, { ...body, module: 'lib/a' });
    expect(sent).toMatchObject({ recipients: 2, clients: 3, unverifiedClients: 1 });
    expect(ports.queue.batches.at(-1)!.recipients.map((r) => r.user)).toEqual(['ando', 'kaneda']);
    expect(reads).toEqual(['Office', 'Office']);
  });

  it('counts every installation unverified when the vendor has no manifest for the software', async () => {
    const modules = new ManifestReleaseModules({ readManifest: async () => undefined });
    const { body: answer } = await announce({ ...ports, modules }, admin, {
      ...body,
      module: 'bin/',
      dryRun: true,
    });
    expect(answer).toMatchObject({ recipients: 2, clients: 3, unverifiedClients: 3 });
  });
});

describe('moduleLookupOf', () => {
  const manifest = (files: Record<number, string[]>) => ({
    schema: 1 as const,
    software: 'S',
    releases: Object.entries(files).map(([rev, paths]) => ({
      version: `1.${rev}`,
      revision: Number(rev),
      publishedAt: '2025-01-01T00:00:00Z',
      artifacts: [],
      files: paths.map((path) => ({ path, size: 1, sha256: '0'.repeat(64), mode: 0o644 })),
    })),
  });

  it('answers per revision from the file paths, matching string revisions by number', () => {
    const has = moduleLookupOf(
      manifest({ 1: ['README'], 2: ['plugins/spell/en.dic', 'README'] }),
      'plugins/spell/',
    );
    expect([has(1), has(2), has('2'), has(3), has('2b'), has('02x')]).toEqual([
      false,
      true,
      true,
      undefined,
      undefined,
      undefined,
    ]);
  });

  it('knows no revision without a manifest', () => {
    expect(moduleLookupOf(undefined, 'bin/')(1)).toBeUndefined();
  });
});

describe('token bucket', () => {
  it('never lets more than the rate through after the burst', async () => {
    let now = 0;
    const slept: number[] = [];
    const bucket = tokenBucket(
      2,
      2,
      () => now,
      async (ms) => {
        slept.push(ms);
        now += ms;
      },
    );
    for (let i = 0; i < 6; i++) await bucket.take();
    // 2 at once, then 4 more at 2/s: 2 seconds.
    expect(now).toBe(2000);
    expect(slept.every((ms) => ms <= 500)).toBe(true);
  });
});
