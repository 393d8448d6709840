// S3 server access log records: parsing real S3 lines and our own, formatting, redaction.
import { describe, expect, it, vi } from 'vitest';
import {
  type AccessLogRecord,
  accessLogObjectKey,
  formatAccessLogRecord,
  parseAccessLog,
  parseAccessLogLine,
  parseRequestUri,
  redactRequestTarget,
} from '../../cdk/local/s3/access-log.js';
import { AccessLogDelivery } from '../../cdk/local/s3/log-delivery.js';
import { operationName } from '../../cdk/local/s3/operation.js';

// From the S3 user guide's LogFormat page (current format, with a source-region field at the end).
const AWS_SAMPLE =
  '79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be amzn-s3-demo-bucket1 [06/Feb/2019:00:00:38 +0000] 192.0.2.3 79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be 3E57427F3EXAMPLE REST.GET.VERSIONING - "GET /amzn-s3-demo-bucket1?versioning HTTP/1.1" 200 - 113 - 7 - "-" "S3Console/0.4" - s9lzHYrFp76ZVxRcpX9+5cjAnEH2ROuNkd2BHfIa6UkFVdtjf5mKR3/eTPFvsiP/XV/VLi31234= SigV4 ECDHE-RSA-AES128-GCM-SHA256 AuthHeader amzn-s3-demo-bucket1.s3.us-west-1.amazonaws.com TLSV1.2 arn:aws:s3:us-west-1:123456789012:accesspoint/example-AP Yes us-east-1';

// An older record (fields end at the version id) for a presigned object download.
const OLD_DOWNLOAD =
  '6ec976a42247d687d5d1c87bb53e87c60c925765f87415f472d240c5d18337a7 vendor-dl [16/Aug/2017:14:32:05 +0200] 203.0.113.9 arn:aws:iam::123456789012:user/dl CC487A9D90678CAB REST.GET.OBJECT releases/app%20v2.0/setup.exe "GET /vendor-dl/releases/app%20v2.0/setup.exe?X-Amz-Algorithm=AWS4-HMAC-SHA256&x-upman-grant=g%2F1 HTTP/1.1" 206 - 26828 1048576 89 11 "https://portal.example/downloads?a=1 b" "Mozilla/5.0 (X11; Linux x86_64) upman/1.0" -';

describe('parseAccessLogLine', () => {
  it('parses the AWS documentation sample, including trailing fields it does not name', () => {
    expect(parseAccessLogLine(AWS_SAMPLE)).toEqual({
      bucketOwner: '79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be',
      bucket: 'amzn-s3-demo-bucket1',
      time: new Date('2019-02-06T00:00:38Z'),
      remoteIp: '192.0.2.3',
      requester: '79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be',
      requestId: '3E57427F3EXAMPLE',
      operation: 'REST.GET.VERSIONING',
      key: undefined,
      requestUri: 'GET /amzn-s3-demo-bucket1?versioning HTTP/1.1',
      httpStatus: 200,
      errorCode: undefined,
      bytesSent: 113,
      objectSize: undefined,
      totalTimeMs: 7,
      turnAroundTimeMs: undefined,
      referer: undefined,
      userAgent: 'S3Console/0.4',
      versionId: undefined,
      hostId: 's9lzHYrFp76ZVxRcpX9+5cjAnEH2ROuNkd2BHfIa6UkFVdtjf5mKR3/eTPFvsiP/XV/VLi31234=',
      signatureVersion: 'SigV4',
      cipherSuite: 'ECDHE-RSA-AES128-GCM-SHA256',
      authenticationType: 'AuthHeader',
      hostHeader: 'amzn-s3-demo-bucket1.s3.us-west-1.amazonaws.com',
      tlsVersion: 'TLSV1.2',
      accessPointArn: 'arn:aws:s3:us-west-1:123456789012:accesspoint/example-AP',
      aclRequired: 'Yes',
    });
  });

  it('parses quoted fields with spaces, a time zone offset, a URL-encoded key and an older short record', () => {
    const record = parseAccessLogLine(OLD_DOWNLOAD);
    expect(record).toMatchObject({
      bucket: 'vendor-dl',
      time: new Date('2017-08-16T12:32:05Z'),
      requester: 'arn:aws:iam::123456789012:user/dl',
      key: 'releases/app v2.0/setup.exe',
      httpStatus: 206,
      bytesSent: 26828,
      objectSize: 1048576,
      referer: 'https://portal.example/downloads?a=1 b',
      userAgent: 'Mozilla/5.0 (X11; Linux x86_64) upman/1.0',
      signatureVersion: undefined,
    });
    expect(parseRequestUri(record!.requestUri!)).toEqual({
      method: 'GET',
      path: '/vendor-dl/releases/app%20v2.0/setup.exe',
      query: { 'X-Amz-Algorithm': 'AWS4-HMAC-SHA256', 'x-upman-grant': 'g/1' },
      protocol: 'HTTP/1.1',
    });
  });

  it('reads "-" bytes sent as 0', () => {
    const line = AWS_SAMPLE.replace('200 - 113 -', '304 - - -');
    expect(parseAccessLogLine(line)).toMatchObject({ httpStatus: 304, bytesSent: 0 });
  });

  it('returns undefined for lines that are not records', () => {
    expect(parseAccessLogLine('')).toBeUndefined();
    expect(parseAccessLogLine('not a log line at all')).toBeUndefined();
    expect(
      parseAccessLogLine(AWS_SAMPLE.replace('[06/Feb/2019:00:00:38 +0000]', '[yesterday]')),
    ).toBeUndefined();
  });

  it('parses a whole log object, skipping blank lines', () => {
    expect(parseAccessLog(`${AWS_SAMPLE}\n${OLD_DOWNLOAD}\n\n`).map((r) => r.bucket)).toEqual([
      'amzn-s3-demo-bucket1',
      'vendor-dl',
    ]);
  });
});

