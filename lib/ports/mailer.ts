// Outgoing mail, as the use cases see it. Every mail has an HTML and a plain-text body.
export interface Mail {
  to: string[];
  subject: string;
  html: string;
  text: string;
  /** Idempotency / tracing tag, sent as a message tag (never shown to the reader). */
  tag?: string;
}

export interface Mailer {
  send(mail: Mail): Promise<{ messageId: string }>;
}
