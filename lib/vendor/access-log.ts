// Amazon S3 server access log records: https://docs.aws.amazon.com/AmazonS3/latest/userguide/LogFormat.html
// The local S3 (cdk/local/s3) writes them; the vendor download processor parses real ones and
// local ones with this same code, so this file depends on nothing but the language.

export interface AccessLogRecord {
  bucketOwner?: string;
  bucket: string;
  time: Date;
  remoteIp?: string;
  /** Principal ARN or canonical ID; undefined for anonymous requests. */
  requester?: string;
  requestId?: string;
  /** e.g. REST.GET.OBJECT */
  operation: string;
  /** Decoded object key. */
  key?: string;
  /** The request line as logged, e.g. `GET /bucket/key?x=1 HTTP/1.1`. */
  requestUri?: string;
  httpStatus?: number;
  errorCode?: string;
  /** Response body bytes actually sent (0 when logged as "-"). */
  bytesSent: number;
  objectSize?: number;
  totalTimeMs?: number;
  turnAroundTimeMs?: number;
  referer?: string;
  userAgent?: string;
  versionId?: string;
  hostId?: string;
  signatureVersion?: string;
  cipherSuite?: string;
  authenticationType?: string;
  hostHeader?: string;
  tlsVersion?: string;
  accessPointArn?: string;
  aclRequired?: string;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const pad = (n: number, width = 2) => String(n).padStart(width, '0');

/** `06/Feb/2019:00:00:38 +0000` */
export function formatLogTime(date: Date): string {
  return (
    `${pad(date.getUTCDate())}/${MONTHS[date.getUTCMonth()]}/${date.getUTCFullYear()}:` +
    `${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())} +0000`
  );
}

function parseLogTime(text: string): Date | undefined {
  const m = /^(\d{2})\/([A-Z][a-z]{2})\/(\d{4}):(\d{2}):(\d{2}):(\d{2}) ([+-])(\d{2})(\d{2})$/.exec(text);
  if (!m) return undefined;
  const month = MONTHS.indexOf(m[2]!);
  if (month === -1) return undefined;
  const offsetMinutes = (m[7] === '-' ? -1 : 1) * (Number(m[8]) * 60 + Number(m[9]));
  const utc = Date.UTC(Number(m[3]), month, Number(m[1]), Number(m[4]), Number(m[5]), Number(m[6]));
  return new Date(utc - offsetMinutes * 60_000);
}

/** The object key a log file is delivered under: `<prefix>YYYY-MM-DD-HH-MM-SS-<16 hex>`. */
export function accessLogObjectKey(prefix: string, date: Date, uniqueHex: string): string {
  const stamp = [
    date.getUTCFullYear(),
    pad(date.getUTCMonth() + 1),
    pad(date.getUTCDate()),
    pad(date.getUTCHours()),
    pad(date.getUTCMinutes()),
    pad(date.getUTCSeconds()),
  ].join('-');
  return `${prefix}${stamp}-${uniqueHex.toUpperCase()}`;
}

/** S3 logs keys URL-encoded, with "/" kept. */
export function encodeLogKey(key: string): string {
  return key.split('/').map(encodeURIComponent).join('/');
}

const dash = (value: string | number | undefined): string =>
  value === undefined || value === '' ? '-' : String(value).replace(/\s/g, '_');
const quoted = (value: string | undefined): string =>
  value === undefined || value === ''
    ? '"-"'
    : `"${value.replace(/[\\"]/g, (ch) => `\\${ch}`).replace(/[\r\n]/g, ' ')}"`;

export function formatAccessLogRecord(r: AccessLogRecord): string {
  return [
    dash(r.bucketOwner),
    dash(r.bucket),
    `[${formatLogTime(r.time)}]`,
    dash(r.remoteIp),
    dash(r.requester),
    dash(r.requestId),
    dash(r.operation),
    r.key === undefined ? '-' : encodeLogKey(r.key),
    quoted(r.requestUri),
    dash(r.httpStatus),
    dash(r.errorCode),
    r.bytesSent > 0 ? String(r.bytesSent) : '-',
    dash(r.objectSize),
    dash(r.totalTimeMs),
    dash(r.turnAroundTimeMs),
    quoted(r.referer),
    quoted(r.userAgent),
    dash(r.versionId),
    dash(r.hostId),
    dash(r.signatureVersion),
    dash(r.cipherSuite),
    dash(r.authenticationType),
    dash(r.hostHeader),
    dash(r.tlsVersion),
    dash(r.accessPointArn),
    dash(r.aclRequired),
  ].join(' ');
}

/** Fields: "quoted" (backslash escapes allowed), [bracketed], or runs of non-space. */
const TOKEN = /"((?:[^"\\]|\\.)*)"|\[([^\]]*)\]|(\S+)/g;

