// Every 5 minutes (EventBridge Scheduler; a timer in the local cloud): reads the release bucket's
// new server access logs and completes the grants whose downloads they show (S604/S605).
import { Logger } from '@aws-lambda-powertools/logger';
import { processorPorts } from '../../lib/adapters/dynamodb/grants-env.js';
import { processAccessLogs } from '../../lib/vendor/access-log-processor.js';

const logger = new Logger();

export const handler = async () => {
  const result = await processAccessLogs(
    processorPorts((message, detail) => logger.warn(message, detail ?? {})),
    { maxObjects: Number(process.env.MAX_LOG_OBJECTS_PER_RUN ?? 500) },
  );
  logger.info('access logs processed', { ...result });
  return result;
};
