import { join } from 'node:path';
import {
  CreateEmailIdentityCommand,
  GetAccountCommand,
  SESv2Client,
  SendEmailCommand,
  type SendEmailCommandInput,
} from '@aws-sdk/client-sesv2';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { templateSesRules } from '../../cdk/local/cloud.js';
import { loadAssembly } from '../../cdk/local/template.js';
import { SesMailer } from '../../lib/adapters/ses-mailer.js';

const e = inject('endpoints');
const client = new SESv2Client({ endpoint: e.mail, region: e.region, credentials: e.credentials });

afterAll(() => client.destroy());

interface StoredMail {
  messageId: string;
  from: string;
  destination: { to: string[] };
  subject: string;
  body: { html?: string; text?: string };
}

async function mailbox(): Promise<StoredMail[]> {
  const res = await fetch(`${e.mail}/store`);
  expect(res.status).toBe(200);
  return ((await res.json()) as { emails: StoredMail[] }).emails;
}

describe('SES (aws-ses-v2-local) in the local cloud', () => {
  it('keeps a mail sent through the SES v2 API, readable from the viewer store', async () => {
    const subject = `test ${Date.now()}`;
    const out = await client.send(
      new SendEmailCommand({
        FromEmailAddress: 'upman@upman.example',
        Destination: { ToAddresses: ['ando@upman.example'] },
        Content: {
          Simple: {
            Subject: { Data: subject },
            Body: { Text: { Data: 'plain body' }, Html: { Data: '<p>html body</p>' } },
          },
        },
      }),
    );
    expect(out.MessageId).toBeTruthy();
    const mail = (await mailbox()).find((m) => m.subject === subject);
    expect(mail).toMatchObject({
      messageId: out.MessageId,
      from: 'upman@upman.example',
      destination: { to: ['ando@upman.example'] },
      body: { text: 'plain body', html: '<p>html body</p>' },
    });
  });

  it('delivers what the SesMailer adapter sends, HTML and text', async () => {
    const mailer = new SesMailer(client, 'upman@upman.example');
    const subject = `adapter ${Date.now()}`;
    const { messageId } = await mailer.send({
      to: ['suzuki@upman.example'],
      subject,
      html: '<b>hi</b>',
      text: 'hi',
      tag: 'req#1',
    });
    const mail = (await mailbox()).find((m) => m.messageId === messageId);
    expect(mail?.subject).toBe(subject);
    expect(mail?.body).toEqual({ html: '<b>hi</b>', text: 'hi' });
  });

  it('serves the mailbox viewer page', async () => {
    const res = await fetch(e.mail);
    expect(res.status).toBe(200);
    expect(await res.text()).toMatch(/<html/i);
  });
});

// The rules AWS applies that aws-ses-v2-local alone does not: each case here is accepted by the
// bare emulator and refused by SES (and the local cloud).
describe('SES refuses what AWS refuses', () => {
  const rules = templateSesRules(loadAssembly(join(process.cwd(), 'cdk.out')));
  const send = (input: Partial<SendEmailCommandInput>) =>
    client.send(
      new SendEmailCommand({
        FromEmailAddress: 'upman@upman.example',
        Destination: { ToAddresses: ['ando@upman.example'] },
        Content: { Simple: { Subject: { Data: 'strict' }, Body: { Text: { Data: 'x' } } } },
        ...input,
      }),
    );
  const refusal = async (run: Promise<unknown>) => {
    try {
      await run;
    } catch (error) {
      return { name: (error as Error).name, message: (error as Error).message };
    }
    throw new Error('SES accepted it');
  };

  it('takes the verified identities and configuration sets from the templates, sandbox on', async () => {
    expect(rules.identities).toContain('upman.example');
    expect(rules.configurationSets.length).toBeGreaterThan(0);
    expect(rules.sandbox).toBe(true);
    const account = await client.send(new GetAccountCommand({}));
    expect(account.ProductionAccessEnabled).toBe(false);
  });

  it('refuses a sender that is not a verified identity', async () => {
    const r = await refusal(send({ FromEmailAddress: 'upman@elsewhere.example' }));
    expect(r.name).toBe('MessageRejected');
    expect(r.message).toContain('upman@elsewhere.example');
  });

  it('in the sandbox, refuses unverified recipients until the address is verified', async () => {
    const address = `sandbox-${Date.now()}@corp.example`;
    const r = await refusal(
      send({ Destination: { ToAddresses: ['ando@upman.example'], CcAddresses: [address] } }),
    );
    expect(r).toMatchObject({ name: 'MessageRejected', message: expect.stringContaining(address) });
    await client.send(new CreateEmailIdentityCommand({ EmailIdentity: address }));
    expect((await send({ Destination: { ToAddresses: [address] } })).MessageId).toBeTruthy();
    const again = await refusal(client.send(new CreateEmailIdentityCommand({ EmailIdentity: address })));
    expect(again.name).toBe('AlreadyExistsException');
  });

  it('refuses more than 50 recipients', async () => {
    const to = (n: number) => Array.from({ length: n }, (_, i) => `r${i}@upman.example`);
    expect((await send({ Destination: { ToAddresses: to(50) } })).MessageId).toBeTruthy();
    const r = await refusal(send({ Destination: { ToAddresses: to(40), BccAddresses: to(11) } }));
    expect(r).toEqual({ name: 'MessageRejected', message: 'Recipient count exceeds 50.' });
  });

  it('refuses a configuration set the templates do not define, and takes theirs', async () => {
    const r = await refusal(send({ ConfigurationSetName: 'no-such-set' }));
    expect(r.name).toBe('NotFoundException');
    expect((await send({ ConfigurationSetName: rules.configurationSets[0]! })).MessageId).toBeTruthy();
  });
});
