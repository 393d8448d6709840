// The local cloud's S3: s3rver on an internal loopback port, behind a front proxy that verifies
// every request's SigV4 signature (s3rver does not), decodes aws-chunked uploads, and writes S3
// server access logs for buckets that ask for them.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import S3rver from 's3rver';
import { LOCAL_ACCOUNT } from '../template.js';
import { type AccessLogRecord, redactRequestTarget } from './access-log.js';
import { type S3Access, s3Accesses } from './action.js';
import { hasBody, type SpooledBody, spoolBody } from './body.js';
import { hasWriteConditions, KeyLocks, writeConditionError } from './conditional.js';
import { AccessLogDelivery, type AccessLogTarget } from './log-delivery.js';
import { operationName } from './operation.js';
import { joinQuery, parseQuery, type QueryParam, splitTarget } from './query.js';
import { errorCodeOf, newHostId, newRequestId, S3Error } from './s3-error.js';
import { type AuthType, type VerifyOptions, verifyRequest } from './verify.js';

export type { AccessLogRecord } from './access-log.js';
export { parseAccessLogLine } from './access-log.js';
export type { AccessLogTarget } from './log-delivery.js';

export interface LocalS3Options {
  /** 0 = ephemeral. The proxy listens on 127.0.0.1 only. */
  port: number;
  /** s3rver's directory; buckets, objects and access-log settings survive a restart. */
  dataDir: string;
  region: string;
  /** The only accepted key pair, or a lookup of every key the local cloud knows. */
  credentials: VerifyOptions['credentials'];
  /**
   * Authorises a verified request's checks (undefined: a request type the mapping does not
   * know); answers a denial message, or undefined when allowed. Absent: every signed request is allowed.
   */
  authorize?: (accessKeyId: string, accesses: S3Access[] | undefined) => Promise<string | undefined>;
  /** How access logs name the requester of a key; defaults to an IAM user in the local account. */
  principalArn?: string | ((accessKeyId: string) => string);
  /** How long records are batched before delivery. */
  accessLogFlushMs?: number;
}

export interface LocalS3 {
  /** e.g. http://127.0.0.1:PORT */
  url: string;
  /** Creates the bucket if it does not exist; with accessLog, also the target bucket. */
  createBucket(name: string, options?: { accessLog?: AccessLogTarget }): Promise<void>;
  /** Delivers pending access logs, then stops the proxy and s3rver. */
  stop(): Promise<void>;
}

/** Query parameters that carry the signature; s3rver must not see them (it would "verify" them). */
const AUTH_QUERY_PARAMS = new Set([
  'x-amz-algorithm',
  'x-amz-credential',
  'x-amz-signature',
  'x-amz-date',
  'x-amz-signedheaders',
  'x-amz-expires',
  'x-amz-security-token',
  'x-amz-content-sha256',
]);
/** Request headers not passed to s3rver: auth, aws-chunked framing, hop-by-hop. */
const DROPPED_REQUEST_HEADERS = new Set([
  'authorization',
  'x-amz-content-sha256',
  'x-amz-decoded-content-length',
  'x-amz-trailer',
  'content-length',
  'transfer-encoding',
  'connection',
  'keep-alive',
  'expect',
  'te',
  'trailer',
  'upgrade',
  'proxy-authorization',
]);
const DROPPED_RESPONSE_HEADERS = new Set([
  'connection',
  'keep-alive',
  'transfer-encoding',
  'x-amz-request-id',
  'x-amz-id-2',
]);
const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const ERROR_BODY_CAPTURE = 16 * 1024;