describe('formatAccessLogRecord', () => {
  const record: AccessLogRecord = {
    bucketOwner: 'f'.repeat(64),
    bucket: 'upman-downloads',
    time: new Date('2026-03-01T09:08:07.654Z'),
    remoteIp: '127.0.0.1',
    requester: 'arn:aws:iam::000000000000:user/local',
    requestId: '0123456789ABCDEF',
    operation: 'REST.GET.OBJECT',
    key: 'pkg/app 1.0+beta.zip',
    requestUri: 'GET /upman-downloads/pkg/app%201.0%2Bbeta.zip?x-upman-grant=abc HTTP/1.1',
    httpStatus: 200,
    bytesSent: 1024,
    objectSize: 1024,
    totalTimeMs: 12,
    turnAroundTimeMs: 3,
    userAgent: 'agent "quoted" \\ thing',
    hostId: 'aG9zdA==',
    signatureVersion: 'SigV4',
    authenticationType: 'QueryString',
    hostHeader: '127.0.0.1:4566',
  };

  it('writes the fields in S3 order, "-" for missing ones', () => {
    const line = formatAccessLogRecord(record);
    expect(line).toBe(
      `${'f'.repeat(64)} upman-downloads [01/Mar/2026:09:08:07 +0000] 127.0.0.1 arn:aws:iam::000000000000:user/local ` +
        '0123456789ABCDEF REST.GET.OBJECT pkg/app%201.0%2Bbeta.zip ' +
        '"GET /upman-downloads/pkg/app%201.0%2Bbeta.zip?x-upman-grant=abc HTTP/1.1" 200 - 1024 1024 12 3 "-" ' +
        '"agent \\"quoted\\" \\\\ thing" - aG9zdA== SigV4 - QueryString 127.0.0.1:4566 - - -',
    );
  });

  it('round-trips through the parser', () => {
    expect(parseAccessLogLine(formatAccessLogRecord(record))).toEqual({
      ...record,
      time: new Date('2026-03-01T09:08:07Z'),
      errorCode: undefined,
      referer: undefined,
      versionId: undefined,
      cipherSuite: undefined,
      tlsVersion: undefined,
      accessPointArn: undefined,
      aclRequired: undefined,
    });
  });
});

