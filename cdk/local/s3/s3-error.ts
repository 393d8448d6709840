// S3-style errors: the proxy answers with the same Code/Message/status real S3 uses, so SDK
// clients raise the same exception names locally as they would against AWS.
import { randomBytes } from 'node:crypto';

export class S3Error extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly statusCode: number,
    readonly detail: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'S3Error';
  }

  toXml(requestId: string, hostId: string): string {
    const fields: Record<string, string> = {
      Code: this.code,
      Message: this.message,
      ...this.detail,
      RequestId: requestId,
      HostId: hostId,
    };
    const body = Object.entries(fields)
      .map(([name, value]) => `<${name}>${escapeXml(value)}</${name}>`)
      .join('');
    return `<?xml version="1.0" encoding="UTF-8"?>\n<Error>${body}</Error>`;
  }
}

export const accessDenied = (message = 'Access Denied', detail?: Record<string, string>) =>
  new S3Error('AccessDenied', message, 403, detail);

export const newRequestId = (): string => randomBytes(8).toString('hex').toUpperCase();
export const newHostId = (): string => randomBytes(56).toString('base64');

export function escapeXml(value: string): string {
  return value.replace(/[<>&'"]/g, (ch) => `&#${ch.charCodeAt(0)};`);
}

/** The error code in an S3 XML error body, if there is one. */
export function errorCodeOf(xml: string): string | undefined {
  return /<Code>([^<]*)<\/Code>/.exec(xml)?.[1];
}