/**
 * Parses one log line (real S3's or ours). Lines from older S3 formats with fewer trailing
 * fields parse too; undefined for a line that is not a record.
 */
export function parseAccessLogLine(line: string): AccessLogRecord | undefined {
  const fields: (string | undefined)[] = [];
  for (const m of line.trim().matchAll(TOKEN)) {
    const value = m[1] !== undefined ? m[1].replace(/\\(.)/g, '$1') : (m[2] ?? m[3]);
    fields.push(value === '-' ? undefined : value);
  }
  if (fields.length < 17) return undefined;
  const at = (i: number) => fields[i];
  const num = (i: number) => {
    const v = at(i);
    return v !== undefined && /^\d+$/.test(v) ? Number(v) : undefined;
  };
  const bucket = at(1);
  const time = at(2) === undefined ? undefined : parseLogTime(at(2)!);
  const operation = at(6);
  const status = at(9);
  if (!bucket || !time || !operation || (status !== undefined && !/^\d{3}$/.test(status))) return undefined;
  const rawKey = at(7);
  return {
    bucketOwner: at(0),
    bucket,
    time,
    remoteIp: at(3),
    requester: at(4),
    requestId: at(5),
    operation,
    key: rawKey === undefined ? undefined : safeDecode(rawKey),
    requestUri: at(8),
    httpStatus: num(9),
    errorCode: at(10),
    bytesSent: num(11) ?? 0,
    objectSize: num(12),
    totalTimeMs: num(13),
    turnAroundTimeMs: num(14),
    referer: at(15),
    userAgent: at(16),
    versionId: at(17),
    hostId: at(18),
    signatureVersion: at(19),
    cipherSuite: at(20),
    authenticationType: at(21),
    hostHeader: at(22),
    tlsVersion: at(23),
    accessPointArn: at(24),
    aclRequired: at(25),
  };
}

export function parseAccessLog(text: string): AccessLogRecord[] {
  return text
    .split('\n')
    .map(parseAccessLogLine)
    .filter((r): r is AccessLogRecord => r !== undefined);
}

export interface RequestLine {
  method: string;
  path: string;
  /** Decoded query parameters; the first occurrence wins for repeated names. */
  query: Record<string, string>;
  protocol?: string;
}

/** Splits a logged request-URI (`GET /b/k?a=1 HTTP/1.1`) into method, raw path and query. */
export function parseRequestUri(requestUri: string): RequestLine | undefined {
  const [method, target, protocol] = requestUri.split(' ');
  if (!method || !target) return undefined;
  const q = target.indexOf('?');
  const query: Record<string, string> = Object.create(null);
  if (q !== -1) {
    for (const pair of target.slice(q + 1).split('&')) {
      if (pair === '') continue;
      const eq = pair.indexOf('=');
      const name = safeDecode(eq === -1 ? pair : pair.slice(0, eq));
      if (!(name in query)) query[name] = safeDecode(eq === -1 ? '' : pair.slice(eq + 1));
    }
  }
  return { method, path: q === -1 ? target : target.slice(0, q), query, protocol };
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

const SECRET_PARAMS = new Set([
  'x-amz-signature',
  'x-amz-credential',
  'x-amz-security-token',
  'signature',
  'awsaccesskeyid',
]);

/** Replaces credential-bearing query values with REDACTED; everything else is kept as received. */
export function redactRequestTarget(target: string): string {
  const q = target.indexOf('?');
  if (q === -1) return target;
  const query = target
    .slice(q + 1)
    .split('&')
    .map((pair) => {
      const eq = pair.indexOf('=');
      const name = safeDecode(eq === -1 ? pair : pair.slice(0, eq)).toLowerCase();
      return SECRET_PARAMS.has(name) ? `${pair.slice(0, eq === -1 ? pair.length : eq)}=REDACTED` : pair;
    })
    .join('&');
  return `${target.slice(0, q + 1)}${query}`;
}
