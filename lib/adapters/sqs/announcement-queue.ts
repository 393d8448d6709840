// The announcement fan-out queue over SQS: batches of recipients, ten messages per call.
import { SendMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { AnnouncementBatch, AnnouncementQueue } from '../../ports/registry-announcements.js';

export class SqsAnnouncementQueue implements AnnouncementQueue {
  constructor(
    private readonly sqs: SQSClient,
    private readonly queueUrl: string,
  ) {}

  async enqueue(batches: AnnouncementBatch[]): Promise<void> {
    for (let i = 0; i < batches.length; i += 10) {
      let entries = batches
        .slice(i, i + 10)
        .map((b, j) => ({ Id: String(i + j), MessageBody: JSON.stringify(b) }));
      for (let attempt = 0; entries.length > 0; attempt++) {
        if (attempt >= 5) throw new Error(`SQS refused ${entries.length} announcement messages`);
        const out = await this.sqs.send(
          new SendMessageBatchCommand({ QueueUrl: this.queueUrl, Entries: entries }),
        );
        const failed = new Set((out.Failed ?? []).map((f) => f.Id));
        entries = entries.filter((e) => failed.has(e.Id));
        if (entries.length > 0) await new Promise((r) => setTimeout(r, 50 * 2 ** attempt));
      }
    }
  }
}
