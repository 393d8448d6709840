// S508's KeyIssuer: the vendor side's (grant + presigned key, lib/vendor/key-issuer.ts) when the
// release bucket is configured; otherwise the grant is only recorded on the request and the
// key is asked for later (lib/adapters/dynamodb/workflow-grants.ts).
import { sharedDocumentClient } from '../../lib/adapters/dynamodb/client.js';
import { keyIssuerFromEnvironment } from '../../lib/adapters/dynamodb/grants-env.js';
import { RecordedGrantIssuer } from '../../lib/adapters/dynamodb/workflow-grants.js';
import type { KeyIssuer } from '../../lib/ports/key-issuer.js';

let issuer: KeyIssuer | undefined;

export function workflowKeyIssuer(): KeyIssuer {
  if (issuer) return issuer;
  const table = process.env.TABLE_NAME;
  if (!table) throw new Error('Environment variable TABLE_NAME is not set');
  issuer = process.env.RELEASE_BUCKET_NAME
    ? keyIssuerFromEnvironment()
    : new RecordedGrantIssuer(sharedDocumentClient(), table);
  return issuer;
}
