// Publishing against the local S3 (conditional writes, SigV4): two publishes of one software at
// once are serialised by the publish lock (If-None-Match), the loser uploads nothing and leaves
// nothing; upload progress counts up to each artifact's size.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { runPublish } from '../../cli/vendor/publish.js';
import { S3Releases } from '../../lib/adapters/s3/releases.js';
import { publishRelease } from '../../lib/vendor/publish.js';
import { writeTree } from '../fixtures/tree.js';

const endpoints = inject('endpoints');
const dataDir = inject('dataDir');
const run = randomUUID().slice(0, 6);
const work = mkdtempSync(join(tmpdir(), 'publish-it-'));
const releaseBucket = endpoints.outputs.VendorSiteStack!.ReleaseBucketName!;
const s3 = new S3Client({
  endpoint: endpoints.s3,
  region: endpoints.region,
  credentials: endpoints.credentials,
  forcePathStyle: true,
});

afterAll(() => {
  rmSync(work, { recursive: true, force: true });
  s3.destroy();
});

const keysUnder = async (prefix: string) =>
  ((await s3.send(new ListObjectsV2Command({ Bucket: releaseBucket, Prefix: prefix }))).Contents ?? [])
    .map((o) => o.Key!)
    .sort();

const body = (seed: string) => Array.from({ length: 4000 }, (_, i) => `${seed} ${i}\n`).join('');

describe('publishing against the local S3', () => {
  it('serialises two publishes of one software: one lands, the other is refused and leaves nothing', async () => {
    const software = `race-${run}`;
    const publish = (version: string, dir: string) =>
      runPublish(dir, {
        software,
        version,
        revision: '1',
        catalog: false,
        endpoints: join(dataDir, 'endpoints.json'),
        quiet: true,
      });
    const results = await Promise.allSettled([
      publish('1.0', writeTree(join(work, 'a'), { 'app.js': body('a') })),
      publish('1.1', writeTree(join(work, 'b'), { 'app.js': body('b') })),
    ]);
    const won = results.filter((r) => r.status === 'fulfilled');
    const lost = results.filter((r) => r.status === 'rejected') as PromiseRejectedResult[];
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(1);
    // Refused at the lock, or (if the first had already finished) by the revision check: both 409, nothing uploaded.
    expect(lost[0]!.reason).toMatchObject({ statusCode: 409 });
    const manifest = await new S3Releases(s3, releaseBucket).readManifest(software);
    expect(manifest!.releases).toHaveLength(1);
    expect(await keysUnder(`${software}/`)).toEqual([
      `${software}/1/full.tar.gz`,
      `${software}/manifest.json`,
    ]);
  }, 120_000);

  it('refuses a package the agent would refuse (its install manifest inside), uploading nothing', async () => {
    const software = `evil-${run}`;
    const refused = await runPublish(
      writeTree(join(work, 'evil'), { 'app.js': body('e'), 'lib/.upman.json': '{"revision": 99}' }),
      {
        software,
        version: '1.0',
        revision: '1',
        catalog: false,
        endpoints: join(dataDir, 'endpoints.json'),
        quiet: true,
      },
    ).catch((error: unknown) => error);
    expect(refused).toMatchObject({
      statusCode: 400,
      field: 'package',
      message: expect.stringContaining("lib/.upman.json is named .upman.json, the agent's install manifest"),
    });
    expect(await keysUnder(`${software}/`)).toEqual([]);
  });

  it('counts upload progress up to each artifact size through the S3 adapter', async () => {
    const software = `progress-${run}`;
    const seen = new Map<string, number>();
    const result = await publishRelease(
      { store: new S3Releases(s3, releaseBucket) },
      {
        software,
        version: '1.0',
        revision: 1,
        input: writeTree(join(work, 'p'), { 'app.js': body('p'), 'lib.js': body('q') }),
        onUpload: (artifact, sent) => seen.set(artifact.key, Math.max(seen.get(artifact.key) ?? 0, sent)),
      },
    );
    expect(Object.fromEntries(seen)).toEqual({ [result.artifacts[0]!.key]: result.artifacts[0]!.size });
    expect(await keysUnder(`${software}/`)).not.toContain(`${software}/publish.lock`);
  }, 60_000);
});
