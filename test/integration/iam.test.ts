// The local STS and IAM with real clients: the aws CLI (v1) and boto3 assume a function's role
// with the developer's key pair and see what that role may and may not do; the JS SDK checks
// the S3 rule that a missing key is 403 to a caller who may not list the bucket.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { DynamoDBClient, GetItemCommand, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { CreateKeyCommand, KMSClient, SignCommand } from '@aws-sdk/client-kms';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import {
  CreateStateMachineCommand,
  DescribeExecutionCommand,
  SendTaskSuccessCommand,
  SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import {
  CreateQueueCommand,
  DeleteMessageCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { DynamoWorkflowStore } from '../../lib/adapters/dynamodb/workflow-store.js';
import { lineIdOf } from '../../lib/workflow/ids.js';
import { WorkflowDriver } from '../../scripts/workflow-driver.js';

const run = promisify(execFile);
const e = inject('endpoints');

interface Session {
  AccessKeyId: string;
  SecretAccessKey: string;
  SessionToken: string;
  Expiration: string;
}

function cliEnv(keys: { accessKeyId: string; secretAccessKey: string; sessionToken?: string }) {
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    AWS_ACCESS_KEY_ID: keys.accessKeyId,
    AWS_SECRET_ACCESS_KEY: keys.secretAccessKey,
    AWS_DEFAULT_REGION: e.region,
    AWS_CONFIG_FILE: '/dev/null',
    AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
  };
  if (keys.sessionToken) env.AWS_SESSION_TOKEN = keys.sessionToken;
  return env;
}

async function aws(args: string[], keys: Parameters<typeof cliEnv>[0]): Promise<unknown> {
  const { stdout } = await run('aws', [...args, '--output', 'json'], { env: cliEnv(keys), timeout: 60_000 });
  return JSON.parse(stdout) as unknown;
}

function roleOf(fragment: string): string {
  const entry = Object.entries(e.roles).find(([name]) => name.includes(fragment));
  if (!entry) throw new Error(`no execution role for a function named like ${fragment}`);
  return entry[1];
}

async function assume(roleArn: string, name = 'it-test'): Promise<Session> {
  const out = (await aws(
    ['sts', 'assume-role', '--endpoint-url', e.sts, '--role-arn', roleArn, '--role-session-name', name],
    e.credentials,
  )) as { Credentials: Session };
  return out.Credentials;
}

const keysOf = (s: Session) => ({
  accessKeyId: s.AccessKeyId,
  secretAccessKey: s.SecretAccessKey,
  sessionToken: s.SessionToken,
});

describe('the local STS', () => {
  it('names the developer key pair as the all-powerful developer', async () => {
    const me = (await aws(['sts', 'get-caller-identity', '--endpoint-url', e.sts], e.credentials)) as {
      Arn: string;
      Account: string;
    };
    expect(me.Arn).toBe(`arn:aws:iam::${me.Account}:user/local-developer-all-powerful`);
    expect(e.credentialsAre).toMatch(/all-powerful/);
  });

  it("assume-role with it gives a function's role session, which GetCallerIdentity names", async () => {
    const role = roleOf('Conclude');
    const session = await assume(role, 'what-may-conclude-do');
    expect(session.AccessKeyId).toMatch(/^ASIA/);
    expect(session.SessionToken.length).toBeGreaterThan(40);
    expect(Date.parse(session.Expiration)).toBeGreaterThan(Date.now());
    const me = (await aws(['sts', 'get-caller-identity', '--endpoint-url', e.sts], keysOf(session))) as {
      Arn: string;
    };
    expect(me.Arn).toBe(
      `arn:aws:sts::000000000000:assumed-role/${role.split('/').pop()}/what-may-conclude-do`,
    );
  });

  it('refuses a session key with a wrong token, and a role the templates do not define', async () => {
    const session = await assume(roleOf('Conclude'));
    await expect(
      aws(['sts', 'get-caller-identity', '--endpoint-url', e.sts], {
        ...keysOf(session),
        sessionToken: 'forged',
      }),
    ).rejects.toThrow(/InvalidClientTokenId|security token included in the request is invalid/);
    await expect(assume('arn:aws:iam::000000000000:role/NoSuchRole')).rejects.toThrow(/AccessDenied/);
  });
});

