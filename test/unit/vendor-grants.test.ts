import { describe, expect, it } from 'vitest';
import { Conflict } from '../../lib/errors.js';
import type { ClientChanges } from '../../lib/ports/registry.js';
import type { Client, HistoryEntry, Installation } from '../../lib/registry/model.js';
import { type AccessLogRecord, formatAccessLogRecord } from '../../lib/vendor/access-log.js';
import { downloadsIn, processAccessLogs } from '../../lib/vendor/access-log-processor.js';
import {
  confirmDownload,
  freshKey,
  type GrantPorts,
  type GrantStore,
  grantDownload,
  revokeGrant,
} from '../../lib/vendor/grants.js';
import { deltaKey, fullKey } from '../../lib/vendor/layout.js';
import { emptyManifest, type Manifest } from '../../lib/vendor/manifest.js';
import type { Completion, DownloadNotice, Grant, LogEvidence } from '../../lib/vendor/model.js';

const sha = (c: string) => c.repeat(64);
const manifest: Manifest = {
  ...emptyManifest('editor'),
  releases: [
    {
      version: '1.0',
      revision: 1,
      publishedAt: 't',
      files: [],
      artifacts: [
        { key: fullKey('editor', 1), kind: 'full', from: null, to: 1, size: 900, sha256: sha('1') },
      ],
    },
    {
      version: '2.0',
      revision: 2,
      publishedAt: 't',
      files: [],
      artifacts: [
        { key: fullKey('editor', 2), kind: 'full', from: null, to: 2, size: 1000, sha256: sha('2') },
        { key: deltaKey('editor', 2, 1), kind: 'delta', from: 1, to: 2, size: 100, sha256: sha('d') },
      ],
    },
  ],
};

const client: Client = {
  clientId: 'pc-1',
  name: 'PC 1',
  ipAddress: '10.0.0.1',
  osRegistrationId: 'os',
  department: 'Sales',
  users: ['alice'],
  createdAt: 't',
  updatedAt: 't',
};

class Fakes implements GrantStore {
  grants = new Map<string, Grant>();
  byRequest = new Map<string, string>();
  installations: Installation[] = [
    {
      clientId: 'pc-1',
      software: 'editor',
      version: '1.0',
      revision: 1,
      installedAt: '2025-01-01T00:00:00.000Z',
      user: 'alice',
      department: 'Sales',
      clientName: 'PC 1',
      recordedAt: 'r0',
    },
  ];
  history: HistoryEntry[] = [];
  notices: DownloadNotice[] = [];
  seen = new Set<string>();
  cursor: string | undefined;
  now = new Date('2025-06-01T10:00:00Z');

  async createGrant(grant: Grant) {
    const existing = this.byRequest.get(grant.requestId);
    if (existing) return this.grants.get(existing)!;
    this.byRequest.set(grant.requestId, grant.grantId);
    this.grants.set(grant.grantId, structuredClone(grant));
    return grant;
  }
  async getGrant(id: string) {
    const g = this.grants.get(id);
    return g && structuredClone(g);
  }
  async grantOfRequest(requestId: string) {
    const id = this.byRequest.get(requestId);
    return id ? this.getGrant(id) : undefined;
  }
  async pinRevision(id: string, revision: number) {
    const g = this.grants.get(id)!;
    g.targetRevision ??= revision;
    return g.targetRevision;
  }
  async revoke(grant: Grant, by: string, at: string) {
    const g = this.grants.get(grant.grantId)!;
    if (g.completedAt) return 'completed' as const;
    if (g.status === 'revoked') return 'already' as const;
    Object.assign(g, { status: 'revoked', revokedBy: by, revokedAt: at });
    return 'revoked' as const;
  }
  seq = 1;
  async complete(grant: Grant, completion: Completion, set: ClientChanges | undefined) {
    const g = this.grants.get(grant.grantId)!;
    if (g.completedAt) return 'already' as const;
    if (set) {
      if (set.base.seq !== this.seq) throw new Conflict('changed');
      this.seq++;
      for (const change of set.changes) {
        if (change.kind !== 'put') continue;
        const i = this.installations.findIndex((x) => x.software === change.installation.software);
        if (i >= 0) this.installations[i] = change.installation;
        else this.installations.push(change.installation);
        if (change.history) this.history.push(change.history);
      }
    }
    g.completedAt = completion.at;
    g.completion = completion;
    return 'completed' as const;
  }
  async markNoticeSent(id: string, at: string) {
    const g = this.grants.get(id)!;
    if (g.noticeSentAt) return false;
    g.noticeSentAt = at;
    return true;
  }
  evidence: LogEvidence[] = [];
  async recordLogEvidence(e: LogEvidence) {
    const id = `${e.grantId}|${e.logObject}|${e.artifactKey}`;
    if (this.seen.has(id)) return false;
    this.seen.add(id);
    this.evidence.push(e);
    return true;
  }
  async getCursor() {
    return this.cursor;
  }
  async setCursor(_s: string, after: string) {
    this.cursor = after;
  }

