// SQS: fauxqs in process. Queues come from the template (with their dead-letter redrive);
// pollers deliver messages to the functions that the template's event source mappings name,
// the way Lambda's SQS poller does (batch, partial batch failures, visibility timeout).
// fauxqs keeps messages in memory: they are written to dataDir on stop and sent again on start.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  type Message,
  ReceiveMessageCommand,
  SendMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { buildApp } from 'fauxqs';
import type { TemplateResolver } from './template.js';

interface Snapshot {
  queues: Record<string, Array<{ body: string }>>;
}

interface SqsStoreLike {
  inspectQueue(name: string):
    | {
        messages: {
          ready: Array<{ body: string }>;
          delayed: Array<{ body: string }>;
          inflight: Array<{ message: { body: string } }>;
        };
      }
    | undefined;
}

export interface LocalSqs {
  url: string;
  /** Queues whose messages are saved on stop. */
  persistedQueues: Set<string>;
  stop(): Promise<void>;
}

// fauxqs's own startFauxqs() listens on 0.0.0.0; the local cloud serves loopback only, so it
// builds the app with its own stores (kept for the snapshot) and listens on 127.0.0.1. The
// store modules are loaded by file URL next to the package's entry point.
function fauxqsEntry(): string {
  const require = createRequire(import.meta.url);
  for (const dir of require.resolve.paths('fauxqs') ?? []) {
    const pkg = join(dir, 'fauxqs', 'package.json');
    if (existsSync(pkg))
      return join(dir, 'fauxqs', (JSON.parse(readFileSync(pkg, 'utf8')) as { main: string }).main);
  }
  throw new Error('fauxqs is not installed (npm ci)');
}

async function fauxqsStores() {
  const entry = pathToFileURL(fauxqsEntry()).href;
  const load = async <T>(path: string, name: string) =>
    ((await import(new URL(path, entry).href)) as Record<string, new () => T>)[name]!;
  const SqsStore = await load<SqsStoreLike>('./sqs/sqsStore.js', 'SqsStore');
  const SnsStore = await load<object>('./sns/snsStore.js', 'SnsStore');
  const S3Store = await load<object>('./s3/s3Store.js', 'S3Store');
  const sqsStore = new SqsStore() as SqsStoreLike & { host?: string };
  // An empty host makes fauxqs form queue URLs from the request's Host: http://127.0.0.1:<port>/…
  sqsStore.host = '';
  return { sqsStore, snsStore: new SnsStore(), s3Store: new S3Store() };
}

export async function startLocalSqs(options: {
  port: number;
  region: string;
  dataDir?: string;
}): Promise<LocalSqs> {
  const stores = await fauxqsStores();
  // No `host` option: queue URLs are then formed from the request's host, http://127.0.0.1:<port>/<account>/<name>.
  const app = buildApp({ logger: false, defaultRegion: options.region, stores } as Parameters<
    typeof buildApp
  >[0]);
  const address = await app.listen({ port: options.port, host: '127.0.0.1' });
  const url = `http://127.0.0.1:${new URL(address).port}`;
  const persistedQueues = new Set<string>();
  return {
    url,
    persistedQueues,
    stop: async () => {
      if (options.dataDir) saveSnapshot(stores.sqsStore, persistedQueues, join(options.dataDir, 'sqs.json'));
      await app.close();
    },
  };
}

/** Names of the queues fauxqs holds, from the template. */
export function templateQueues(resolver: TemplateResolver) {
  return resolver.resourcesOfType('AWS::SQS::Queue').map(({ stack, logicalId, resource }) => {
    const props = (resolver.resolve(stack, resource.Properties ?? {}) ?? {}) as Record<string, unknown>;
    const attributes: Record<string, string> = {};
    for (const key of [
      'VisibilityTimeout',
      'MessageRetentionPeriod',
      'DelaySeconds',
      'ReceiveMessageWaitTimeSeconds',
    ]) {
      if (props[key] !== undefined) attributes[key] = String(props[key]);
    }
    if (props.FifoQueue) attributes.FifoQueue = 'true';
    if (props.ContentBasedDeduplication) attributes.ContentBasedDeduplication = 'true';
    if (props.RedrivePolicy) attributes.RedrivePolicy = JSON.stringify(props.RedrivePolicy);
    return {
      name: resolver.queueName(stack, logicalId),
      attributes,
      hasRedrive: Boolean(props.RedrivePolicy),
    };
  });
}

