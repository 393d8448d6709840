// `npm start` keeps its data under .local/: after Ctrl-C, a second start on the same data
// directory finds what the first one stored (tables, buckets, queued messages, the mailbox,
// the issuer key). Each start is its own process, as a user runs it.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { SESv2Client, SendEmailCommand } from '@aws-sdk/client-sesv2';
import { ReceiveMessageCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, describe, expect, it } from 'vitest';
import type { Endpoints } from '../../cdk/local/cloud.js';
import { mintToken } from '../../cdk/local/issuer/index.js';
import { claimPort, SERVICES } from '../../cdk/local/ports.js';
import { documentClient } from '../../lib/adapters/dynamodb/client.js';
import { DynamoRegistryStore } from '../../lib/adapters/dynamodb/registry-store.js';

const root = process.cwd();
const dataDir = mkdtempSync(join(tmpdir(), 'upman-restart-'));
let child: ChildProcess | undefined;

let lastOutput = '';

/** Runs `npm start`'s entry point on free ports and waits until it says it is ready. */
async function start(): Promise<Endpoints> {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const service of SERVICES)
    env[`UPMAN_PORT_${service.toUpperCase()}`] = String(await claimPort(service, 0));
  child = spawn(process.execPath, ['bin/start.mjs', '--data-dir', dataDir, '--no-seed'], {
    cwd: root,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  await new Promise<void>((resolve, reject) => {
    const onData = (d: Buffer) => {
      output += d.toString();
      lastOutput = output;
      if (output.includes('local cloud ready')) resolve();
    };
    child!.stdout!.on('data', onData);
    child!.stderr!.on('data', onData);
    child!.once('exit', (code) => reject(new Error(`npm start exited (${code}):\n${output}`)));
  });
  return JSON.parse(readFileSync(join(dataDir, 'endpoints.json'), 'utf8')) as Endpoints;
}

/** Ctrl-C, and wait for every part to stop. */
async function stop(): Promise<number | null> {
  const running = child;
  child = undefined;
  if (!running || running.exitCode !== null) return running?.exitCode ?? null;
  return new Promise((resolve) => {
    running.once('exit', (code) => resolve(code));
    running.kill('SIGINT');
  });
}

afterAll(async () => {
  await stop();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('the local cloud across a restart', () => {
  it('keeps tables, objects, queued messages, mail and the issuer key; runs the deploy steps', {
    timeout: 240_000,
  }, async () => {
    const e1 = await start();
    const config = { region: e1.region, credentials: e1.credentials };
    const stamp = `restart-${Date.now()}`;
    const ddb1 = new DynamoDBClient({ ...config, endpoint: e1.dynamodb });
    // Two clients of one department in two spellings, as a registry written before departments
    // compared case-insensitively holds them (the store's own save, no use case in between).
    const store1 = new DynamoRegistryStore(documentClient(ddb1), e1.tables.registry);
    const client = (id: string, department: string, createdAt: string) => ({
      clientId: `${stamp}-${id}`,
      name: id,
      ipAddress: '10.0.0.9',
      osRegistrationId: `os-${id}`,
      department: `${stamp}-${department}`,
      users: [],
      createdAt,
      updatedAt: createdAt,
    });
    await store1.saveClient(client('old', 'Sales', '2024-01-01T00:00:00.000Z'), undefined);
    await store1.saveClient(client('new', 'SALES', '2025-01-01T00:00:00.000Z'), undefined);
    await ddb1.send(
      new PutItemCommand({
        TableName: e1.tables.registry,
        Item: { pk: { S: `TEST#${stamp}` }, sk: { S: 'x' } },
      }),
    );
    const bucket = e1.outputs.VendorSiteStack!.ReleaseBucketName!;
    const s31 = new S3Client({ ...config, endpoint: e1.s3, forcePathStyle: true });
    await s31.send(new PutObjectCommand({ Bucket: bucket, Key: `${stamp}.txt`, Body: stamp }));
    const sqs1 = new SQSClient({ ...config, endpoint: e1.sqs });
    const queueUrl = e1.outputs.UpdateManagementStack!.PurchaseOrderQueueUrl!;
    await sqs1.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: stamp }));
    const ses1 = new SESv2Client({ ...config, endpoint: e1.mail });
    await ses1.send(
      new SendEmailCommand({
        FromEmailAddress: 'upman@upman.example',
        Destination: { ToAddresses: ['ando@upman.example'] },
        Content: { Simple: { Subject: { Data: stamp }, Body: { Text: { Data: stamp } } } },
      }),
    );
    const token = await mintToken({
      dataDir,
      issuer: e1.jwtIssuer,
      audience: e1.audience,
      user: 'ando',
      groups: ['employees'],
    });
    for (const c of [ddb1, s31, sqs1, ses1]) c.destroy();
    expect(await stop()).toBe(0);
    // The first start ran the migration (Create) and remembers it: like a .local/ from before the
    // deploy step existed, the next start must run it (unchanged, it would run nothing).
    expect(readFileSync(join(dataDir, 'custom-resources.json'), 'utf8')).toContain('DepartmentMigration');
    rmSync(join(dataDir, 'custom-resources.json'));

    const e2 = await start();
    expect(e2.api).not.toBe(e1.api);
    const ddb2 = new DynamoDBClient({ ...config, endpoint: e2.dynamodb });
    const item = await ddb2.send(
      new GetItemCommand({
        TableName: e2.tables.registry,
        Key: { pk: { S: `TEST#${stamp}` }, sk: { S: 'x' } },
      }),
    );
    expect(item.Item?.pk).toEqual({ S: `TEST#${stamp}` });
    // The start ran the department migration (a custom resource, as a deploy on AWS does).
    expect(lastOutput).toMatch(/deploy step DepartmentMigration\w* \(Custom::DepartmentMigration\)/);
    const store2 = new DynamoRegistryStore(documentClient(ddb2), e2.tables.registry);
    expect((await store2.getClient(`${stamp}-new`))?.department).toBe(`${stamp}-Sales`);
    expect((await store2.getClient(`${stamp}-old`))?.department).toBe(`${stamp}-Sales`);
    const s32 = new S3Client({ ...config, endpoint: e2.s3, forcePathStyle: true });
    const object = await s32.send(new GetObjectCommand({ Bucket: bucket, Key: `${stamp}.txt` }));
    expect(await object.Body!.transformToString()).toBe(stamp);
    const sqs2 = new SQSClient({ ...config, endpoint: e2.sqs });
    const received = await sqs2.send(
      new ReceiveMessageCommand({
        QueueUrl: e2.outputs.UpdateManagementStack!.PurchaseOrderQueueUrl!,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 1,
      }),
    );
    expect(received.Messages?.map((m) => m.Body)).toContain(stamp);
    const mails = (await (await fetch(`${e2.mail}/store`)).json()) as { emails: Array<{ subject: string }> };
    expect(mails.emails.map((m) => m.subject)).toContain(stamp);
    // A token minted before the restart is still accepted: the signing key was kept.
    const me = await fetch(`${e2.api}/me`, { headers: { authorization: `Bearer ${token}` } });
    expect(me.status).toBe(200);
    expect(await me.json()).toMatchObject({ user: 'ando', groups: ['employees'] });
    for (const c of [ddb2, s32, sqs2]) c.destroy();
  });
});