  ports(m: Manifest | undefined = manifest): GrantPorts {
    return {
      grants: this,
      releases: {
        readManifest: async () => m,
        presignGet: async (key, o) =>
          `https://s3.test/b/${key}?x-upman-grant=${o.grantId}&X-Amz-Expires=${o.expiresInSeconds}`,
      },
      registry: {
        getClient: async (id) => (id === client.clientId ? client : undefined),
        inventoriesOf: async (ids) =>
          new Map(
            ids.map((clientId) => [
              clientId,
              { clientId, seq: this.seq, installations: structuredClone(this.installations), busy: false },
            ]),
          ),
      },
      notices: { send: async (n) => void this.notices.push(n) },
      keyTtlSeconds: 900,
      grantTtlDays: 30,
      now: () => this.now,
    };
  }
}

const alice = { user: 'alice', groups: ['employees'] };
const request = { requestId: 'req-1', clientId: 'pc-1', user: 'alice', software: 'editor' };

describe('grantDownload (S508)', () => {
  it('records one grant per request, pins the release and issues no key (keys go to the employee only)', async () => {
    const f = new Fakes();
    const presigned: string[] = [];
    const ports = f.ports();
    const withSpy = {
      ...ports,
      releases: {
        ...ports.releases,
        presignGet: async (key: string) => {
          presigned.push(key);
          return 'x';
        },
      },
    };
    const first = await grantDownload(withSpy, request);
    expect(first).toEqual({ grantId: first.grantId, release: { version: '2.0', revision: 2 } });
    expect(presigned).toEqual([]);
    const again = await grantDownload(withSpy, request);
    expect(again.grantId).toBe(first.grantId);
    expect(f.grants.size).toBe(1);
    expect(f.grants.get(first.grantId)).toMatchObject({ targetRevision: 2, user: 'alice', clientId: 'pc-1' });
    const key = await freshKey(f.ports(), alice, 'req-1', { clientId: 'pc-1', currentRevision: 1 });
    expect(key).toMatchObject({ kind: 'delta', fromRevision: 1, toRevision: 2, size: 100, sha256: sha('d') });
    expect(key.url).toContain(`x-upman-grant=${first.grantId}`);
    expect(key.expiresAt).toBe('2025-06-01T10:15:00.000Z');
  });

  it('keeps the grant without a release when nothing is published yet, and pins the release later', async () => {
    const f = new Fakes();
    const result = await grantDownload(f.ports(emptyManifest('editor')), {
      ...request,
      targetVersion: '2.0',
    });
    expect(result.release).toBeUndefined();
    expect(result.keyPending).toEqual({ reason: 'not-published' });
    const key = await freshKey(f.ports(), alice, 'req-1', { clientId: 'pc-1', currentRevision: null });
    expect(key).toMatchObject({ kind: 'full', toRevision: 2 });
    expect(f.grants.get(result.grantId)!.targetRevision).toBe(2);
  });

  it('lets a key live min(TTL, what remains of the signing session), and says so', async () => {
    const f = new Fakes();
    const ports = f.ports();
    const now = ports.now!();
    const lifetimes: number[] = [];
    const withSession: GrantPorts = {
      ...ports,
      releases: {
        ...ports.releases,
        presignGet: async (key, o) => {
          lifetimes.push(o.expiresInSeconds);
          return `https://s3.test/b/${key}?X-Amz-Expires=${o.expiresInSeconds}`;
        },
        // The signing role's session ends in 10 minutes; the TTL is 15.
        signingSessionEnds: async () => new Date(now.getTime() + 600_000),
      },
    };
    await grantDownload(withSession, request);
    const key = await freshKey(withSession, alice, 'req-1', { clientId: 'pc-1', currentRevision: 1 });
    expect(ports.keyTtlSeconds).toBe(900);
    expect(new Set(lifetimes)).toEqual(new Set([600]));
    expect(key.expiresAt).toBe(new Date(now.getTime() + 600_000).toISOString());
  });

  it('never lets a key live longer than 15 minutes, whatever the configured TTL', async () => {
    const f = new Fakes();
    const ports = { ...f.ports(), keyTtlSeconds: 3600 };
    await grantDownload(ports, request);
    const key = await freshKey(ports, alice, 'req-1', { clientId: 'pc-1', currentRevision: 1 });
    expect(key.url).toContain('X-Amz-Expires=900');
    expect(key.expiresAt).toBe('2025-06-01T10:15:00.000Z');
  });

  it('records the grant and reports AccessDenied as such when the release bucket refuses the issuer', async () => {
    const f = new Fakes();
    const ports = f.ports();
    const refused = new Error('The release bucket b refused reading editor/manifest.json: Access Denied');
    refused.name = 'ReleaseAccessDenied';
    const result = await grantDownload(
      {
        ...ports,
        releases: {
          ...ports.releases,
          readManifest: async () => {
            throw refused;
          },
        },
      },
      request,
    );
    expect(result.release).toBeUndefined();
    expect(result.keyPending).toEqual({ reason: 'access-denied', detail: refused.message });
    expect(f.grants.get(result.grantId)).toMatchObject({ status: 'active', user: 'alice' });
  });

  it('still fails on any other error of the release bucket', async () => {
    const f = new Fakes();
    const ports = f.ports();
    await expect(
      grantDownload(
        {
          ...ports,
          releases: {
            ...ports.releases,
            readManifest: async () => {
              throw new Error('socket hang up');
            },
          },
        },
        request,
      ),
    ).rejects.toThrow('socket hang up');
    expect(f.grants.size).toBe(0);
  });
});

