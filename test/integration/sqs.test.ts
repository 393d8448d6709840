import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  GetQueueAttributesCommand,
  ListQueuesCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { startLocalSqs } from '../../cdk/local/sqs.js';

const e = inject('endpoints');
const client = new SQSClient({ endpoint: e.sqs, region: e.region, credentials: e.credentials });
afterAll(() => client.destroy());

describe('SQS (fauxqs) in the local cloud', () => {
  it('has every queue of the template, at the URL the stack outputs name', async () => {
    const urls = (await client.send(new ListQueuesCommand({}))).QueueUrls ?? [];
    const outputs = e.outputs.UpdateManagementStack!;
    for (const name of ['BudgetQueueUrl', 'PurchaseOrderQueueUrl', 'DownloadNoticeQueueUrl']) {
      expect(urls, name).toContain(outputs[name]);
    }
  });

  it('gives each app queue the redrive policy of its template, to its dead-letter queue', async () => {
    const url = e.outputs.UpdateManagementStack!.PurchaseOrderQueueUrl!;
    const attrs = (
      await client.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['All'] }))
    ).Attributes!;
    const redrive = JSON.parse(attrs.RedrivePolicy!) as {
      deadLetterTargetArn: string;
      maxReceiveCount: number;
    };
    expect(redrive.maxReceiveCount).toBe(5);
    expect(redrive.deadLetterTargetArn).toMatch(/^arn:aws:sqs:us-east-1:000000000000:PurchaseOrderQueueDlq/);
    expect(attrs.MessageRetentionPeriod).toBe(String(14 * 24 * 3600));
  });

  it('serves loopback only and keeps queued messages across a restart', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'upman-sqs-'));
    try {
      const first = await startLocalSqs({ port: 0, region: e.region, dataDir });
      expect(first.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      const c1 = new SQSClient({ endpoint: first.url, region: e.region, credentials: e.credentials });
      const { CreateQueueCommand } = await import('@aws-sdk/client-sqs');
      const { QueueUrl } = await c1.send(new CreateQueueCommand({ QueueName: 'Kept' }));
      await c1.send(new SendMessageCommand({ QueueUrl, MessageBody: 'survives' }));
      first.persistedQueues.add('Kept');
      await first.stop();
      c1.destroy();

      const second = await startLocalSqs({ port: 0, region: e.region, dataDir });
      const c2 = new SQSClient({ endpoint: second.url, region: e.region, credentials: e.credentials });
      const { provisionQueues } = await import('../../cdk/local/sqs.js');
      const { TemplateResolver } = await import('../../cdk/local/template.js');
      const resolver = new TemplateResolver(
        [
          {
            artifactId: 'S',
            stackName: 'S',
            assemblyDir: '/',
            template: { Resources: { Kept: { Type: 'AWS::SQS::Queue' } } },
          },
        ],
        { region: e.region, sqsEndpoint: second.url, apiEndpoint: 'http://127.0.0.1:1' },
      );
      const [url] = await provisionQueues(c2, resolver, dataDir);
      const got = await c2.send(new ReceiveMessageCommand({ QueueUrl: url, WaitTimeSeconds: 1 }));
      expect(got.Messages?.map((m) => m.Body)).toEqual(['survives']);
      await second.stop();
      c2.destroy();
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
