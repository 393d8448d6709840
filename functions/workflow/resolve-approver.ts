// S504 task: who approves for the requester at the time of the request (validity table).
import type { ExecutionInput } from '../../lib/workflow/model.js';
import { resolveRequestApprover } from '../../lib/workflow/outcomes.js';
import { clock, registryStore, workflowStore } from './deps.js';

const ports = { approvers: registryStore(), requests: workflowStore(), clock };

export const handler = async (event: ExecutionInput) => resolveRequestApprover(ports, event);
