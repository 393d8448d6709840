import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { SESv2Client, SendEmailCommand } from '@aws-sdk/client-sesv2';
import { SendTaskSuccessCommand, SFNClient } from '@aws-sdk/client-sfn';
import {
  BatchGetCommand,
  DynamoDBDocumentClient,
  GetCommand,
  QueryCommand,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { sha256 } from '../../lib/workflow/ids.js';
import {
  apiEvent,
  bodyOf,
  lambdaContext,
  mockDirectory,
  personItem,
  setEnv,
  storedRequest,
} from './workflow-helpers.js';

setEnv();
const ddb = mockClient(DynamoDBDocumentClient);
const sfn = mockClient(SFNClient);
const ses = mockClient(SESv2Client);

type Handler = (event: unknown, context: unknown) => Promise<any>;
let task: Handler;
let page: Handler;

beforeAll(async () => {
  task = (await import('../../functions/workflow/approval.js')).handler as unknown as Handler;
  page = (await import('../../functions/http/approvals/page.js')).handler as unknown as Handler;
});

beforeEach(() => {
  ddb.reset();
  sfn.reset();
  ses.reset();
});

const requestId = 'r-AAAAAAAAAAAAAAAAAAAAAAAA';
const state = {
  requestId,
  requester: 'ando',
  clientId: 'pc-ando',
  department: 'Sales',
  software: 'editor',
  targetVersion: '2.0',
  quantity: 1,
  unitPrice: 120,
  createdAt: '2025-01-06T09:00:00.000Z',
  budget: {
    lineId: 'l-x',
    batchId: 'b-x',
    available: false,
    note: 'over the Q1 budget',
    answeredAt: 't',
    quantity: 1,
    unitPrice: 120,
    total: 120,
  },
  approver: { found: true, approver: 'okachi', delegate: null as string | null, reason: '' },
};

function mailsSent() {
  return ses.commandCalls(SendEmailCommand).map((c) => {
    const i = c.args[0].input;
    return {
      to: i.Destination?.ToAddresses,
      subject: i.Content?.Simple?.Subject?.Data ?? '',
      html: i.Content?.Simple?.Body?.Html?.Data ?? '',
      text: i.Content?.Simple?.Body?.Text?.Data ?? '',
    };
  });
}

describe('the S505 task: approval links', () => {
  beforeEach(() => {
    ddb.on(TransactWriteCommand).resolves({});
    ddb.on(UpdateCommand).resolves({ Attributes: { requestId } });
    ddb.on(GetCommand).resolves({ Item: storedRequest() });
    ses.on(SendEmailCommand).resolves({ MessageId: 'mail-1' });
    mockDirectory(ddb);
  });

  it("mails the approver a link with finance's answer; the token stays in DynamoDB, only k's hash is stored", async () => {
    const out = await task({ taskToken: 'TASK-TOKEN-XYZ', phase: 'initial', state }, lambdaContext);
    expect(out.deciders).toEqual(['okachi']);
    const [mail] = mailsSent();
    expect(mail!.to).toEqual(['okachi@corp.example']);
    const link = /https:\/\/api\.example\.test\/approvals\/(a-[A-Za-z0-9_-]{40})\?k=([A-Za-z0-9_-]+)/.exec(
      mail!.text,
    );
    expect(link).not.toBeNull();
    // The link's id names its request (so the page reads link, wait and request at once).
    expect(link![1]!.slice(2, 26)).toBe(requestId.slice(2));
    expect(mail!.html).toContain(link![0]);
    expect(mail!.text).toContain('NO budget available — over the Q1 budget');
    expect(mail!.html).toContain('over the Q1 budget');
    expect(mail!.html + mail!.text).not.toContain('TASK-TOKEN-XYZ');

    const put = ddb.commandCalls(TransactWriteCommand)[0]!.args[0].input.TransactItems![0]!.Put!;
    expect(put.Item).toMatchObject({
      pk: `APPROVAL#${link![1]}`,
      issuedTo: 'okachi',
      kHash: sha256(link![2]!),
    });
    expect(JSON.stringify(put.Item)).not.toContain(link![2]);
    const hours = (Date.parse(put.Item!.linkExpiresAt) - Date.now()) / 3_600_000;
    expect(hours).toBeGreaterThan(95.9); // reminder + escalation: 2 + 2 days
    expect(hours).toBeLessThan(96.1);
    // The wait and the request's S505 are in the links' transaction (one write for the phase).
    const items = ddb.commandCalls(TransactWriteCommand)[0]!.args[0].input.TransactItems!;
    const wait = items.find((i) => i.Update?.Key?.sk === 'APPROVAL')!.Update!;
    expect(wait.ConditionExpression).toBe('attribute_not_exists(decision)');
    expect(
      items.find((i) => i.Update?.Key?.sk === 'REQUEST')!.Update!.ExpressionAttributeNames,
    ).toMatchObject({
      '#key': 'S505',
    });
    expect(wait.ExpressionAttributeValues).toMatchObject({
      ':t': 'TASK-TOKEN-XYZ',
      ':p': 'initial',
      ':d': ['okachi'],
    });
  });

  it('gives the approver and the delegate in force each their own link', async () => {
    await task(
      {
        taskToken: 't',
        phase: 'initial',
        state: { ...state, approver: { ...state.approver, delegate: 'itou' } },
      },
      lambdaContext,
    );
    const mails = mailsSent();
    expect(mails.map((m) => m.to![0])).toEqual(['okachi@corp.example', 'itou@corp.example']);
    expect(mails[1]!.text).toContain('delegate of Okachi Masao');
    const links = mails.map((m) => /approvals\/(a-[^?]+)/.exec(m.text)![1]);
    expect(new Set(links).size).toBe(2);
  });

  it("escalates to the approver's own approver", async () => {
    ddb.on(QueryCommand).resolves({
      Items: [
        {
          periodId: 'p1',
          kind: 'approver',
          user: 'okachi',
          approver: 'kojima',
          validFrom: '2024-01-01T00:00:00.000Z',
          filedAt: 't',
          filedBy: 'root',
        },
      ],
    });
    const out = await task({ taskToken: 't', phase: 'escalation', state }, lambdaContext);
    expect(out.deciders).toEqual(['kojima']);
    const [mail] = mailsSent();
    expect(mail!.to).toEqual(['kojima@corp.example']);
    expect(mail!.subject).toMatch(/^Escalated:/);
    expect(mail!.text).toContain('Okachi Masao did not decide in time');
  });

  it('fails with AlreadyDecided (caught by the machine) when a decision came between phases', async () => {
    // The wait's condition (no decision yet) fails: nothing of the phase is written.
    ddb.on(TransactWriteCommand).rejects(
      new TransactionCanceledException({
        message: 'canceled',
        $metadata: {},
        CancellationReasons: [{ Code: 'None' }, { Code: 'ConditionalCheckFailed' }, { Code: 'None' }],
      }),
    );
    ddb.on(GetCommand, { Key: { pk: `REQ#${requestId}`, sk: 'APPROVAL' } }).resolves({
      Item: {
        requestId,
        decision: { decision: 'approve', decidedBy: 'okachi', decidedAt: 't', comment: '' },
      },
    });
    await expect(task({ taskToken: 't', phase: 'reminder', state }, lambdaContext)).rejects.toMatchObject({
      name: 'AlreadyDecided',
    });
    expect(ses.commandCalls(SendEmailCommand)).toHaveLength(0);
  });
});

describe('the approval page: GET/HEAD show, POST decides once', () => {
  const approvalId = 'a-AAAAAAAAAAAAAAAA';
  const k = 'the-secret-of-this-link-0123456789abcdef';
  const future = new Date(Date.now() + 3_600_000).toISOString();
  const linkItem = (extra: Record<string, unknown> = {}) => ({
    approvalId,
    requestId,
    issuedTo: 'okachi',
    phase: 'initial',
    kHash: sha256(k),
    linkExpiresAt: future,
    createdAt: 't',
    ...extra,
  });
  const waitItem = (extra: Record<string, unknown> = {}) => ({
    requestId,
    taskToken: 'TASK-TOKEN-XYZ',
    phase: 'initial',
    deciders: ['okachi'],
    ...extra,
  });

  function stored(
    link = linkItem(),
    wait: Record<string, unknown> | undefined = waitItem(),
    request = storedRequest(),
  ) {
    // Nothing else is stored (no wrong secrets counted yet).
    ddb.on(GetCommand).resolves({});
    ddb.on(GetCommand, { Key: { pk: `APPROVAL#${approvalId}`, sk: 'LINK' } }).resolves({ Item: link });
    ddb
      .on(UpdateCommand)
      .callsFake((input: { Key: { sk: string } }) =>
        input.Key.sk.startsWith('MISS#') ? { Attributes: { count: misses() } } : {},
      );
    ddb.on(GetCommand, { Key: { pk: `REQ#${requestId}`, sk: 'APPROVAL' } }).resolves({ Item: wait });
    ddb.on(GetCommand, { Key: { pk: `REQ#${requestId}`, sk: 'REQUEST' } }).resolves({ Item: request });
    // The page reads the wait and the request in one BatchGetItem; the directory, the names.
    ddb
      .on(BatchGetCommand)
      .callsFake((input: { RequestItems: Record<string, { Keys: Array<{ pk: string; sk: string }> }> }) => ({
        Responses: {
          registry: input.RequestItems.registry!.Keys.map((key) =>
            key.sk === 'PERSON'
              ? personItem(key.pk.replace(/^PERSON#/, ''))
              : key.sk === 'LINK'
                ? key.pk === `APPROVAL#${link.approvalId}`
                  ? { ...link, pk: key.pk, sk: 'LINK' }
                  : undefined
                : key.sk === 'REQUEST'
                  ? { ...request, sk: 'REQUEST' }
                  : key.sk === 'APPROVAL' && wait
                    ? { ...wait, pk: key.pk, sk: 'APPROVAL' }
                    : undefined,
          ).filter((item) => item !== undefined),
        },
      }));
  }

  const open = (method: 'GET' | 'HEAD', key: string | undefined = k, id = approvalId) =>
    page(
      apiEvent(`${method} /approvals/{id}`, {
        noAuth: true,
        path: { id },
        ...(key ? { query: { k: key } } : {}),
      }),
      lambdaContext,
    ).then(bodyOf);

  /** The decision route (behind the JWT authorizer): the signed-in caller, the page's secret. */
  const post = (body: Record<string, unknown>, user = 'okachi', id = approvalId) =>
    page(apiEvent('POST /approvals/{id}/decision', { user, path: { id }, body }), lambdaContext).then(bodyOf);

  /** Wrong secrets counted (per link and source): not a change of the request. */
  const misses = () =>
    ddb.commandCalls(UpdateCommand).filter((c) => String(c.args[0].input.Key?.sk).startsWith('MISS#')).length;
  const writes = () =>
    ddb.commandCalls(UpdateCommand).length -
    misses() +
    ddb.commandCalls(TransactWriteCommand).length +
    sfn.commandCalls(SendTaskSuccessCommand).length;

  it('reads the link, its wait and its request in one call when the link names its request', async () => {
    const named = `a-${requestId.slice(2)}BBBBBBBBBBBBBBBB`;
    stored(linkItem({ approvalId: named }));
    const res = await open('GET', k, named);
    expect(res.status).toBe(200);
    expect(res.body).toContain('data-issued-to="okachi"');
    const [first] = ddb
      .commandCalls(BatchGetCommand)
      .map((c) => c.args[0].input.RequestItems!.registry!.Keys);
    expect(first).toEqual([
      { pk: `APPROVAL#${named}`, sk: 'LINK' },
      { pk: `REQ#${requestId}`, sk: 'APPROVAL' },
      { pk: `REQ#${requestId}`, sk: 'APPROVAL#2' },
      { pk: `REQ#${requestId}`, sk: 'REQUEST' },
      // The wrong secrets from this source, in the same call.
      { pk: `APPROVAL#${named}`, sk: expect.stringMatching(/^MISS#/) },
    ]);
    expect(ddb.commandCalls(GetCommand)).toHaveLength(0);
    // A wrong secret is refused all the same.
    expect((await open('GET', `${k}x`, named)).status).toBe(403);
  });

  it("GET shows the request, finance's answer, whom the link is for and the sign-in, and changes nothing", async () => {
    stored();
    const res = await open('GET');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toContain('text/html');
    expect(res.headers['referrer-policy']).toBe('no-referrer');
    const csp = String(res.headers['content-security-policy']);
    expect(csp).toContain("default-src 'none'");
    expect(csp).toMatch(/script-src 'sha256-[A-Za-z0-9+/=]{44}'/);
    expect(csp).toContain("connect-src 'self' https://login.example.test");
    expect(csp).toContain("form-action 'none'");
    expect(res.body).toContain(`name="k" value="${k}"`);
    expect(res.body).toContain('This link is for Okachi Masao');
    expect(res.body).toContain('data-issued-to="okachi"');
    // Where the script signs in: the stage's issuer, this API's one redirect URI.
    expect(res.body).toContain('&quot;redirectUri&quot;:&quot;https://api.example.test/signed-in&quot;');
    expect(res.body).toContain('data-decision="approve"');
    expect(res.body).toContain('data-decision="reject"');
    expect(res.body).not.toContain('method="post"');
    expect(res.body).toContain('budget available — ok');
    // People by their display names from the directory.
    expect(res.body).toContain('Ando Taro');
    expect(writes()).toBe(0);
  });

  it('a revisit hands a recorded decision that never reached its execution over, then says it is decided', async () => {
    const decision = { decision: 'approve', decidedBy: 'okachi', decidedAt: 't', comment: '', approvalId };
    stored(linkItem({ usedAt: 't' }), waitItem({ decision }));
    sfn.on(SendTaskSuccessCommand).resolves({});
    const res = await open('GET');
    expect(res.status).toBe(409);
    const sent = sfn.commandCalls(SendTaskSuccessCommand);
    expect(sent).toHaveLength(1);
    expect(sent[0]!.args[0].input).toEqual({ taskToken: 'TASK-TOKEN-XYZ', output: JSON.stringify(decision) });
    const marked = ddb.commandCalls(UpdateCommand)[0]!.args[0].input;
    expect(marked.UpdateExpression).toBe('SET resumedAt = :at REMOVE gsi2pk, gsi2sk');
    expect(marked.Key).toEqual({ pk: `REQ#${requestId}`, sk: 'APPROVAL' });
  });

  it('HEAD answers the headers only and changes nothing', async () => {
    stored();
    const res = await open('HEAD');
    expect(res.status).toBe(200);
    expect(res.body).toBe('');
    expect(writes()).toBe(0);
  });

  it('refuses a tampered, unknown, expired, used or foreign link with a page and a 4xx', async () => {
    stored();
    expect((await open('GET', 'not-the-secret')).status).toBe(403);
    // Counted against the link and the source (a hash of the address, never the address).
    expect(misses()).toBe(1);
    const missKey = ddb.commandCalls(UpdateCommand)[0]!.args[0].input.Key!;
    expect(missKey.pk).toBe(`APPROVAL#${approvalId}`);
    expect(String(missKey.sk)).toMatch(/^MISS#[A-Za-z0-9_-]{32}$/);
    expect(String(missKey.sk)).not.toContain('127.0.0.1');
    expect((await open('GET', '')).status).toBe(403);
    expect((await open('GET', k, 'a-../../etc/passwd')).status).toBe(403);
    ddb.on(GetCommand, { Key: { pk: 'APPROVAL#a-BBBBBBBBBBBBBBBB', sk: 'LINK' } }).resolves({});
    expect((await open('GET', k, 'a-BBBBBBBBBBBBBBBB')).status).toBe(404);

    stored(linkItem({ linkExpiresAt: '2020-01-01T00:00:00.000Z' }));
    const expired = await open('GET');
    expect(expired.status).toBe(410);
    expect(expired.body).toContain('expired');

    stored(
      linkItem({ usedAt: 't' }),
      waitItem({ decision: { decision: 'approve', decidedBy: 'okachi', decidedAt: 't' }, resumedAt: 't' }),
    );
    expect((await open('GET')).status).toBe(409);

    stored(linkItem(), waitItem({ deciders: ['kojima'], phase: 'escalation' }));
    const foreign = await open('GET');
    expect(foreign.status).toBe(403);
    expect(foreign.body).toContain('issued to okachi');

    stored(linkItem(), waitItem(), storedRequest({ status: 'EXPIRED' }));
    expect((await open('GET')).status).toBe(410);
    expect(writes()).toBe(0);
  });

  it('the signed-in approver with the secret records the one decision in a conditional transaction and resumes the execution', async () => {
    stored();
    ddb.on(TransactWriteCommand).resolves({});
    sfn.on(SendTaskSuccessCommand).resolves({});
    const res = await post({ decision: 'reject', comment: 'Wait for <2.1>', k });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ decision: 'reject', decidedBy: 'okachi', resumed: true });
    expect(res.body.message).toContain('Recorded: you rejected editor 2.0 for Ando Taro');
    const items = ddb.commandCalls(TransactWriteCommand)[0]!.args[0].input.TransactItems!;
    expect(items.map((i) => i.Update!.ConditionExpression)).toEqual([
      'attribute_not_exists(usedAt) AND kHash = :h',
      'attribute_not_exists(decision) AND contains(deciders, :u)',
      '#status = :awaiting',
    ]);
    const resume = sfn.commandCalls(SendTaskSuccessCommand)[0]!.args[0].input;
    expect(resume.taskToken).toBe('TASK-TOKEN-XYZ');
    expect(JSON.parse(resume.output!)).toMatchObject({
      decision: 'reject',
      comment: 'Wait for <2.1>',
      decidedBy: 'okachi',
      approvalId,
    });
  });

  it('answers a replayed or double decision 409 and resumes nothing', async () => {
    stored();
    ddb.on(TransactWriteCommand).rejects(
      new TransactionCanceledException({
        message: 'cancelled',
        $metadata: {},
        CancellationReasons: [{ Code: 'ConditionalCheckFailed' }, { Code: 'None' }, { Code: 'None' }],
      }),
    );
    const res = await post({ decision: 'approve', k });
    expect(res.status).toBe(409);
    expect(sfn.commandCalls(SendTaskSuccessCommand)).toHaveLength(0);
  });

  it('refuses someone else signed in with the link (forwarded), the requester, a wrong secret and a missing decision', async () => {
    stored();
    const forwarded = await post({ decision: 'approve', k }, 'kojima');
    expect(forwarded.status).toBe(403);
    expect(forwarded.body.message).toContain('This link is for okachi; you are signed in as kojima');
    stored(linkItem(), waitItem({ deciders: ['okachi', 'ando'] }));
    expect((await post({ decision: 'approve', k }, 'ando')).status).toBe(403);
    stored();
    expect((await post({ decision: 'approve', k: 'not-the-secret' })).status).toBe(403);
    const missing = await post({ k });
    expect(missing.status).toBe(400);
    expect(missing.body).toMatchObject({ field: 'decision' });
    expect((await post({ decision: 'approve' })).body).toMatchObject({ field: 'k' });
    expect(writes()).toBe(0);
  });

  it('the delegate in force decides with their own link', async () => {
    stored(linkItem({ issuedTo: 'kojima' }), waitItem({ deciders: ['okachi', 'kojima'] }));
    ddb.on(TransactWriteCommand).resolves({});
    sfn.on(SendTaskSuccessCommand).resolves({});
    const res = await post({ decision: 'approve', k }, 'kojima');
    expect(res.status).toBe(200);
    expect(res.body.decidedBy).toBe('kojima');
  });
});
