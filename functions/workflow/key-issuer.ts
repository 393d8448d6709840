// S508's KeyIssuer. The vendor issue's issuer (grant + presigned key) is not wired yet; until
// it is, the grant is recorded on the request and the key is issued on request later.
import { sharedDocumentClient } from '../../lib/adapters/dynamodb/client.js';
import { RecordedGrantIssuer } from '../../lib/adapters/dynamodb/workflow-grants.js';
import type { KeyIssuer } from '../../lib/ports/key-issuer.js';

let issuer: KeyIssuer | undefined;

export function workflowKeyIssuer(): KeyIssuer {
  const table = process.env.TABLE_NAME;
  if (!table) throw new Error('Environment variable TABLE_NAME is not set');
  issuer ??= new RecordedGrantIssuer(sharedDocumentClient(), table);
  return issuer;
}
