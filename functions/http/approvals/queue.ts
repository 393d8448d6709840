// GET /approval-queue and PUT /approval-queue/{requestId}: the admins' queue of requests nobody
// but their requester could decide, and naming their approver.
import { peopleStore } from '../../../lib/adapters/dynamodb/people-env.js';
import { NotFound } from '../../../lib/errors.js';
import { httpHandler, json } from '../../../lib/http/handler.js';
import { listApprovalQueue, nameApprover } from '../../../lib/workflow/approval-queue.js';
import { clock, mailer, settings, workflowStore } from '../../workflow/deps.js';

const ports = {
  approvals: workflowStore(),
  requests: workflowStore(),
  mailer: mailer(),
  clock,
  settings: settings(),
  people: peopleStore(),
};

export const handler = httpHandler(async ({ caller, event, pathParameters, query, body }) => {
  if (event.routeKey === 'GET /approval-queue')
    return json(200, await listApprovalQueue(ports, caller, query));
  if (event.routeKey === 'PUT /approval-queue/{requestId}')
    return json(200, await nameApprover(ports, caller, pathParameters.requestId!, body));
  throw new NotFound(`No route ${event.routeKey}`);
});
