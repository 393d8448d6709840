// Mailer over SES v2. The client is created once per container; the endpoint comes from the
// SDK's own AWS_ENDPOINT_URL_SESV2 in the local cloud.
import { SESv2Client, SendEmailCommand } from '@aws-sdk/client-sesv2';
import type { Mail, Mailer } from '../ports/mailer.js';

export class SesMailer implements Mailer {
  constructor(
    private readonly client: SESv2Client,
    private readonly sender: string,
    private readonly configurationSet?: string,
    private readonly replyTo: string[] = [],
  ) {}

  async send(mail: Mail): Promise<{ messageId: string }> {
    const out = await this.client.send(
      new SendEmailCommand({
        FromEmailAddress: this.sender,
        Destination: { ToAddresses: mail.to },
        ...(this.replyTo.length > 0 ? { ReplyToAddresses: this.replyTo } : {}),
        ...(this.configurationSet ? { ConfigurationSetName: this.configurationSet } : {}),
        ...(mail.tag
          ? { EmailTags: [{ Name: 'upman', Value: mail.tag.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 256) }] }
          : {}),
        Content: {
          Simple: {
            Subject: { Data: mail.subject, Charset: 'UTF-8' },
            Body: {
              Html: { Data: mail.html, Charset: 'UTF-8' },
              Text: { Data: mail.text, Charset: 'UTF-8' },
            },
          },
        },
      }),
    );
    return { messageId: out.MessageId ?? '' };
  }
}

/** The mailer the stack configured for this function (AppFunction.bindMail): sender, configuration set, reply-to. */
export function mailerFromEnv(env: Record<string, string | undefined> = process.env): SesMailer {
  const sender = env.MAIL_SENDER;
  if (!sender) throw new Error('Environment variable MAIL_SENDER is not set');
  const replyTo = (env.MAIL_REPLY_TO ?? '').split(',').filter(Boolean);
  return new SesMailer(sesClient(), sender, env.MAIL_CONFIGURATION_SET || undefined, replyTo);
}

let shared: SESv2Client | undefined;
/** One SES client per container. */
export function sesClient(): SESv2Client {
  shared ??= new SESv2Client({});
  return shared;
}
