// `upman vendor tuf init|refresh|rotate-root`: the vendor site's signed release metadata
// (docs/vendor.md "Signed release metadata"). Keys live in a directory OUTSIDE the repository:
//   <dir>/kms-keys.json       AWS KMS key ids by role ({"root": "...", ...}): the keys stay in KMS
//   <dir>/<role>.pem          for a role kms-keys.json does not name: an ECDSA P-256 key file, mode 0600
// With --site-keys the snapshot and timestamp roles use the two KMS keys VendorSiteStack made,
// which its refresh schedule signs with; root and targets stay with the vendor.
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CreateKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import type { Command } from 'commander';
import { AgentError } from '../../agent/errors.js';
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
  siteKeys?: boolean;
  snapshotKey?: string;
  timestampKey?: string;
  bucket?: string;
  endpoints?: string;
}

/** The stack's snapshot and timestamp keys: flags, or the local cloud's VendorSiteStack outputs. */
function siteKeysOf(o: TufOptions): { snapshot: string; timestamp: string } | undefined {
  if (!o.siteKeys && !o.snapshotKey && !o.timestampKey) return undefined;
  const outputs = (
    loadEndpoints(o.endpoints) as { outputs?: Record<string, Record<string, string>> } | undefined
  )?.outputs?.VendorSiteStack;
  const snapshot = o.snapshotKey ?? outputs?.TufSnapshotKeyArn;
  const timestamp = o.timestampKey ?? outputs?.TufTimestampKeyArn;
  if (!snapshot || !timestamp) {
    throw new AgentError(
      'usage',
      'The site keys are the VendorSiteStack outputs TufSnapshotKeyArn and TufTimestampKeyArn: ' +
        'pass --snapshot-key and --timestamp-key (aws cloudformation describe-stacks shows them)',
    );
  }
  return { snapshot, timestamp };
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

/** The signers in `dir`: the KMS key kms-keys.json names for a role, else the role's key file. */
export async function loadSigners(dir: string, endpointsFile?: string): Promise<RoleSigners> {
  const kmsFile = join(dir, KMS_FILE);
  const ids = existsSync(kmsFile)
    ? (JSON.parse(await readFile(kmsFile, 'utf8')) as Partial<Record<RoleName, string>>)
    : {};
  const missing = ROLES.filter((r) => !ids[r] && !existsSync(join(dir, `${r}.pem`)));
  if (missing.length > 0) {
    throw new Error(
      `${dir} has no KMS key id (${KMS_FILE}) and no key file for ${missing.join(', ')}: run "upman vendor tuf init" first`,
    );
  }
  let kms: KMSClient | undefined;
  const signer = (role: RoleName) => {
    const id = ids[role];
    if (!id) return fileSigner(join(dir, `${role}.pem`));
    kms ??= kmsClient(endpointsFile);
    return kmsSigner(kms, id);
  };
  return {
    root: [await signer('root')],
    targets: await signer('targets'),
    snapshot: await signer('snapshot'),
    timestamp: await signer('timestamp'),
  };
}

/**
 * New keys in `dir`: key files, or KMS asymmetric keys (--kms) whose ids go to kms-keys.json;
 * `site` names existing KMS keys (the stack's) for snapshot and timestamp instead.
 */
async function createKeys(
  dir: string,
  kms: boolean,
  endpointsFile?: string,
  site?: { snapshot: string; timestamp: string },
): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const ids: Partial<Record<RoleName, string>> = { ...site };
  const client = kms ? kmsClient(endpointsFile) : undefined;
  for (const role of ROLES.filter((r) => !ids[r])) {
    if (!client) {
      await createKeyFile(join(dir, `${role}.pem`));
      continue;
    }
    const { KeyMetadata } = await client.send(
      new CreateKeyCommand({
        KeySpec: 'ECC_NIST_P256',
        KeyUsage: 'SIGN_VERIFY',
        Description: `upman release metadata: ${role}`,
      }),
    );
    ids[role] = KeyMetadata!.KeyId!;
  }
  if (Object.keys(ids).length > 0) {
    await writeFile(join(dir, KMS_FILE), `${JSON.stringify(ids, null, 2)}\n`, { flag: 'wx' });
  }
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
    .option(
      '--site-keys',
      "snapshot and timestamp signed by VendorSiteStack's KMS keys, which its hourly refresh uses (recommended)",
    )
    .option('--snapshot-key <arn>', 'the stack output TufSnapshotKeyArn (implies --site-keys)')
    .option('--timestamp-key <arn>', 'the stack output TufTimestampKeyArn (implies --site-keys)')
    .action(async (o: TufOptions) => {
      const conn = connect(o);
      try {
        if (!existsSync(join(o.keys, KMS_FILE)) && !existsSync(join(o.keys, 'root.pem'))) {
          await createKeys(o.keys, Boolean(o.kms), o.endpoints, siteKeysOf(o));
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
    .option('--site-keys', "snapshot and timestamp: VendorSiteStack's KMS keys")
    .option('--snapshot-key <arn>', 'the stack output TufSnapshotKeyArn (implies --site-keys)')
    .option('--timestamp-key <arn>', 'the stack output TufTimestampKeyArn (implies --site-keys)')
    .action(async (o: TufOptions & { newKeys: string }) => {
      const conn = connect(o);
      try {
        if (!existsSync(join(o.newKeys, KMS_FILE)) && !existsSync(join(o.newKeys, 'root.pem'))) {
          await createKeys(o.newKeys, Boolean(o.kms), o.endpoints, siteKeysOf(o));
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
