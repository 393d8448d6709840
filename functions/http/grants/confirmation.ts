// POST /grants/{grantId}/confirmation {sha256}: the agent confirms a completed download; with
// the access logs, the second way to S604/S605 (exactly once per grant, whichever comes first).
import { grantPorts } from '../../../lib/adapters/dynamodb/grants-env.js';
import { httpHandler, json } from '../../../lib/http/handler.js';
import { route } from '../../../lib/http/input.js';
import { API_INPUTS } from '../../../lib/http/schemas/api.js';
import { confirmDownload } from '../../../lib/vendor/grants.js';

export const handler = httpHandler(
  route(API_INPUTS['POST /grants/{grantId}/confirmation'], async ({ params, body }, { caller }) =>
    json(200, await confirmDownload(grantPorts(), caller, params.grantId, body)),
  ),
);
