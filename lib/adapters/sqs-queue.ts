// A queue to finance (budget batches S502, purchase orders S507) as the use cases see it.
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { MessageQueue } from '../workflow/ports.js';

let shared: SQSClient | undefined;
/** One SQS client per container. */
export function sqsClient(): SQSClient {
  shared ??= new SQSClient({});
  return shared;
}

export class SqsMessageQueue implements MessageQueue {
  constructor(
    private readonly client: SQSClient,
    private readonly queueUrl: string,
  ) {}

  async send(body: unknown, dedupeId?: string): Promise<{ messageId: string }> {
    const out = await this.client.send(
      new SendMessageCommand({
        QueueUrl: this.queueUrl,
        MessageBody: JSON.stringify(body),
        // Standard queues may deliver twice: the id lets finance drop a duplicate.
        ...(dedupeId
          ? { MessageAttributes: { dedupeId: { DataType: 'String', StringValue: dedupeId } } }
          : {}),
      }),
    );
    return { messageId: out.MessageId ?? '' };
  }
}
