// GET /update-requests (the caller's own, paginated) and GET /update-requests/{id}.

import { json } from '../../../lib/http/handler.js';
import { route } from '../../../lib/http/input.js';
import { API_INPUTS } from '../../../lib/http/schemas/api.js';
import { getRequest, listOwnRequests } from '../../../lib/workflow/requests.js';
import { workflowStore } from '../../workflow/deps.js';
import { routes } from '../registry/route.js';

const ports = { requests: workflowStore() };

export const handler = routes({
  'GET /update-requests': route(API_INPUTS['GET /update-requests'], async (_, { caller, query }) =>
    json(200, await listOwnRequests(ports, caller, query)),
  ),
  'GET /update-requests/{id}': route(
    API_INPUTS['GET /update-requests/{id}'],
    async ({ params }, { caller }) => json(200, await getRequest(ports, caller, params.id)),
  ),
});
