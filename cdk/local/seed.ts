// Demo data for `npm start`: the patent's Fig. 4 people, their clients and software, and a small
// demo release on the vendor's site, so `npm run demo` ends with an approval mail that carries a
// key that downloads. Both parts skip what exists: a restart changes nothing.
import { createHash } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Endpoints } from './cloud.js';

export async function seedDemoData(
  endpoints: Endpoints,
  log: (line: string) => void,
  dataDir = '.local',
): Promise<void> {
  const { seedRegistryAt } = await import('../../lib/registry/seed.js');
  let started = Date.now();
  const seconds = () => `${((Date.now() - started) / 1000).toFixed(1)} s`;
  const written = await seedRegistryAt(endpoints);
  log(`demo data: ${written} (${seconds()})`);
  log(`demo mail: ${await verifyDemoAddresses(endpoints)}`);
  started = Date.now();
  const release = await seedDemoRelease(endpoints, join(dataDir, 'demo-release'));
  log(`demo release: ${release} (${seconds()})`);
}

/**
 * Verifies the demo people's addresses in SES, as an admin does in a sandbox account (where only
 * verified addresses receive mail); already verified ones are left alone.
 */
export async function verifyDemoAddresses(endpoints: Endpoints): Promise<string> {
  const { CreateEmailIdentityCommand, SESv2Client } = await import('@aws-sdk/client-sesv2');
  const { DEMO_PEOPLE } = await import('../../lib/registry/seed.js');
  const ses = new SESv2Client({
    endpoint: endpoints.mail,
    region: endpoints.region,
    credentials: endpoints.credentials,
  });
  let created = 0;
  try {
    for (const person of DEMO_PEOPLE) {
      try {
        await ses.send(new CreateEmailIdentityCommand({ EmailIdentity: person.email }));
        created++;
      } catch (error) {
        if ((error as Error).name !== 'AlreadyExistsException') throw error;
      }
    }
  } finally {
    ses.destroy();
  }
  return `${DEMO_PEOPLE.length} addresses verified in SES (${created} new)`;
}

/**
 * OfficeSuite 2.9 (revision 2090) and 2.10 (revision 2100): the seed's catalog names 2.10 as the
 * latest, and pc-suzuki and pc-yamada still run 2.9, so a request from either gets a delta key.
 */
export const DEMO_RELEASE = {
  software: 'OfficeSuite',
  revisions: [
    { version: '2.9', revision: 2090 },
    { version: '2.10', revision: 2100 },
  ],
} as const;

/** Deterministic bytes that do not compress away, so the delta is visibly smaller than the full package. */
function noise(seed: string, bytes: number): Buffer {
  const out = Buffer.alloc(bytes);
  let block = createHash('sha256').update(seed).digest();
  for (let at = 0; at < bytes; at += block.length) {
    block.copy(out, at);
    block = createHash('sha256').update(block).digest();
  }
  return out;
}

/** The files of one demo revision: most stay the same, a few change, one goes, one comes. */
export function demoReleaseFiles(revision: number): Record<string, string | Buffer> {
  const v = revision === 2090 ? '2.9' : '2.10';
  const files: Record<string, string | Buffer> = {
    'bin/officesuite': `#!/bin/sh\necho "OfficeSuite ${v}"\n`,
    'lib/engine.bin': noise('OfficeSuite engine', 96 * 1024),
    'lib/fonts.bin': noise('OfficeSuite fonts', 32 * 1024),
    'lib/writer.js': `export const version = '${v}';\nexport const build = ${revision};\n`,
    'share/templates/letter.txt': 'Dear …,\n\nKind regards\n',
    README: `OfficeSuite ${v} (revision ${revision}), the upman demo release.\n`,
  };
  if (revision === 2090) files['lib/legacy-import.js'] = 'export const formats = ["doc"];\n';
  else files['lib/spellcheck.js'] = 'export const languages = ["en", "ja"];\n';
  return files;
}

/** Publishes the demo release through the vendor's publish use case, skipping listed revisions. */
export async function seedDemoRelease(endpoints: Endpoints, workDir: string): Promise<string> {
  const bucket = endpoints.outputs.VendorSiteStack?.ReleaseBucketName;
  if (!bucket) return 'skipped (no VendorSiteStack release bucket in the templates)';
  const { S3Client } = await import('@aws-sdk/client-s3');
  const { S3Releases } = await import('../../lib/adapters/s3/releases.js');
  const { publishRelease } = await import('../../lib/vendor/publish.js');
  const s3 = new S3Client({
    endpoint: endpoints.s3,
    region: endpoints.region,
    credentials: endpoints.credentials,
    forcePathStyle: true,
  });
  const store = new S3Releases(s3, bucket);
  const { software } = DEMO_RELEASE;
  const done: string[] = [];
  try {
    const listed = new Set((await store.readManifest(software))?.releases.map((r) => r.revision));
    const missing = DEMO_RELEASE.revisions.filter((r) => !listed.has(r.revision));
    if (missing.length === 0) return `${software} 2.9 and 2.10 already published in ${bucket}`;
    const catalog = await registryCatalog(endpoints);
    try {
      for (const { version, revision } of missing) {
        const dir = join(workDir, `${software}-${revision}`);
        rmSync(dir, { recursive: true, force: true });
        for (const [path, content] of Object.entries(demoReleaseFiles(revision))) {
          mkdirSync(dirname(join(dir, path)), { recursive: true });
          writeFileSync(join(dir, path), content);
        }
        const result = await publishRelease(
          { store, catalog: catalog.updater },
          { software, version, revision, input: dir },
        );
        done.push(
          `${software} ${version} (revision ${revision}: ${result.artifacts.map((a) => `${a.kind} ${a.size} B`).join(', ')})`,
        );
      }
    } finally {
      catalog.close();
    }
  } finally {
    s3.destroy();
  }
  return `published ${done.join('; ')} to ${bucket}`;
}

/**
 * The catalog side of a publish, through the registry's own use case (the seed writes the
 * registry directly; the CLI goes through the API). It only moves the latest version forward:
 * the seeded catalog already names 2.10, and publishing 2.9 first must not lower it.
 */
async function registryCatalog(endpoints: Endpoints) {
  const { DynamoDBClient } = await import('@aws-sdk/client-dynamodb');
  const { documentClient } = await import('../../lib/adapters/dynamodb/client.js');
  const { DynamoRegistryStore } = await import('../../lib/adapters/dynamodb/registry-store.js');
  const { putSoftware } = await import('../../lib/registry/software.js');
  const { createCursorCodec } = await import('../../lib/registry/cursor.js');
  const raw = new DynamoDBClient({
    endpoint: endpoints.dynamodb,
    region: endpoints.region,
    credentials: endpoints.credentials,
  });
  const store = new DynamoRegistryStore(documentClient(raw), endpoints.tables.registry);
  const ports = { store, cursors: createCursorCodec('seed-only-cursor-key-not-used') };
  const admin = { user: 'seed', groups: ['admins'] };
  const entryOf = async (name: string) => {
    const entry = await store.getSoftware(name);
    if (!entry) throw new Error(`${name} is not in the catalog: the registry seed should have written it`);
    return entry;
  };
  return {
    updater: {
      check: async (name: string) => void (await entryOf(name)),
      setLatest: async (name: string, version: string, revision: number) => {
        const entry = await entryOf(name);
        if (Number(entry.latestRevision) >= revision) return;
        await putSoftware(ports, admin, name, { ...entry, latestVersion: version, latestRevision: revision });
      },
    },
    close: () => raw.destroy(),
  };
}