describe('redactRequestTarget', () => {
  it('replaces credential-bearing values and keeps every other parameter as received', () => {
    const target =
      '/b/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AK%2F20260301%2Feu-west-1%2Fs3%2Faws4_request' +
      '&X-Amz-Date=20260301T120000Z&X-Amz-Expires=300&X-Amz-Security-Token=tok&X-Amz-SignedHeaders=host' +
      '&x-upman-grant=abc&X-Amz-Signature=deadbeef';
    expect(redactRequestTarget(target)).toBe(
      '/b/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=REDACTED&X-Amz-Date=20260301T120000Z' +
        '&X-Amz-Expires=300&X-Amz-Security-Token=REDACTED&X-Amz-SignedHeaders=host&x-upman-grant=abc&X-Amz-Signature=REDACTED',
    );
  });

  it('matches parameter names case-insensitively and leaves targets without a query alone', () => {
    expect(redactRequestTarget('/b/k?x-amz-signature=abc')).toBe('/b/k?x-amz-signature=REDACTED');
    expect(redactRequestTarget('/b/k')).toBe('/b/k');
  });
});

describe('accessLogObjectKey', () => {
  it('names log objects <prefix>YYYY-MM-DD-HH-MM-SS-<16 hex>', () => {
    expect(accessLogObjectKey('logs/', new Date('2026-03-01T09:08:07Z'), 'a1b2c3d4e5f60718')).toBe(
      'logs/2026-03-01-09-08-07-A1B2C3D4E5F60718',
    );
  });
});

describe('operationName', () => {
  const op = (method: string, key: string | undefined, query: string[] = [], copy = false) =>
    operationName(method, key, new Set(query), copy);

  it('names object, bucket and multipart operations as S3 does', () => {
    expect(op('GET', 'k')).toBe('REST.GET.OBJECT');
    expect(op('HEAD', 'k')).toBe('REST.HEAD.OBJECT');
    expect(op('PUT', 'k', [], true)).toBe('REST.COPY.OBJECT');
    expect(op('GET', undefined, ['list-type'])).toBe('REST.GET.BUCKET');
    expect(op('GET', undefined, ['versioning'])).toBe('REST.GET.VERSIONING');
    expect(op('POST', undefined, ['delete'])).toBe('REST.POST.MULTI_OBJECT_DELETE');
    expect(op('POST', 'k', ['uploads'])).toBe('REST.POST.UPLOADS');
    expect(op('PUT', 'k', ['partNumber', 'uploadId'])).toBe('REST.PUT.PART');
    expect(op('POST', 'k', ['uploadId'])).toBe('REST.POST.UPLOAD');
  });
});

describe('AccessLogDelivery', () => {
  const record = (bucket: string): AccessLogRecord => ({
    bucket,
    time: new Date('2026-03-01T09:08:07Z'),
    operation: 'REST.GET.OBJECT',
    bytesSent: 1,
  });

  it('batches records per target and writes one object per target on flush', async () => {
    const put = vi.fn(async (_bucket: string, _key: string, _body: string) => {});
    const delivery = new AccessLogDelivery(put, 60_000);
    delivery.add({ targetBucket: 'logs', prefix: 'a/' }, record('one'));
    delivery.add({ targetBucket: 'logs', prefix: 'a/' }, record('two'));
    delivery.add({ targetBucket: 'logs', prefix: 'b/' }, record('three'));
    expect(put).not.toHaveBeenCalled();
    await delivery.flush();
    expect(put).toHaveBeenCalledTimes(2);
    const [bucket, key, body] = put.mock.calls[0]!;
    expect(bucket).toBe('logs');
    expect(key).toMatch(/^a\/\d{4}-\d{2}-\d{2}-\d{2}-\d{2}-\d{2}-[0-9A-F]{16}$/);
    expect(parseAccessLog(body).map((r) => r.bucket)).toEqual(['one', 'two']);
    await delivery.flush();
    expect(put).toHaveBeenCalledTimes(2);
  });

  it('flushes by itself after the batching window', async () => {
    vi.useFakeTimers();
    try {
      const put = vi.fn(async () => {});
      const delivery = new AccessLogDelivery(put, 1000);
      delivery.add({ targetBucket: 'logs', prefix: '' }, record('one'));
      await vi.advanceTimersByTimeAsync(999);
      expect(put).not.toHaveBeenCalled();
      await vi.advanceTimersByTimeAsync(1);
      expect(put).toHaveBeenCalledTimes(1);
    } finally {
      vi.useRealTimers();
    }
  });
});
