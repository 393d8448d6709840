// Finance's side of S502/S503: POST /budget-batches/close (close now),
// POST /budget-batches/{batchId}/answers, GET /budget-batches?status=awaiting-answer.
import { NotFound } from '../../../lib/errors.js';
import { httpHandler, json } from '../../../lib/http/handler.js';
import { answerBatch, closeNow, listBatches } from '../../../lib/workflow/budget.js';
import { budgetPorts } from '../../workflow/deps.js';

const ports = budgetPorts();

export const handler = httpHandler(async ({ caller, event, pathParameters, query, body }) => {
  switch (event.routeKey) {
    case 'POST /budget-batches/close':
      return json(200, await closeNow(ports, caller));
    case 'POST /budget-batches/{batchId}/answers':
      return json(200, await answerBatch(ports, caller, pathParameters.batchId!, body));
    case 'GET /budget-batches':
      return json(200, await listBatches(ports, caller, query));
    default:
      throw new NotFound(`No route ${event.routeKey}`);
  }
});