export async function startLocalS3(options: LocalS3Options): Promise<LocalS3> {
  validateOptions(options);
  const { credentials, region } = options;
  const principalArn = (accessKeyId: string) =>
    typeof options.principalArn === 'function'
      ? options.principalArn(accessKeyId)
      : (options.principalArn ?? `arn:aws:iam::${LOCAL_ACCOUNT}:user/local`);
  const bucketOwner = createHash('sha256').update(LOCAL_ACCOUNT).digest('hex');

  await mkdir(options.dataDir, { recursive: true });
  const tmpDir = await mkdtemp(join(tmpdir(), 'upman-s3-'));
  // s3rver never sees credentials: the proxy strips them after verifying, so s3rver treats every
  // forwarded request as anonymous (which it allows). vhostBuckets off: path-style only.
  const s3rver = new S3rver({
    address: '127.0.0.1',
    port: 0,
    directory: options.dataDir,
    silent: true,
    vhostBuckets: false,
  });
  const upstreamPort = (await s3rver.run()).port;
  const agent = new http.Agent({ keepAlive: true });
  const upstream = (method: string, path: string, headers: http.OutgoingHttpHeaders) =>
    http.request({ host: '127.0.0.1', port: upstreamPort, method, path, headers, agent });

  const logging = await LoggingSettings.load(join(options.dataDir, '.upman-access-logging.json'));
  const delivery = new AccessLogDelivery(
    (bucket, key, body) =>
      sendInternal('PUT', `/${bucket}/${key.split('/').map(encodeURIComponent).join('/')}`, body),
    options.accessLogFlushMs ?? 1000,
  );

  /** A request straight to s3rver, for the proxy's own work (bucket creation, log delivery). */
  function sendInternal(method: string, path: string, body = ''): Promise<void> {
    return new Promise((resolve, reject) => {
      const req = upstream(method, path, { 'content-length': Buffer.byteLength(body) });
      req.on('error', reject);
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString();
          const code = errorCodeOf(text);
          const status = res.statusCode ?? 500;
          if (status < 300 || code === 'BucketAlreadyExists' || code === 'BucketAlreadyOwnedByYou') resolve();
          else
            reject(new Error(`local S3 ${method} ${path} failed: ${status} ${code ?? text.slice(0, 200)}`));
        });
      });
      req.end(body);
    });
  }

  const active = new Set<Promise<void>>();
  const server = http.createServer((req, res) => {
    const handling = handle(req, res).catch((error: unknown) => {
      console.error('local S3 proxy error', error);
      if (!res.headersSent)
        sendError(res, req.method, new S3Error('InternalError', 'We encountered an internal error.', 500));
      else res.destroy();
    });
    active.add(handling);
    void handling.finally(() => active.delete(handling));
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const time = new Date();
    const started = performance.now();
    const method = req.method ?? 'GET';
    const target = req.url ?? '/';
    const requestId = newRequestId();
    const hostId = newHostId();
    res.setHeader('x-amz-request-id', requestId);
    res.setHeader('x-amz-id-2', hostId);

    const { path, rawQuery } = splitTarget(target);
    const { bucket, key } = bucketAndKey(path);
    const logTarget = bucket === undefined ? undefined : logging.get(bucket);
    const entry: AccessLogRecord = {
      bucketOwner,
      bucket: bucket ?? '-',
      time,
      remoteIp: req.socket.remoteAddress?.replace(/^::ffff:/, ''),
      requestId,
      operation: 'REST.UNKNOWN',
      key,
      requestUri: `${method} ${redactRequestTarget(target)} HTTP/${req.httpVersion}`,
      bytesSent: 0,
      referer: req.headers.referer,
      userAgent: req.headers['user-agent'],
      hostId,
      hostHeader: req.headers.host,
    };
    const writeLog = logTarget
      ? (authType: AuthType | undefined) => {
          entry.totalTimeMs = Math.round(performance.now() - started);
          entry.signatureVersion = authType ? 'SigV4' : undefined;
          entry.authenticationType = authType;
          delivery.add(logTarget, entry);
        }
      : () => {};

    let params: QueryParam[];
    try {
      params = parseQuery(rawQuery);
    } catch (error) {
      if (!(error instanceof S3Error)) throw error;
      return reject(error, undefined);
    }
    entry.operation = operationName(
      method,
      key,
      new Set(params.map((p) => p.name)),
      req.headers['x-amz-copy-source'] !== undefined,
    );

    function reject(error: S3Error, authType: AuthType | undefined): void {
      entry.httpStatus = error.statusCode;
      entry.errorCode = error.code;
      entry.turnAroundTimeMs = Math.round(performance.now() - started);
      // An unread upload body would otherwise be drained on this keep-alive connection.
      if (hasBody(req.headersDistinct)) res.setHeader('connection', 'close');
      entry.bytesSent = sendError(res, method, error, requestId, hostId);
      res.on('close', () => writeLog(authType));
    }

    const verified = await verifyRequest(
      { method, url: target, headers: req.headersDistinct },
      { credentials, region, now: new Date() },
    );
    if (!verified.ok) return reject(verified.error, verified.authType);
    entry.requester = principalArn(verified.accessKeyId);
    const copySource = req.headers['x-amz-copy-source'];
    if (options.authorize) {
      const accesses = s3Accesses(
        method,
        bucket,
        key,
        params,
        Array.isArray(copySource) ? copySource[0] : copySource,
      );
      const denied = await options.authorize(verified.accessKeyId, accesses);
      if (denied !== undefined) return reject(new S3Error('AccessDenied', denied, 403), verified.authType);
    }

    let body: SpooledBody;
    try {
      body = await spoolBody(req, req.headersDistinct, verified.payload, tmpDir);
    } catch (error) {
      if (!(error instanceof S3Error)) throw error;
      return reject(error, verified.authType);
    }
    const bodyDone = performance.now();
    if (body.file) entry.objectSize = body.size;

    let unlock: (() => void) | undefined;
    try {
      if (entry.operation === 'REST.PUT.OBJECT' && hasWriteConditions(req.headersDistinct)) {
        unlock = await writeLocks.acquire(path);
        const failed = writeConditionError(req.headersDistinct, await storedEtag(path));
        if (failed) return reject(failed, verified.authType);
      }
      const upstreamReq = upstream(method, `${path}${forwardedQuery(params)}`, forwardedHeaders(req, body));
      const responded = new Promise<IncomingMessage>((resolve, rejectResponse) => {
        upstreamReq.on('response', resolve);
        upstreamReq.on('error', rejectResponse);
      });
      if (body.file) createReadStream(body.file).pipe(upstreamReq);
      else upstreamReq.end();
      const upstreamRes = await responded;
      entry.turnAroundTimeMs = Math.round(performance.now() - bodyDone);
      const status = upstreamRes.statusCode ?? 502;
      // A missing key is 404 only to a caller who may list the bucket; to anyone else S3 says 403,
      // so a caller cannot learn which keys exist.
      if (
        status === 404 &&
        key !== undefined &&
        bucket !== undefined &&
        options.authorize &&
        (method === 'GET' || method === 'HEAD')
      ) {
        const denied = await options.authorize(verified.accessKeyId, [
          { action: 's3:ListBucket', resource: `arn:aws:s3:::${bucket}`, context: {} },
        ]);
        if (denied !== undefined) {
          upstreamRes.resume();
          return reject(new S3Error('AccessDenied', 'Access Denied', 403), verified.authType);
        }
      }
      entry.httpStatus = status;
      if (entry.objectSize === undefined && (method === 'GET' || method === 'HEAD') && status < 300) {
        entry.objectSize = objectSizeOf(upstreamRes.headers);
      }
      res.writeHead(status, {
        ...forwardedResponseHeaders(upstreamRes.headers),
        ...(status < 300 ? responseOverrides(params) : {}),
      });
      // Counted as written, so an aborted download logs only what went out.
      const captured: Buffer[] = [];
      let capturedBytes = 0;
      const counter = new Transform({
        transform(chunk: Buffer, _encoding, callback) {
          entry.bytesSent += chunk.length;
          if (status >= 400 && capturedBytes < ERROR_BODY_CAPTURE) {
            captured.push(chunk);
            capturedBytes += chunk.length;
          }
          callback(null, chunk);
        },
      });
      res.on('close', () => {
        if (status >= 400)
          entry.errorCode = errorCodeOf(Buffer.concat(captured).toString()) ?? entry.errorCode;
        writeLog(verified.authType);
      });
      await pipeline(upstreamRes, counter, res).catch(() => {
        // The client went away mid-response; the log records how far it got.
        upstreamReq.destroy();
      });
    } finally {
      unlock?.();
      await body.discard();
    }
  }

  const writeLocks = new KeyLocks();
  /** The stored object's ETag (a HEAD straight to s3rver), or undefined when there is none. */
  function storedEtag(path: string): Promise<{ etag: string } | undefined> {
    return new Promise((resolve, reject) => {
      const head = upstream('HEAD', path, {});
      head.on('error', reject);
      head.on('response', (res) => {
        res.resume();
        const etag = res.headers.etag;
        resolve(res.statusCode === 200 && etag ? { etag } : undefined);
      });
      head.end();
    });
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const createBucket: LocalS3['createBucket'] = async (name, bucketOptions = {}) => {
    checkBucketName(name, 'name');
    await sendInternal('PUT', `/${name}`);
    const accessLog = bucketOptions.accessLog;
    if (accessLog) {
      checkBucketName(accessLog.targetBucket, 'accessLog.targetBucket');
      if (typeof accessLog.prefix !== 'string') throw new Error('accessLog.prefix must be a string');
      // Real S3 wants the target to exist; creating it keeps local setup to one call.
      await sendInternal('PUT', `/${accessLog.targetBucket}`);
      await logging.set(name, { targetBucket: accessLog.targetBucket, prefix: accessLog.prefix });
    }
  };

  let stopped: Promise<void> | undefined;
  const stop = () => {
    stopped ??= (async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      await Promise.race([Promise.allSettled([...active]), sleep(5000)]);
      server.closeAllConnections();
      await closed;
      await delivery.flush();
      agent.destroy();
      await s3rver.close();
      await rm(tmpDir, { recursive: true, force: true });
    })();
    return stopped;
  };

  return { url, createBucket, stop };
}

