// GET /approval-queue and PUT /approval-queue/{requestId}: the admins' queue of requests nobody
// but their requester could decide, and naming their approver.
import { peopleStore } from '../../../lib/adapters/dynamodb/people-env.js';
import { json } from '../../../lib/http/handler.js';
import { route } from '../../../lib/http/input.js';
import { API_INPUTS } from '../../../lib/http/schemas/api.js';
import { listApprovalQueue, nameApprover } from '../../../lib/workflow/approval-queue.js';
import { clock, mailer, settings, workflowStore } from '../../workflow/deps.js';
import { routes } from '../registry/route.js';

const ports = {
  approvals: workflowStore(),
  requests: workflowStore(),
  mailer: mailer(),
  clock,
  settings: settings(),
  people: peopleStore(),
};

export const handler = routes({
  'GET /approval-queue': route(API_INPUTS['GET /approval-queue'], async (_, { caller, query }) =>
    json(200, await listApprovalQueue(ports, caller, query)),
  ),
  'PUT /approval-queue/{requestId}': route(
    API_INPUTS['PUT /approval-queue/{requestId}'],
    async ({ params, body }, { caller }) =>
      json(200, await nameApprover(ports, caller, params.requestId, body)),
  ),
});
