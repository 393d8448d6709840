// S502 on the configured schedule (EventBridge Scheduler): closes the open budget batch.
import { Logger } from '@aws-lambda-powertools/logger';
import { closeBatches } from '../../lib/workflow/budget.js';
import { budgetPorts } from '../workflow/deps.js';

const logger = new Logger();
const ports = budgetPorts();

export const handler = async () => {
  const result = await closeBatches(ports);
  logger.info('budget batches closed', { batches: result.batches });
  return result;
};
