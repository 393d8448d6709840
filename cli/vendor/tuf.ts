// `upman vendor tuf init|refresh|rotate-root`: the vendor site's signed release metadata
// (docs/vendor.md "Signed release metadata"). Keys live in a directory OUTSIDE the repository:
//   <dir>/<role>.pem          ECDSA P-256 key files (root, targets, snapshot, timestamp), mode 0600
//   <dir>/kms-keys.json       or AWS KMS key ids per role ({"root": "...", ...}): the keys stay in KMS
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CreateKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import type { Command } from 'commander';
import { S3Releases } from '../../lib/adapters/s3/releases.js';
import { initRepository, type RoleSigners, refreshTimestamp, rotateRoot } from '../../lib/vendor/tuf.js';
import { createKeyFile, fileSigner, kmsSigner } from '../../lib/vendor/tuf-signers.js';
import { connect, loadEndpoints } from './connection.js';

const ROLES = ['root', 'targets', 'snapshot', 'timestamp'] as const;
type RoleName = (typeof ROLES)[number];
const KMS_FILE = 'kms-keys.json';

export interface TufOptions {
  keys: string;
  kms?: boolean;
  bucket?: string;
  endpoints?: string;
}

/** KMS through the SDK's usual chain, or the local cloud's KMS when its endpoints file is there. */
function kmsClient(endpointsFile?: string): KMSClient {
  const local = loadEndpoints(endpointsFile) as
    | { kms?: string; region?: string; credentials?: never }
    | undefined;
  return local?.kms
    ? new KMSClient({
        endpoint: local.kms,
        region: local.region ?? 'us-east-1',
        ...(local.credentials ? { credentials: local.credentials } : {}),
      })
    : new KMSClient({});
}

/** The signers in `dir`: KMS key ids if kms-keys.json is there, else the four key files. */
export async function loadSigners(dir: string, endpointsFile?: string): Promise<RoleSigners> {
  const kmsFile = join(dir, KMS_FILE);
  if (existsSync(kmsFile)) {
    const ids = JSON.parse(await readFile(kmsFile, 'utf8')) as Record<RoleName, string>;
    const kms = kmsClient(endpointsFile);
    return {
      root: [await kmsSigner(kms, ids.root)],
      targets: await kmsSigner(kms, ids.targets),
      snapshot: await kmsSigner(kms, ids.snapshot),
      timestamp: await kmsSigner(kms, ids.timestamp),
    };
  }
  const missing = ROLES.filter((r) => !existsSync(join(dir, `${r}.pem`)));
  if (missing.length > 0) {
    throw new Error(
      `${dir} has no ${KMS_FILE} and no key file for ${missing.join(', ')}: run "upman vendor tuf init" first`,
    );
  }
  return {
    root: [await fileSigner(join(dir, 'root.pem'))],
    targets: await fileSigner(join(dir, 'targets.pem')),
    snapshot: await fileSigner(join(dir, 'snapshot.pem')),
    timestamp: await fileSigner(join(dir, 'timestamp.pem')),
  };
}

/** New keys in `dir`: key files, or KMS asymmetric keys whose ids are written to kms-keys.json. */
async function createKeys(dir: string, kms: boolean, endpointsFile?: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  if (kms) {
    const client = kmsClient(endpointsFile);
    const ids: Record<string, string> = {};
    for (const role of ROLES) {
      const { KeyMetadata } = await client.send(
        new CreateKeyCommand({
          KeySpec: 'ECC_NIST_P256',
          KeyUsage: 'SIGN_VERIFY',
          Description: `upman release metadata: ${role}`,
        }),
      );
      ids[role] = KeyMetadata!.KeyId!;
    }
    await writeFile(join(dir, KMS_FILE), `${JSON.stringify(ids, null, 2)}\n`, { flag: 'wx' });
    return;
  }
  for (const role of ROLES) await createKeyFile(join(dir, `${role}.pem`));
}

export function registerTufCommands(vendor: Command): void {
  const tuf = vendor.command('tuf').description("the site's signed release metadata (TUF)");
  const common = (c: Command) =>
    c
      .requiredOption(
        '--keys <dir>',
        'the key directory (outside the repository; env UPMAN_TUF_KEYS)',
        process.env.UPMAN_TUF_KEYS,
      )
      .option('--bucket <name>', 'release bucket (default: UPMAN_RELEASE_BUCKET or the local cloud)')
      .option('--endpoints <file>', 'local cloud endpoints file (default: .local/endpoints.json)');
  common(
    tuf
      .command('init')
      .description('create the keys (or KMS keys with --kms) and root, targets, snapshot, timestamp v1'),
  )
    .option('--kms', 'keys in AWS KMS (asymmetric ECC_NIST_P256) instead of key files')
    .action(async (o: TufOptions) => {
      const conn = connect(o);
      try {
        if (!existsSync(join(o.keys, KMS_FILE)) && !existsSync(join(o.keys, 'root.pem'))) {
          await createKeys(o.keys, Boolean(o.kms), o.endpoints);
        }
        const root = await initRepository(
          new S3Releases(conn.s3, conn.bucket),
          await loadSigners(o.keys, o.endpoints),
        );
        const pinned = join(o.keys, 'root.json');
        await writeFile(pinned, `${JSON.stringify(root.toJSON(), null, 2)}\n`);
        console.log(
          `initialised tuf/ in ${conn.bucket}; organisations pin ${pinned} (root version 1) at enrolment`,
        );
      } finally {
        conn.s3.destroy();
      }
    });
  common(
    tuf.command('refresh').description('sign a new snapshot and timestamp (what the schedule runs)'),
  ).action(async (o: TufOptions) => {
    const conn = connect(o);
    try {
      const v = await refreshTimestamp(
        new S3Releases(conn.s3, conn.bucket),
        await loadSigners(o.keys, o.endpoints),
      );
      console.log(`snapshot version ${v.snapshot}, timestamp version ${v.timestamp}`);
    } finally {
      conn.s3.destroy();
    }
  });
  common(
    tuf
      .command('rotate-root')
      .description('a new root with the keys in --new-keys, signed by the old and new root keys'),
  )
    .requiredOption('--new-keys <dir>', 'the new key directory (created if empty)')
    .option('--kms', 'new keys in AWS KMS')
    .action(async (o: TufOptions & { newKeys: string }) => {
      const conn = connect(o);
      try {
        if (!existsSync(join(o.newKeys, KMS_FILE)) && !existsSync(join(o.newKeys, 'root.pem'))) {
          await createKeys(o.newKeys, Boolean(o.kms), o.endpoints);
        }
        const current = await loadSigners(o.keys, o.endpoints);
        const root = await rotateRoot(
          new S3Releases(conn.s3, conn.bucket),
          current.root,
          await loadSigners(o.newKeys, o.endpoints),
        );
        console.log(`root version ${root.signed.version}; clients that trust an earlier root follow it`);
      } finally {
        conn.s3.destroy();
      }
    });
}
