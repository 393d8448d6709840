// DELETE /grants/{grantId} (admins): revokes a grant; asking for a fresh key then answers 410.
import { grantPorts } from '../../../lib/adapters/dynamodb/grants-env.js';
import { httpHandler, json } from '../../../lib/http/handler.js';
import { route } from '../../../lib/http/input.js';
import { API_INPUTS } from '../../../lib/http/schemas/api.js';
import { revokeGrant } from '../../../lib/vendor/grants.js';

export const handler = httpHandler(
  route(API_INPUTS['DELETE /grants/{grantId}'], async ({ params }, { caller }) => {
    const grant = await revokeGrant(grantPorts(), caller, params.grantId);
    return json(200, { grantId: grant.grantId, status: grant.status, revokedAt: grant.revokedAt });
  }),
);
