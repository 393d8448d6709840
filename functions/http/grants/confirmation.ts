// POST /grants/{grantId}/confirmation {sha256}: the agent confirms a completed download; with
// the access logs, the second way to S604/S605 (exactly once per grant, whichever comes first).
import { grantPorts } from '../../../lib/adapters/dynamodb/grants-env.js';
import { httpHandler, json } from '../../../lib/http/handler.js';
import { route } from '../../../lib/http/input.js';
import { ConfirmationBody, GrantPath } from '../../../lib/http/schemas/workflow.js';
import { confirmDownload } from '../../../lib/vendor/grants.js';

export const handler = httpHandler(
  route({ params: GrantPath, body: ConfirmationBody }, async ({ params, body }, { caller }) =>
    json(200, await confirmDownload(grantPorts(), caller, params.grantId, body)),
  ),
);