describe('freshKey', () => {
  it("offers the signed metadata and every root after the one the client trusts, up to the site's", async () => {
    const f = new Fakes();
    await grantDownload(f.ports(), request);
    const ports = f.ports();
    const signing = (current: number | undefined): GrantPorts => ({
      ...ports,
      releases: { ...ports.releases, currentRootVersion: async () => current },
    });
    // Forty rotations since the client's root: all of them, not a fixed window.
    const key = await freshKey(signing(43), alice, 'req-1', {
      clientId: 'pc-1',
      currentRevision: 1,
      trustedRootVersion: 3,
    });
    const roots = Object.keys(key.metadata!).filter((n) => n.endsWith('.root.json'));
    expect(roots).toEqual(Array.from({ length: 40 }, (_, i) => `${i + 4}.root.json`));
    expect(Object.keys(key.metadata!)).toEqual(
      expect.arrayContaining(['timestamp.json', 'snapshot.json', 'targets.json']),
    );
    expect(key.metadata!['44.root.json']).toBeUndefined();
    // Without a trusted version (an older agent): every root after the first.
    const fromStart = await freshKey(signing(3), alice, 'req-1', { clientId: 'pc-1', currentRevision: 1 });
    expect(Object.keys(fromStart.metadata!).filter((n) => n.endsWith('.root.json'))).toEqual([
      '2.root.json',
      '3.root.json',
    ]);
    // A site that signs nothing: no metadata (a client with a pinned root refuses such a key).
    const unsigned = await freshKey(signing(undefined), alice, 'req-1', {
      clientId: 'pc-1',
      currentRevision: 1,
    });
    expect(unsigned.metadata).toBeUndefined();
    await expect(
      freshKey(signing(3), alice, 'req-1', { clientId: 'pc-1', currentRevision: 1, trustedRootVersion: 'x' }),
    ).rejects.toMatchObject({ statusCode: 400, field: 'trustedRootVersion' });
  });

  it('answers the delta from the given revision, or the full package when none fits', async () => {
    const f = new Fakes();
    await grantDownload(f.ports(), request);
    expect(await freshKey(f.ports(), alice, 'req-1', { clientId: 'pc-1', currentRevision: 1 })).toMatchObject(
      {
        kind: 'delta',
        fromRevision: 1,
      },
    );
    expect(
      await freshKey(f.ports(), alice, 'req-1', { clientId: 'pc-1', currentRevision: '7' }),
    ).toMatchObject({
      kind: 'full',
      fromRevision: null,
      size: 1000,
    });
    expect(await freshKey(f.ports(), alice, 'req-1', { clientId: 'pc-1' })).toMatchObject({ kind: 'full' });
  });

  it('refuses another user (403), another client (403), bad input (400) and an unknown request (404)', async () => {
    const f = new Fakes();
    await grantDownload(f.ports(), request);
    await expect(
      freshKey(f.ports(), { user: 'bob', groups: ['employees'] }, 'req-1', { clientId: 'pc-1' }),
    ).rejects.toMatchObject({
      statusCode: 403,
    });
    await expect(freshKey(f.ports(), alice, 'req-1', { clientId: 'pc-2' })).rejects.toMatchObject({
      statusCode: 403,
    });
    await expect(
      freshKey(f.ports(), alice, 'req-1', { clientId: 'pc-1', currentRevision: 'x' }),
    ).rejects.toMatchObject({
      statusCode: 400,
      field: 'currentRevision',
    });
    await expect(freshKey(f.ports(), alice, 'req-1', { currentRevision: 1 })).rejects.toMatchObject({
      field: 'clientId',
    });
    await expect(freshKey(f.ports(), alice, 'req-9', { clientId: 'pc-1' })).rejects.toMatchObject({
      statusCode: 404,
    });
  });

  it('answers 410 for a revoked or an expired grant', async () => {
    const f = new Fakes();
    const { grantId } = await grantDownload(f.ports(), request);
    await expect(revokeGrant(f.ports(), alice, grantId)).rejects.toMatchObject({ statusCode: 403 });
    f.now = new Date('2025-07-02T10:00:00Z'); // 31 days later
    await expect(freshKey(f.ports(), alice, 'req-1', { clientId: 'pc-1' })).rejects.toMatchObject({
      statusCode: 410,
      message: expect.stringMatching(/expired/),
    });
    f.now = new Date('2025-06-01T10:00:00Z');
    await revokeGrant(f.ports(), { user: 'root', groups: ['admins'] }, grantId);
    await expect(freshKey(f.ports(), alice, 'req-1', { clientId: 'pc-1' })).rejects.toMatchObject({
      statusCode: 410,
      message: expect.stringMatching(/revoked/),
    });
  });
});