function validateOptions(options: LocalS3Options): void {
  if (!Number.isInteger(options.port) || options.port < 0 || options.port > 65535) {
    throw new Error(`port must be an integer from 0 to 65535, got ${options.port}`);
  }
  if (!options.dataDir) throw new Error('dataDir is required');
  if (!options.region) throw new Error('region is required');
  const c = options.credentials;
  if (typeof c !== 'function' && (!c?.accessKeyId || !c.secretAccessKey)) {
    throw new Error('credentials.accessKeyId and credentials.secretAccessKey are required');
  }
}

function checkBucketName(name: string, field: string): void {
  if (!BUCKET_NAME.test(name) || name.includes('..')) {
    throw new Error(`${field} "${name}" is not a valid S3 bucket name (3-63 of a-z, 0-9, "." and "-")`);
  }
}

/** Path-style addressing: /bucket/key. */
function bucketAndKey(path: string): { bucket?: string; key?: string } {
  const slash = path.indexOf('/', 1);
  const rawBucket = slash === -1 ? path.slice(1) : path.slice(1, slash);
  const rawKey = slash === -1 ? '' : path.slice(slash + 1);
  const decode = (s: string) => {
    try {
      return decodeURIComponent(s);
    } catch {
      return s;
    }
  };
  return { bucket: rawBucket ? decode(rawBucket) : undefined, key: rawKey ? decode(rawKey) : undefined };
}