describe("a function's role, as AWS would enforce it", () => {
  it('boto3: the Conclude role reads the registry but may not list tables nor send to the budget queue', async () => {
    const session = await assume(roleOf('Conclude'));
    const script = `
import json, sys, boto3, botocore
e = json.loads(sys.argv[1]); s = json.loads(sys.argv[2])
kw = dict(region_name=e['region'], aws_access_key_id=s['AccessKeyId'], aws_secret_access_key=s['SecretAccessKey'], aws_session_token=s['SessionToken'])
out = {}
def attempt(name, f):
    try:
        f(); out[name] = 'allowed'
    except botocore.exceptions.ClientError as err:
        out[name] = err.response['Error']['Code']
ddb = boto3.client('dynamodb', endpoint_url=e['dynamodb'], **kw)
attempt('GetItem', lambda: ddb.get_item(TableName=e['tables']['registry'], Key={'pk': {'S': 'nobody'}, 'sk': {'S': 'nothing'}}))
attempt('ListTables', lambda: ddb.list_tables())
sqs = boto3.client('sqs', endpoint_url=e['sqs'], **kw)
attempt('SendMessage', lambda: sqs.send_message(QueueUrl=e['outputs']['UpdateManagementStack']['BudgetQueueUrl'], MessageBody='{}'))
print(json.dumps(out))
`;
    const { stdout } = await run('python3', ['-c', script, JSON.stringify(e), JSON.stringify(session)], {
      env: { PATH: process.env.PATH, HOME: process.env.HOME },
      timeout: 60_000,
    });
    expect(JSON.parse(stdout)).toEqual({
      GetItem: 'allowed',
      ListTables: 'AccessDeniedException',
      SendMessage: 'AccessDenied',
    });
  });

  it('a missing release key is 403 to a role without s3:ListBucket, 404 to the developer', async () => {
    const bucket = e.outputs.VendorSiteStack!.ReleaseBucketName!;
    const Key = 'NoSuchSoftware/9.9/manifest.json';
    const session = await assume(roleOf('FreshKey'));
    const asRole = new S3Client({
      region: e.region,
      endpoint: e.s3,
      forcePathStyle: true,
      credentials: keysOf(session),
    });
    const asDeveloper = new S3Client({
      region: e.region,
      endpoint: e.s3,
      forcePathStyle: true,
      credentials: e.credentials,
    });
    await expect(asRole.send(new GetObjectCommand({ Bucket: bucket, Key }))).rejects.toMatchObject({
      name: 'AccessDenied',
      $metadata: { httpStatusCode: 403 },
    });
    await expect(asDeveloper.send(new GetObjectCommand({ Bucket: bucket, Key }))).rejects.toMatchObject({
      name: 'NoSuchKey',
      $metadata: { httpStatusCode: 404 },
    });
    asRole.destroy();
    asDeveloper.destroy();
  });

  it('the JS SDK sees the same denials, in each service’s shape', async () => {
    // The schedule's role may only invoke its function.
    const session = await assume(roleOf('DownloadsEvidenceSchedule'));
    const credentials = keysOf(session);
    const ddb = new DynamoDBClient({ region: e.region, endpoint: e.dynamodb, credentials });
    const sqs = new SQSClient({ region: e.region, endpoint: e.sqs, credentials });
    await expect(ddb.send(new ListTablesCommand({}))).rejects.toMatchObject({
      name: 'AccessDeniedException',
    });
    await expect(
      ddb.send(new GetItemCommand({ TableName: e.tables.registry, Key: { pk: { S: 'x' }, sk: { S: 'y' } } })),
    ).rejects.toThrow(/is not authorized to perform: dynamodb:GetItem on resource: arn:aws:dynamodb:/);
    await expect(
      sqs.send(
        new SendMessageCommand({
          QueueUrl: e.outputs.UpdateManagementStack!.BudgetQueueUrl!,
          MessageBody: '{}',
        }),
      ),
    ).rejects.toMatchObject({ $metadata: { httpStatusCode: 403 } });
    ddb.destroy();
    sqs.destroy();
  });
});

