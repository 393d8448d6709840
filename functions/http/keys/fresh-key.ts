// POST /update-requests/{id}/key {clientId, currentRevision}: a fresh key (presigned URL) for an
// approved request, to the delta from the client's revision or the full package (S601–S603).
import { grantPorts } from '../../../lib/adapters/dynamodb/grants-env.js';
import { httpHandler, json } from '../../../lib/http/handler.js';
import { route } from '../../../lib/http/input.js';
import { API_INPUTS } from '../../../lib/http/schemas/api.js';
import { freshKey } from '../../../lib/vendor/grants.js';

export const handler = httpHandler(
  route(API_INPUTS['POST /update-requests/{id}/key'], async ({ params, body }, { caller }) =>
    json(200, await freshKey(grantPorts(), caller, params.id, body)),
  ),
);
