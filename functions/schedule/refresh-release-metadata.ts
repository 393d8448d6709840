// Every hour (EventBridge Scheduler; a timer in the local cloud): signs a new timestamp, and a
// new snapshot when due, of the vendor site's release metadata with the stack's KMS keys, so
// clients never meet an expired timestamp between publishes.
import { Logger } from '@aws-lambda-powertools/logger';
import { KMSClient } from '@aws-sdk/client-kms';
import { S3Client } from '@aws-sdk/client-s3';
import { z } from 'zod';
import { S3Releases, s3ClientConfig } from '../../lib/adapters/s3/releases.js';
import { type RoleSigners, refreshWhenDue } from '../../lib/vendor/tuf.js';
import { kmsSigner } from '../../lib/vendor/tuf-signers.js';

const env = z
  .object({
    RELEASE_BUCKET_NAME: z.string().min(1),
    TUF_SNAPSHOT_KEY_ID: z.string().min(1),
    TUF_TIMESTAMP_KEY_ID: z.string().min(1),
  })
  .parse(process.env);

const logger = new Logger();
const store = new S3Releases(new S3Client(s3ClientConfig()), env.RELEASE_BUCKET_NAME);
const kms = new KMSClient({});
// The public keys are read once per environment; a failed read is tried again next run.
let signers: Promise<Pick<RoleSigners, 'snapshot' | 'timestamp'>> | undefined;
const signersOnce = () => {
  signers ??= Promise.all([
    kmsSigner(kms, env.TUF_SNAPSHOT_KEY_ID),
    kmsSigner(kms, env.TUF_TIMESTAMP_KEY_ID),
  ]).then(([snapshot, timestamp]) => ({ snapshot, timestamp }));
  signers.catch(() => {
    signers = undefined;
  });
  return signers;
};

export const handler = async () => {
  const result = await refreshWhenDue(store, await signersOnce());
  if (result.status === 'not-initialised') {
    logger.info('tuf/ has no root.json yet: nothing to refresh until "upman vendor tuf init --site-keys"');
  } else {
    logger.info('release metadata checked', { ...result });
  }
  return result;
};
