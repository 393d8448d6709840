// POST /grants/{grantId}/confirmation {sha256}: the agent confirms a completed download; with
// the access logs, the second way to S604/S605 (exactly once per grant, whichever comes first).
import { grantPorts } from '../../../lib/adapters/dynamodb/grants-env.js';
import { httpHandler, json } from '../../../lib/http/handler.js';
import { confirmDownload } from '../../../lib/vendor/grants.js';

export const handler = httpHandler(async ({ caller, pathParameters, body }) =>
  json(200, await confirmDownload(grantPorts(), caller, pathParameters.grantId ?? '', body)),
);