describe('the release bucket, as its policy and the roles allow', () => {
  const bucket = () => e.outputs.VendorSiteStack!.ReleaseBucketName!;
  const software = `iam-check-${Date.now().toString(36)}`;
  const manifest = `${software}/manifest.json`;
  const artifact = `${software}/1/full.tar.gz`;
  const s3As = (credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string }) =>
    new S3Client({ region: e.region, endpoint: e.s3, forcePathStyle: true, credentials });

  it('a manifest reader (announcements) reads manifests but no artifact; a key issuer reads both', async () => {
    const vendor = s3As(e.credentials);
    await vendor.send(new PutObjectCommand({ Bucket: bucket(), Key: manifest, Body: '{}' }));
    await vendor.send(new PutObjectCommand({ Bucket: bucket(), Key: artifact, Body: 'bytes' }));
    const announcements = s3As(keysOf(await assume(roleOf('RegistryApiAnnouncements'))));
    const issuer = s3As(keysOf(await assume(roleOf('FreshKey'))));
    await expect(
      announcements.send(new GetObjectCommand({ Bucket: bucket(), Key: manifest })),
    ).resolves.toBeDefined();
    await expect(
      announcements.send(new GetObjectCommand({ Bucket: bucket(), Key: artifact })),
    ).rejects.toMatchObject({
      name: 'AccessDenied',
    });
    await expect(
      issuer.send(new GetObjectCommand({ Bucket: bucket(), Key: artifact })),
    ).resolves.toBeDefined();
    for (const c of [vendor, announcements, issuer]) c.destroy();
  });

  it('roles list manifest keys only: a release not yet published is an empty listing, not a 403', async () => {
    const issuer = s3As(keysOf(await assume(roleOf('Conclude'))));
    const listed = await issuer.send(
      new ListObjectsV2Command({ Bucket: bucket(), Prefix: 'not-published-yet/manifest.json', MaxKeys: 1 }),
    );
    expect(listed.Contents ?? []).toEqual([]);
    await expect(
      issuer.send(new ListObjectsV2Command({ Bucket: bucket(), Prefix: software })),
    ).rejects.toMatchObject({
      name: 'AccessDenied',
    });
    issuer.destroy();
  });

  it('no function may write into the vendor bucket, whatever the key', async () => {
    for (const fn of ['Conclude', 'FreshKey', 'RegistryApiAnnouncements']) {
      const s3 = s3As(keysOf(await assume(roleOf(fn))));
      await expect(
        s3.send(new PutObjectCommand({ Bucket: bucket(), Key: `${software}/9/full.tar.gz`, Body: 'x' })),
      ).rejects.toMatchObject({ name: 'AccessDenied', $metadata: { httpStatusCode: 403 } });
      s3.destroy();
    }
  });
});

describe("SendTask*, authorised against the token's state machine", () => {
  // AWS checks states:SendTaskSuccess against the state machine whose execution issued the
  // token; the budget route's role is granted it on the update-request machine only.
  const run = Date.now().toString(36).slice(-6);
  const d = new WorkflowDriver(e, inject('dataDir'));
  const developer = { region: e.region, credentials: e.credentials };
  const sfn = new SFNClient({ ...developer, endpoint: e.sfn });
  const sqs = new SQSClient({ ...developer, endpoint: e.sqs });
  afterAll(() => {
    d.destroy();
    sfn.destroy();
    sqs.destroy();
  });

  /** A token of a scratch machine the developer creates (a callback over SQS). */
  async function otherMachineToken(): Promise<{ token: string; executionArn: string; machine: string }> {
    const queueUrl = (await sqs.send(new CreateQueueCommand({ QueueName: `upman-iam-token-${run}` })))
      .QueueUrl!;
    const definition = {
      StartAt: 'Ask',
      States: {
        Ask: {
          Type: 'Task',
          Resource: 'arn:aws:states:::sqs:sendMessage.waitForTaskToken',
          Parameters: { QueueUrl: queueUrl, MessageBody: { 'taskToken.$': '$$.Task.Token' } },
          End: true,
        },
      },
    };
    const { stateMachineArn } = await sfn.send(
      new CreateStateMachineCommand({
        name: `iam-other-${run}`,
        definition: JSON.stringify(definition),
        roleArn: 'arn:aws:iam::000000000000:role/upman-test-sfn',
      }),
    );
    const { executionArn } = await sfn.send(
      new StartExecutionCommand({ stateMachineArn: stateMachineArn!, name: `x-${run}` }),
    );
    for (let i = 0; i < 90; i++) {
      const out = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, WaitTimeSeconds: 1 }));
      const m = out.Messages?.[0];
      if (m) {
        await sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: m.ReceiptHandle! }));
        return {
          token: (JSON.parse(m.Body!) as { taskToken: string }).taskToken,
          executionArn: executionArn!,
          machine: stateMachineArn!,
        };
      }
    }
    throw new Error('the scratch machine sent no token');
  }

  /** The token S502 stored against a fresh request's budget line (the update-request machine's). */
  async function updateRequestToken(): Promise<string> {
    const user = `tok-${run}`;
    const software = `tok-sw-${run}`;
    await d.setUp({
      software,
      clientId: `pc-tok-${run}`,
      department: 'Sales',
      users: [user],
      approvers: [[user, `tok-boss-${run}`]],
      price: 10,
    });
    const sent = await d.submit(
      user,
      { clientId: `pc-tok-${run}`, software, reason: 'token check' },
      `tok-${run}`,
    );
    expect(sent.status).toBe(202);
    const { requestId } = sent.body as { requestId: string };
    await d.untilStep(user, requestId, 'S502');
    const store = new DynamoWorkflowStore(
      DynamoDBDocumentClient.from(new DynamoDBClient({ ...developer, endpoint: e.dynamodb })),
      e.tables.registry,
    );
    const line = await store.getLine(lineIdOf(requestId));
    if (!line?.taskToken) throw new Error(`no task token on the budget line of ${requestId}`);
    return line.taskToken;
  }

  it("the budget route's role answers its own machine's token, and is refused another machine's", async () => {
    const [other, own] = await Promise.all([otherMachineToken(), updateRequestToken()]);
    const asBudget = new SFNClient({
      region: e.region,
      endpoint: e.sfn,
      credentials: keysOf(await assume(roleOf('WorkflowApiBudget'))),
    });
    await expect(
      asBudget.send(new SendTaskSuccessCommand({ taskToken: other.token, output: '{}' })),
    ).rejects.toMatchObject({
      name: 'AccessDeniedException',
      message: expect.stringContaining(
        `is not authorized to perform: states:SendTaskSuccess on resource: ${other.machine}`,
      ),
    });
    // Refused before it reached the execution: it still waits for an answer.
    expect((await sfn.send(new DescribeExecutionCommand({ executionArn: other.executionArn }))).status).toBe(
      'RUNNING',
    );
    await expect(
      asBudget.send(
        new SendTaskSuccessCommand({
          taskToken: own,
          output: JSON.stringify({
            available: false,
            note: 'token check',
            answeredAt: new Date().toISOString(),
          }),
        }),
      ),
    ).resolves.toBeDefined();
    await sfn.send(new SendTaskSuccessCommand({ taskToken: other.token, output: '{}' }));
    asBudget.destroy();
  });
});

