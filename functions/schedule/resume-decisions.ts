// The sweep (every few minutes): decisions recorded whose hand-over to the execution
// (SendTaskSuccess) did not happen are handed over again, so a decision always reaches its workflow.
import { Logger } from '@aws-lambda-powertools/logger';
import { resumeStuckDecisions } from '../../lib/workflow/approvals.js';
import { callbacks, clock, workflowStore } from '../workflow/deps.js';

const logger = new Logger();
const ports = { approvals: workflowStore(), callbacks: callbacks(), clock };
/** A decision younger than this is left to the page that recorded it (it is handing it over now). */
const GRACE_SECONDS = 60;
const LIMIT = 200;

export const handler = async () => {
  const result = await resumeStuckDecisions(ports, { graceSeconds: GRACE_SECONDS, limit: LIMIT });
  if (result.resumed.length > 0 || result.failed.length > 0) logger.info('stuck decisions swept', result);
  return { resumed: result.resumed.length, failed: result.failed.length };
};
