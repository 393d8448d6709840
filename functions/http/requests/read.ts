// GET /update-requests (the caller's own, paginated) and GET /update-requests/{id}.
import { NotFound } from '../../../lib/errors.js';
import { httpHandler, json } from '../../../lib/http/handler.js';
import { getRequest, listOwnRequests } from '../../../lib/workflow/requests.js';
import { workflowStore } from '../../workflow/deps.js';

const ports = { requests: workflowStore() };

export const handler = httpHandler(async ({ caller, event, pathParameters, query }) => {
  if (event.routeKey === 'GET /update-requests')
    return json(200, await listOwnRequests(ports, caller, query));
  if (event.routeKey === 'GET /update-requests/{id}')
    return json(200, await getRequest(ports, caller, pathParameters.id!));
  throw new NotFound(`No route ${event.routeKey}`);
});
