// POST /update-requests (S501): records the request and starts its execution. 202 {requestId}.
import { tokenDirectory } from '../../../lib/adapters/dynamodb/people-env.js';
import { httpHandler, json } from '../../../lib/http/handler.js';
import { route } from '../../../lib/http/input.js';
import { API_INPUTS } from '../../../lib/http/schemas/api.js';
import { submitRequest } from '../../../lib/workflow/requests.js';
import { clock, executions, policy, submissionReads, workflowStore } from '../../workflow/deps.js';

const ports = {
  requests: workflowStore(),
  reads: submissionReads(),
  policy: policy(),
  executions: executions(),
  clock,
};

export const handler = httpHandler(
  route(API_INPUTS['POST /update-requests'], async ({ body }, { caller, headers }) =>
    json(202, await submitRequest(ports, caller, headers, body)),
  ),
  { directory: tokenDirectory() },
);
