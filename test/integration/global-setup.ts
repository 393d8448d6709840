// Starts one local cloud for all integration tests: free ports, a fresh data directory,
// DynamoDB in memory. Tests read the endpoints with inject('endpoints').
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CreateQueueCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { TestProject } from 'vitest/node';
import { type LocalCloud, startLocalCloud } from '../../cdk/local/cloud.js';
import { SERVICES, type ServiceName } from '../../cdk/local/ports.js';

let cloud: LocalCloud | undefined;
let dataDir: string | undefined;
let control: Server | undefined;

export async function setup(project: TestProject): Promise<void> {
  dataDir = mkdtempSync(join(tmpdir(), 'upman-it-'));
  const root = process.cwd();
  cloud = await startLocalCloud({
    root,
    dataDir,
    assemblyDir: join(root, 'cdk.out'),
    ports: Object.fromEntries(SERVICES.map((s) => [s, 0])) as Record<ServiceName, number>,
    inMemory: true,
    timeScale: Number(process.env.UPMAN_TEST_TIME_SCALE ?? 1),
    log: (line) => console.log(`[local cloud] ${line}`),
  });
  const e = cloud.endpoints;
  await createTestFixtures(e.region, e.credentials, e);
  project.provide('endpoints', e);
  project.provide('dataDir', dataDir);
  project.provide('control', await startControl(cloud));
}

/**
 * The test workers' handle on the cloud in this process: list the schedules and fire one now,
 * through the same path as its timer (the schedule's role invokes the function).
 */
async function startControl(local: LocalCloud): Promise<string> {
  control = createServer((req, res) => {
    const answer = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body ?? null));
    };
    const fire = /^\/schedules\/([^/]+)\/fire$/.exec(req.url ?? '');
    if (req.method === 'GET' && req.url === '/schedules') {
      return answer(
        200,
        local.scheduler.list().map((s) => ({ id: s.id, expression: s.expression, target: s.target })),
      );
    }
    if (req.method === 'POST' && fire) {
      local.scheduler.fire(decodeURIComponent(fire[1]!)).then(
        (result) => answer(200, result),
        (error: Error) => answer(500, { error: error.message }),
      );
      return;
    }
    answer(404, { error: `no ${req.method} ${req.url}` });
  });
  await new Promise<void>((resolve) => control!.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(control.address() as AddressInfo).port}`;
}

export async function teardown(): Promise<void> {
  await new Promise((resolve) => (control ? control.close(resolve) : resolve(undefined)));
  await cloud?.stop();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
}

/** Scratch resources that tests of the emulators themselves use (not part of the app). */
async function createTestFixtures(
  region: string,
  credentials: { accessKeyId: string; secretAccessKey: string },
  e: { sqs: string; dynamodb: string },
): Promise<void> {
  await cloud!.createBucket('upman-test-logs');
  await cloud!.createBucket('upman-test-bucket', {
    accessLog: { targetBucket: 'upman-test-logs', prefix: 'test/' },
  });
  const sqs = new SQSClient({ region, credentials, endpoint: e.sqs });
  await sqs.send(new CreateQueueCommand({ QueueName: 'upman-test-queue' }));
  const ddb = new DynamoDBClient({ region, credentials, endpoint: e.dynamodb });
  await ddb.send(
    new CreateTableCommand({
      TableName: 'upman-test-table',
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      AttributeDefinitions: [
        { AttributeName: 'pk', AttributeType: 'S' },
        { AttributeName: 'sk', AttributeType: 'S' },
      ],
      BillingMode: 'PAY_PER_REQUEST',
    }),
  );
  sqs.destroy();
  ddb.destroy();
}