// S3 honours response-* overrides on signed GET/HEAD; s3rver refuses them on the anonymous
// requests it gets from this proxy, so the proxy applies them itself.
const RESPONSE_OVERRIDES = new Map([
  ['response-content-type', 'content-type'],
  ['response-content-language', 'content-language'],
  ['response-expires', 'expires'],
  ['response-cache-control', 'cache-control'],
  ['response-content-disposition', 'content-disposition'],
  ['response-content-encoding', 'content-encoding'],
]);

function responseOverrides(params: QueryParam[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const p of params) {
    const header = RESPONSE_OVERRIDES.get(p.name.toLowerCase());
    if (header) out[header] = p.value;
  }
  return out;
}

function forwardedQuery(params: QueryParam[]): string {
  const kept = params.filter(
    (p) => !AUTH_QUERY_PARAMS.has(p.name.toLowerCase()) && !RESPONSE_OVERRIDES.has(p.name.toLowerCase()),
  );
  return kept.length ? `?${joinQuery(kept)}` : '';
}

function forwardedHeaders(req: IncomingMessage, body: SpooledBody): http.OutgoingHttpHeaders {
  const headers: http.OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined || DROPPED_REQUEST_HEADERS.has(name)) continue;
    if (name === 'content-encoding') {
      // aws-chunked is the proxy's business (already decoded); any other encoding belongs to the object.
      const rest = String(value)
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s && s.toLowerCase() !== 'aws-chunked');
      if (rest.length) headers[name] = rest.join(',');
      continue;
    }
    headers[name] = value;
  }
  headers['content-length'] = body.size;
  return headers;
}

function forwardedResponseHeaders(headers: http.IncomingHttpHeaders): http.OutgoingHttpHeaders {
  const out: http.OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined && !DROPPED_RESPONSE_HEADERS.has(name)) out[name] = value;
  }
  return out;
}

function objectSizeOf(headers: http.IncomingHttpHeaders): number | undefined {
  const total = /\/(\d+)$/.exec(headers['content-range'] ?? '')?.[1];
  const size = Number(total ?? headers['content-length']);
  return Number.isFinite(size) ? size : undefined;
}

/** Writes an S3 XML error; returns the body bytes sent. */
function sendError(
  res: ServerResponse,
  method: string | undefined,
  error: S3Error,
  requestId = newRequestId(),
  hostId = newHostId(),
): number {
  const xml = Buffer.from(error.toXml(requestId, hostId));
  res.writeHead(error.statusCode, {
    'content-type': 'application/xml',
    'content-length': xml.length,
    'x-amz-request-id': requestId,
    'x-amz-id-2': hostId,
  });
  if (method === 'HEAD') {
    res.end();
    return 0;
  }
  res.end(xml);
  return xml.length;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());

/** Which buckets log where; kept beside s3rver's data so it survives a restart. */
class LoggingSettings {
  private constructor(
    private readonly file: string,
    private readonly targets: Map<string, AccessLogTarget>,
  ) {}

  static async load(file: string): Promise<LoggingSettings> {
    let stored: Record<string, AccessLogTarget> = {};
    try {
      stored = JSON.parse(await readFile(file, 'utf8')) as Record<string, AccessLogTarget>;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    return new LoggingSettings(file, new Map(Object.entries(stored)));
  }

  get(bucket: string): AccessLogTarget | undefined {
    return this.targets.get(bucket);
  }

  async set(bucket: string, target: AccessLogTarget): Promise<void> {
    this.targets.set(bucket, target);
    const tmp = `${this.file}.tmp`;
    await writeFile(tmp, JSON.stringify(Object.fromEntries(this.targets), null, 2));
    await rename(tmp, this.file);
  }
}