describe('the local KMS, behind the IAM gateway', () => {
  const kmsAs = (credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string }) =>
    new KMSClient({ region: e.region, endpoint: e.kms, credentials });
  const sign = (kms: KMSClient, keyId: string) =>
    kms.send(
      new SignCommand({
        KeyId: keyId,
        Message: Buffer.from('root.json'),
        MessageType: 'RAW',
        SigningAlgorithm: 'ECDSA_SHA_256',
      }),
    );
  const newKey = async (developer: KMSClient, policy?: unknown) =>
    (
      await developer.send(
        new CreateKeyCommand({
          KeySpec: 'ECC_NIST_P256',
          KeyUsage: 'SIGN_VERIFY',
          ...(policy ? { Policy: JSON.stringify(policy) } : {}),
        }),
      )
    ).KeyMetadata!.Arn!;

  it('signs for a role its key policy names; a role without kms:Sign on that key is refused AccessDeniedException', async () => {
    const developer = kmsAs(e.credentials);
    const signerRole = roleOf('Conclude');
    const account = signerRole.split(':')[4]!;
    const named = await newKey(developer, {
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Principal: { AWS: `arn:aws:iam::${account}:root` },
          Action: 'kms:*',
          Resource: '*',
        },
        { Effect: 'Allow', Principal: { AWS: signerRole }, Action: 'kms:Sign', Resource: '*' },
      ],
    });
    // KMS's default policy: only what IAM policies grant, and no role here has kms:Sign.
    const defaultPolicy = await newKey(developer);
    const asSigner = kmsAs(keysOf(await assume(signerRole)));
    const asOther = kmsAs(keysOf(await assume(roleOf('RegistryApiAnnouncements'))));

    expect((await sign(asSigner, named)).Signature?.length).toBeGreaterThan(0);
    for (const [client, key] of [
      [asOther, named],
      [asSigner, defaultPolicy],
    ] as const) {
      await expect(sign(client, key)).rejects.toMatchObject({
        name: 'AccessDeniedException',
        $metadata: { httpStatusCode: 400 },
        message: expect.stringContaining(`is not authorized to perform: kms:Sign on resource: ${key}`),
      });
    }
    // The developer's key pair is the account administrator's, as before.
    expect((await sign(developer, defaultPolicy)).Signature?.length).toBeGreaterThan(0);
    for (const c of [developer, asSigner, asOther]) c.destroy();
  });
});