describe('revokeGrant', () => {
  const admin = { user: 'root', groups: ['admins'] };

  it('is idempotent: a second revocation keeps the first one’s time and admin', async () => {
    const f = new Fakes();
    const { grantId } = await grantDownload(f.ports(), request);
    const first = await revokeGrant(f.ports(), admin, grantId);
    f.now = new Date(f.now.getTime() + 60_000);
    const second = await revokeGrant(f.ports(), { user: 'other-admin', groups: ['admins'] }, grantId);
    expect(second).toMatchObject({ status: 'revoked', revokedAt: first.revokedAt, revokedBy: 'root' });
  });

  it('refuses (409) to revoke a grant whose install was confirmed, and changes nothing', async () => {
    const f = new Fakes();
    const { grantId } = await grantDownload(f.ports(), request);
    await confirmDownload(f.ports(), alice, grantId, { sha256: sha('d') });
    await expect(revokeGrant(f.ports(), admin, grantId)).rejects.toMatchObject({
      statusCode: 409,
      field: 'grantId',
    });
    expect(f.grants.get(grantId)!.status).toBe('active');
  });
});

describe('completion (S604/S605)', () => {
  it('writes the history and the notice once, however often the download is confirmed', async () => {
    const f = new Fakes();
    const { grantId } = await grantDownload(f.ports(), request);
    const first = await confirmDownload(f.ports(), alice, grantId, { sha256: sha('d') });
    const second = await confirmDownload(f.ports(), alice, grantId, { sha256: sha('2').toUpperCase() });
    expect(first.status).toBe('recorded');
    expect(second.status).toBe('already-recorded');
    expect(f.history).toHaveLength(1);
    expect(f.history[0]).toMatchObject({
      change: 'updated',
      version: '2.0',
      revision: 2,
      previousRevision: 1,
      source: 'download',
    });
    expect(f.installations[0]).toMatchObject({ version: '2.0', revision: 2 });
    expect(f.notices).toHaveLength(1);
    expect(f.notices[0]).toMatchObject({
      type: 'download-completed',
      grantId,
      requestId: 'req-1',
      version: '2.0',
    });
  });

  it('refuses a SHA-256 that matches no artifact of the target, and another user', async () => {
    const f = new Fakes();
    const { grantId } = await grantDownload(f.ports(), request);
    await expect(confirmDownload(f.ports(), alice, grantId, { sha256: sha('1') })).rejects.toMatchObject({
      statusCode: 400,
      field: 'sha256',
    });
    await expect(confirmDownload(f.ports(), alice, grantId, { sha256: 'abc' })).rejects.toMatchObject({
      field: 'sha256',
    });
    await expect(
      confirmDownload(f.ports(), { user: 'bob', groups: [] }, grantId, { sha256: sha('d') }),
    ).rejects.toMatchObject({ statusCode: 403 });
    expect(f.history).toHaveLength(0);
  });

  it('resends an interrupted notice on a later evidence, but only after a pause', async () => {
    const f = new Fakes();
    const { grantId } = await grantDownload(f.ports(), request);
    const ports = f.ports();
    let fail = true;
    ports.notices = {
      send: async (n) => {
        if (fail) throw new Error('queue down');
        f.notices.push(n);
      },
    };
    await expect(confirmDownload(ports, alice, grantId, { sha256: sha('d') })).rejects.toThrow(/queue down/);
    fail = false;
    await confirmDownload(ports, alice, grantId, { sha256: sha('d') });
    expect(f.notices).toHaveLength(0);
    f.now = new Date(f.now.getTime() + 120_000);
    await confirmDownload(ports, alice, grantId, { sha256: sha('d') });
    await confirmDownload(ports, alice, grantId, { sha256: sha('d') });
    expect(f.notices).toHaveLength(1);
    expect(f.history).toHaveLength(1);
  });
});

