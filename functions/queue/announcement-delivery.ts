// Sends announcement mail from the fan-out queue. Each message is a slice of recipients; a
// message with a failed send is reported back (partial batch response) and retried by SQS,
// and the per-recipient claim keeps a retry from mailing anyone twice.
import { Logger } from '@aws-lambda-powertools/logger';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { registryPorts } from '../../lib/adapters/dynamodb/registry-env.js';
import { mailerFromEnv } from '../../lib/adapters/ses-mailer.js';
import type { AnnouncementBatch } from '../../lib/ports/registry-announcements.js';
import { deliverBatch } from '../../lib/registry/announcements.js';
import { tokenBucket } from '../../lib/registry/rate-limit.js';

const logger = new Logger();
// This function's share of the account's SES send rate (RegistryApi divides it by the
// consumer's maximum concurrency).
const rate = Number(process.env.MAIL_SENDS_PER_SECOND ?? '1');
if (!(rate > 0)) throw new Error('MAIL_SENDS_PER_SECOND must be a positive number');

const ports = {
  announcements: registryPorts().announcements,
  people: registryPorts().people,
  mailer: mailerFromEnv(),
  limiter: tokenBucket(rate),
};

export const handler = async (event: SQSEvent): Promise<SQSBatchResponse> => {
  const batchItemFailures: SQSBatchResponse['batchItemFailures'] = [];
  for (const record of event.Records) {
    try {
      const batch = JSON.parse(record.body) as AnnouncementBatch;
      const result = await deliverBatch(ports, batch);
      logger.info('announcement batch', { announcementId: batch.announcementId, ...result });
      if (result.failed.length > 0) batchItemFailures.push({ itemIdentifier: record.messageId });
    } catch (error) {
      logger.error('announcement batch failed', { error: error as Error, messageId: record.messageId });
      batchItemFailures.push({ itemIdentifier: record.messageId });
    }
  }
  return { batchItemFailures };
};
