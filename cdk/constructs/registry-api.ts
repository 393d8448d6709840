// The registry's HTTP routes (issue 3, docs/registry.md) and the announcement fan-out: a few
// functions grouped by the access they need, and a queue whose consumer keeps within SES's
// send rate.
import { Aws, Duration, type RemovalPolicy } from 'aws-cdk-lib';
import type { ITableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import { Construct } from 'constructs';
import { AppFunction, INVENTORY_WRITER } from './app-function.js';
import type { UpmanHttpApi } from './http-api.js';
import { nameAsManifestReader } from './key-issuer-role.js';
import type { Mailer } from './mailer.js';
import { QueueWithDlq } from './queue-with-dlq.js';

export interface RegistryApiProps {
  api: UpmanHttpApi;
  table: ITableV2;
  mailer: Mailer;
  logRetentionDays: number;
  removalPolicy: RemovalPolicy;
  /** The vendor's release bucket, by name (it may be in another account): announcements read
   * its manifests to narrow by module. */
  releaseBucketName: string;
  /** Its region (the vendor site's). */
  releaseBucketRegion: string;
  /** The account's SES maximum send rate that announcements may use (mails per second). */
  mailSendsPerSecond?: number;
}

/** At most this many delivery functions run at once (2 is the SQS event source's minimum). */
const DELIVERY_CONCURRENCY = 2;
const DELIVERY_TIMEOUT = Duration.seconds(60);

export class RegistryApi extends Construct {
  readonly read: AppFunction;
  readonly write: AppFunction;
  readonly announcements: AppFunction;
  readonly delivery: AppFunction;
  readonly announcementQueue: QueueWithDlq;

  constructor(scope: Construct, id: string, props: RegistryApiProps) {
    super(scope, id);
    const base = { logRetentionDays: props.logRetentionDays, removalPolicy: props.removalPolicy };
    // Cursors are signed so a changed one is refused; the key is per deployment (the stack id's
    // UUID). It guards integrity only: a cursor's content is not secret.
    const environment = { CURSOR_KEY: `upman-cursor:${Aws.STACK_ID}` };

    this.read = new AppFunction(this, 'Read', {
      ...base,
      entry: 'functions/http/registry/read.ts',
      description: 'Registry reads: clients, inventories, history, catalog, who has X, forecast, approvers',
      environment,
    }).bindTable(props.table, 'read');
    this.write = new AppFunction(this, 'Write', {
      ...base,
      entry: 'functions/http/registry/write.ts',
      description: 'Registry writes: clients, inventory reports, catalog, approver periods',
      environment,
      // An inventory change set is committed with conditional PartiQL writes, 25 clients to a
      // BatchExecuteStatement (lib/adapters/dynamodb/inventory-journal.ts), plus batch puts and deletes.
    }).bindTable(props.table, INVENTORY_WRITER);

    this.announcementQueue = new QueueWithDlq(this, 'AnnouncementQueue', {
      removalPolicy: props.removalPolicy,
      visibilityTimeout: Duration.seconds(DELIVERY_TIMEOUT.toSeconds() * 6),
      maxReceiveCount: 5,
    });
    this.announcements = new AppFunction(this, 'Announcements', {
      ...base,
      entry: 'functions/http/registry/announcements.ts',
      description: 'POST /announcements: find affected users, queue their mails',
      timeout: Duration.seconds(29),
      memorySize: 1024,
      environment,
    })
      .bindTable(props.table, 'readWrite')
      .bindQueue(this.announcementQueue.queue, 'send');
    // The module filter reads <software>/manifest.json, and nothing else, from the vendor's
    // bucket; that bucket trusts only roles named as key issuers (claim 9: another account).
    this.announcements.addEnvironment('RELEASE_BUCKET_NAME', props.releaseBucketName);
    this.announcements.addEnvironment('RELEASE_BUCKET_REGION', props.releaseBucketRegion);
    // A manifest reader, not a key issuer: the bucket policy lets it read no artifact.
    nameAsManifestReader(this.announcements, 'Announcements', props.releaseBucketName);

    const rate = props.mailSendsPerSecond ?? 10;
    this.delivery = new AppFunction(this, 'AnnouncementDelivery', {
      ...base,
      entry: 'functions/queue/announcement-delivery.ts',
      description: 'Sends announcement mail, one per user, within the SES send rate',
      timeout: DELIVERY_TIMEOUT,
      environment: { ...environment, MAIL_SENDS_PER_SECOND: String(rate / DELIVERY_CONCURRENCY) },
    })
      .bindTable(props.table, 'readWrite')
      .bindMail(props.mailer.binding);
    this.delivery.addEventSource(
      new SqsEventSource(this.announcementQueue.queue, {
        batchSize: 1,
        maxConcurrency: DELIVERY_CONCURRENCY,
        reportBatchItemFailures: true,
      }),
    );

    const routes: Array<[string, AppFunction]> = [
      ['PUT /clients/{clientId}', this.write],
      ['GET /clients/{clientId}', this.read],
      ['PUT /clients/{clientId}/software', this.write],
      ['POST /inventories', this.write],
      ['GET /clients/{clientId}/software', this.read],
      ['GET /clients/{clientId}/history', this.read],
      ['GET /users/{user}/clients', this.read],
      ['GET /software', this.read],
      ['GET /software/{name}', this.read],
      ['PUT /software/{name}', this.write],
      ['GET /software/{name}/installations', this.read],
      ['GET /software/{name}/forecast', this.read],
      ['GET /approvers/{user}', this.read],
      ['GET /approvers/{user}/periods', this.read],
      ['POST /approvers/{user}/periods', this.write],
      ['GET /people', this.read],
      ['GET /people/{key}', this.read],
      ['PUT /people/{key}', this.write],
      ['POST /people/import', this.write],
      ['GET /vendor-root', this.read],
      ['PUT /vendor-root', this.write],
      ['POST /announcements', this.announcements],
      ['GET /announcements/{announcementId}', this.announcements],
    ];
    for (const [route, fn] of routes) props.api.addRoute(route, fn);
  }
}