describe('access-log evidence (audit only)', () => {
  const g1 = 'g-AAAAAAAAAAAAAAAA';
  const g2 = 'g-BBBBBBBBBBBBBBBB';
  const record = (
    grantId: string,
    key: string,
    status: number,
    bytes: number,
    size: number,
    remoteIp = '198.51.100.7',
  ): AccessLogRecord => ({
    bucket: 'releases',
    time: new Date('2025-06-01T10:01:00Z'),
    remoteIp,
    operation: 'REST.GET.OBJECT',
    key,
    requestUri: `GET /releases/${key}?X-Amz-Signature=REDACTED&x-upman-grant=${grantId} HTTP/1.1`,
    httpStatus: status,
    bytesSent: bytes,
    objectSize: size,
  });

  it('finds whole and ranged downloads made with a grant key, and ignores the rest', () => {
    const lines = [
      record(g1, fullKey('editor', 2), 200, 1000, 1000),
      record(g2, fullKey('editor', 2), 206, 400, 1000),
      record(g2, fullKey('editor', 2), 206, 600, 1000, '203.0.113.9'),
      record('g-CCCCCCCCCCCCCCCC', fullKey('editor', 2), 403, 0, 1000),
      { ...record('g-DDDDDDDDDDDDDDDD', fullKey('editor', 2), 200, 1000, 1000), bucket: 'other' },
      {
        ...record('g-EEEEEEEEEEEEEEEE', fullKey('editor', 2), 200, 1000, 1000),
        requestUri: 'GET /releases/x HTTP/1.1',
      },
      record('not#a-grant', fullKey('editor', 2), 200, 1000, 1000),
    ];
    const found = downloadsIn(lines, 'releases');
    expect(found.map((d) => [d.grantId, d.requests, d.bytes, d.whole, d.remoteIps])).toEqual([
      [g1, 1, 1000, true, ['198.51.100.7']],
      [g2, 2, 1000, false, ['198.51.100.7', '203.0.113.9']],
    ]);
  });

  it('records what the logs show once per log object, and completes, installs and notifies nothing', async () => {
    const f = new Fakes();
    const { grantId } = await grantDownload(f.ports(), request);
    const objects = new Map<string, string>();
    const put = (key: string, records: AccessLogRecord[]) =>
      objects.set(key, `${records.map(formatAccessLogRecord).join('\n')}\n`);
    const logs = {
      bucket: 'logs',
      prefix: 'releases/',
      list: async (after: string | undefined) =>
        [...objects.keys()].sort().filter((k) => !after || k > after),
      read: async (key: string) => objects.get(key)!,
    };
    const ports = { evidence: f, logs, releaseBucket: 'releases' };
    // A whole download: exactly what a mail scanner's GET of a key would leave in the log.
    put('releases/2025-06-01-10-01-00-AAAA', [record(grantId, deltaKey('editor', 2, 1), 200, 100, 100)]);
    expect(await processAccessLogs(ports)).toEqual({ objects: 1, downloads: 1, recorded: 1, failed: 0 });
    // Re-listing the same object records nothing twice.
    expect(await processAccessLogs(ports)).toMatchObject({ downloads: 1, recorded: 0 });
    put('releases/2025-06-01-10-02-00-BBBB', [record(grantId, deltaKey('editor', 2, 1), 206, 50, 100)]);
    expect(await processAccessLogs(ports)).toMatchObject({ recorded: 1 });
    expect(f.evidence.map((e) => [e.logObject, e.bytes, e.whole])).toEqual([
      ['releases/2025-06-01-10-01-00-AAAA', 100, true],
      ['releases/2025-06-01-10-02-00-BBBB', 50, false],
    ]);
    expect(f.cursor).toBe('releases/2025-06-01-10-02-00-BBBB');
    // Nothing else moved: no completion, no installation, no history, no S604 notice.
    expect(f.grants.get(grantId)!.completedAt).toBeUndefined();
    expect(f.history).toEqual([]);
    expect(f.installations.map((i) => i.revision)).toEqual([1]);
    expect(f.notices).toEqual([]);
    // The agent's confirmation of a verified install is what completes the grant.
    expect((await confirmDownload(f.ports(), alice, grantId, { sha256: sha('d') })).status).toBe('recorded');
    expect(f.history).toHaveLength(1);
    expect(f.notices).toHaveLength(1);
  });
});
