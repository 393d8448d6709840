// The vendor side's ports for a Lambda function, built once per container from its environment
// (docs/vendor.md "Env contract"). A missing or malformed setting fails at first use, by name.
//   TABLE_NAME                 registry table (grants live there too)
//   RELEASE_BUCKET_NAME        the vendor's release bucket (manifests, artifacts)
//   KEY_TTL_SECONDS            lifetime of a key (presigned URL), 60..900 (a revocation takes effect within it)
//   GRANT_TTL_DAYS             how long fresh keys may be asked for (default 30)
//   DOWNLOAD_NOTICE_QUEUE_URL  finance's download-completed queue (S604; the confirmation function only)
//   ACCESS_LOG_BUCKET_NAME, ACCESS_LOG_PREFIX   the release bucket's server access logs (processor only)
import { S3Client } from '@aws-sdk/client-s3';
import type { KeyIssuer } from '../../ports/key-issuer.js';
import type { ProcessorPorts } from '../../vendor/access-log-processor.js';
import { type GrantPorts, MAX_KEY_TTL_SECONDS } from '../../vendor/grants.js';
import { createKeyIssuer } from '../../vendor/key-issuer.js';
import { S3AccessLogs, S3Releases, s3ClientConfig } from '../s3/releases.js';
import { SqsMessageQueue, sqsClient } from '../sqs-queue.js';
import { sharedDocumentClient } from './client.js';
import { DynamoGrantStore } from './grants.js';
import { DynamoLedgerStore } from './ledger-store.js';
import { DynamoLicenceStore } from './licence-store.js';
import { DynamoRegistryStore } from './registry-store.js';

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`Environment variable ${name} is not set`);
  return value;
}

function wholeNumber(name: string, fallback: number | undefined, min: number, max: number): number {
  const raw = process.env[name];
  if ((raw === undefined || raw === '') && fallback !== undefined) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new Error(`Environment variable ${name} must be a whole number from ${min} to ${max}`);
  }
  return n;
}

let s3: S3Client | undefined;
let ports: (GrantPorts & { store: DynamoGrantStore; s3: S3Client }) | undefined;

/** The grant use cases' ports (key route, confirmation route, S508 key issuer). */
export function grantPorts(): GrantPorts & { store: DynamoGrantStore; s3: S3Client } {
  if (ports) return ports;
  s3 ??= new S3Client(s3ClientConfig());
  const table = required('TABLE_NAME');
  const db = sharedDocumentClient();
  const registry = new DynamoRegistryStore(db, table);
  const store = new DynamoGrantStore(db, table, registry, {
    ledger: new DynamoLedgerStore(db, table),
    licences: new DynamoLicenceStore(db, table),
  });
  const queueUrl = process.env.DOWNLOAD_NOTICE_QUEUE_URL;
  const queue = queueUrl ? new SqsMessageQueue(sqsClient(), queueUrl) : undefined;
  ports = {
    grants: store,
    store,
    s3,
    releases: new S3Releases(s3, required('RELEASE_BUCKET_NAME')),
    registry,
    ...(queue
      ? { notices: { send: async (notice) => void (await queue.send(notice, notice.grantId)) } }
      : {}),
    keyTtlSeconds: wholeNumber('KEY_TTL_SECONDS', MAX_KEY_TTL_SECONDS, 60, MAX_KEY_TTL_SECONDS),
    grantTtlDays: wholeNumber('GRANT_TTL_DAYS', 30, 1, 3650),
  };
  return ports;
}

/** S508: what the workflow's grant function calls (lib/ports/key-issuer.ts). */
export function keyIssuerFromEnvironment(): KeyIssuer {
  return createKeyIssuer(grantPorts());
}

/** The access-log processor's ports: it reads the logs and stores audit evidence, nothing else. */
export function processorPorts(log: ProcessorPorts['log']): ProcessorPorts {
  const base = grantPorts();
  return {
    evidence: base.store,
    logs: new S3AccessLogs(base.s3, required('ACCESS_LOG_BUCKET_NAME'), process.env.ACCESS_LOG_PREFIX ?? ''),
    releaseBucket: required('RELEASE_BUCKET_NAME'),
    ...(log ? { log } : {}),
  };
}
