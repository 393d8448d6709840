import { SESv2Client, SendEmailCommand } from '@aws-sdk/client-sesv2';
import { afterAll, describe, expect, inject, it } from 'vitest';
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