/** Creates the template's queues (dead-letter queues first) and restores saved messages. */
export async function provisionQueues(
  client: SQSClient,
  resolver: TemplateResolver,
  dataDir?: string,
): Promise<string[]> {
  const queues = templateQueues(resolver).sort((a, b) => Number(a.hasRedrive) - Number(b.hasRedrive));
  const urls: string[] = [];
  for (const queue of queues) {
    const out = await client.send(
      new CreateQueueCommand({ QueueName: queue.name, Attributes: queue.attributes }),
    );
    urls.push(out.QueueUrl!);
  }
  const file = dataDir ? join(dataDir, 'sqs.json') : undefined;
  if (file && existsSync(file)) {
    const snapshot = JSON.parse(readFileSync(file, 'utf8')) as Snapshot;
    for (const [name, messages] of Object.entries(snapshot.queues)) {
      const url = urls.find((u) => u.endsWith(`/${name}`));
      if (!url) continue;
      for (const m of messages) {
        await client.send(new SendMessageCommand({ QueueUrl: url, MessageBody: m.body }));
      }
    }
  }
  return urls;
}

function saveSnapshot(store: SqsStoreLike, names: Set<string>, file: string): void {
  const snapshot: Snapshot = { queues: {} };
  for (const name of names) {
    const q = store.inspectQueue(name);
    if (!q) continue;
    const all = [...q.messages.ready, ...q.messages.delayed, ...q.messages.inflight.map((m) => m.message)];
    snapshot.queues[name] = all.map((m) => ({ body: (m as { body: string }).body }));
  }
  writeFileSync(file, JSON.stringify(snapshot));
}

export interface EventSourceMapping {
  functionName: string;
  queueName: string;
  batchSize: number;
  reportBatchItemFailures: boolean;
}

export function templateEventSourceMappings(resolver: TemplateResolver): EventSourceMapping[] {
  return resolver.resourcesOfType('AWS::Lambda::EventSourceMapping').flatMap(({ stack, resource }) => {
    const props = resolver.resolve(stack, resource.Properties ?? {}) as Record<string, unknown>;
    const arn = String(props.EventSourceArn ?? '');
    if (!arn.startsWith('arn:aws:sqs:')) return [];
    return [
      {
        functionName: String(props.FunctionName),
        queueName: arn.split(':').pop()!,
        batchSize: Number(props.BatchSize ?? 10),
        reportBatchItemFailures: ((props.FunctionResponseTypes as string[] | undefined) ?? []).includes(
          'ReportBatchItemFailures',
        ),
      },
    ];
  });
}

/** Polls a queue and hands batches to a function, like Lambda's SQS event source. */
export class QueuePoller {
  private running = true;
  private readonly done: Promise<void>;

  constructor(
    private readonly client: SQSClient,
    private readonly queueUrl: string,
    private readonly queueArn: string,
    private readonly mapping: EventSourceMapping,
    private readonly invoke: (functionName: string, event: unknown) => Promise<unknown>,
    private readonly region: string,
    private readonly onError: (error: unknown) => void,
  ) {
    this.done = this.loop();
  }

  private async loop(): Promise<void> {
    while (this.running) {
      let messages: Message[] = [];
      try {
        const out = await this.client.send(
          new ReceiveMessageCommand({
            QueueUrl: this.queueUrl,
            MaxNumberOfMessages: Math.min(this.mapping.batchSize, 10),
            WaitTimeSeconds: 1,
            MessageSystemAttributeNames: ['All'],
            MessageAttributeNames: ['All'],
          }),
        );
        messages = out.Messages ?? [];
      } catch (error) {
        if (this.running) this.onError(error);
        await new Promise((r) => setTimeout(r, 500));
        continue;
      }
      if (messages.length === 0 || !this.running) continue;
      await this.deliver(messages);
    }
  }

  private async deliver(messages: Message[]): Promise<void> {
    const event = {
      Records: messages.map((m) => ({
        messageId: m.MessageId,
        receiptHandle: m.ReceiptHandle,
        body: m.Body ?? '',
        attributes: m.Attributes ?? {},
        messageAttributes: m.MessageAttributes ?? {},
        md5OfBody: m.MD5OfBody,
        eventSource: 'aws:sqs',
        eventSourceARN: this.queueArn,
        awsRegion: this.region,
      })),
    };
    let failed = new Set<string>();
    try {
      const result = (await this.invoke(this.mapping.functionName, event)) as
        | { batchItemFailures?: Array<{ itemIdentifier: string }> }
        | undefined;
      if (this.mapping.reportBatchItemFailures && result?.batchItemFailures) {
        failed = new Set(result.batchItemFailures.map((f) => f.itemIdentifier));
      }
    } catch (error) {
      // The whole batch failed: leave every message for the visibility timeout and redrive.
      this.onError(error);
      return;
    }
    const toDelete = messages.filter((m) => !failed.has(m.MessageId!));
    if (toDelete.length === 0) return;
    await this.client.send(
      new DeleteMessageBatchCommand({
        QueueUrl: this.queueUrl,
        Entries: toDelete.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle! })),
      }),
    );
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.done;
  }
}
