// The server-side evidence of S604/S605: S3 server access logs of the release bucket. S3
// delivers them late (minutes) and in batches, so a scheduled run reads the log objects that
// are new since the last run, finds successful GETs of artifacts made with a grant's key (the
// signed x-upman-grant parameter in the logged request-URI), and completes the grant once the
// bytes sent cover the artifact: one 200 with the whole object, or ranges that add up to it.
import { type AccessLogRecord, parseAccessLog, parseRequestUri } from './access-log.js';
import { completeDownload, type GrantPorts } from './grants.js';
import { GRANT_QUERY_PARAM, parseArtifactKey } from './layout.js';

export interface DownloadLedger {
  /** Adds `bytes` to the grant's count for `artifactKey` unless this log object was counted; returns the total. */
  addLogBytes(logKey: string, grantId: string, artifactKey: string, bytes: number, at: Date): Promise<number>;
  getCursor(source: string): Promise<string | undefined>;
  setCursor(source: string, after: string): Promise<void>;
}

export interface AccessLogSource {
  bucket: string;
  prefix: string;
  /** Log object keys after `startAfter`, in key (= delivery time) order. */
  list(startAfter: string | undefined, limit: number): Promise<string[]>;
  read(key: string): Promise<string>;
}

export interface ProcessorPorts extends GrantPorts {
  ledger: DownloadLedger;
  logs: AccessLogSource;
  /** The release bucket whose downloads count. */
  releaseBucket: string;
  log?: (message: string, detail?: Record<string, unknown>) => void;
}

export interface ProcessorOptions {
  /** Log objects read per run at most (the rest wait for the next run). */
  maxObjects?: number;
  /** Re-list this far behind the cursor: S3 may deliver a log object named for an earlier time. */
  lookbackMinutes?: number;
}

export interface ProcessorResult {
  objects: number;
  downloads: number;
  completed: string[];
  failed: number;
}

interface Download {
  grantId: string;
  artifactKey: string;
  bytes: number;
  objectSize: number;
  whole: boolean;
  at: Date;
}

/** Successful artifact GETs made with a grant's key, summed per grant and artifact. */
export function downloadsIn(records: AccessLogRecord[], releaseBucket: string): Download[] {
  const byGrant = new Map<string, Download>();
  for (const r of records) {
    if (r.bucket !== releaseBucket || r.operation !== 'REST.GET.OBJECT' || !r.key) continue;
    if (r.httpStatus !== 200 && r.httpStatus !== 206) continue;
    const grantId = r.requestUri ? parseRequestUri(r.requestUri)?.query[GRANT_QUERY_PARAM] : undefined;
    if (!grantId || !parseArtifactKey(r.key) || r.objectSize === undefined) continue;
    const id = `${grantId}\n${r.key}`;
    const d = byGrant.get(id) ?? {
      grantId,
      artifactKey: r.key,
      bytes: 0,
      objectSize: r.objectSize,
      whole: false,
      at: r.time,
    };
    d.bytes += r.bytesSent;
    d.whole ||= r.httpStatus === 200 && r.bytesSent === r.objectSize;
    if (r.time > d.at) d.at = r.time;
    byGrant.set(id, d);
  }
  return [...byGrant.values()];
}

/** The log key naming a time: `<prefix>YYYY-MM-DD-HH-MM-SS` sorts with the delivered keys. */
export function logKeyAt(prefix: string, date: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${prefix}${date.getUTCFullYear()}-${p(date.getUTCMonth() + 1)}-${p(date.getUTCDate())}-${p(date.getUTCHours())}-${p(date.getUTCMinutes())}-${p(date.getUTCSeconds())}`;
}

function timeOfLogKey(prefix: string, key: string): Date | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})-(\d{2})-(\d{2})-(\d{2})/.exec(key.slice(prefix.length));
  return m ? new Date(Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!)) : undefined;
}

export async function processAccessLogs(
  ports: ProcessorPorts,
  options: ProcessorOptions = {},
): Promise<ProcessorResult> {
  const { logs } = ports;
  const source = `${logs.bucket}/${logs.prefix}`;
  const cursor = await ports.ledger.getCursor(source);
  const cursorTime = cursor ? timeOfLogKey(logs.prefix, cursor) : undefined;
  const lookbackMs = (options.lookbackMinutes ?? 60) * 60_000;
  const startAfter = cursorTime
    ? logKeyAt(logs.prefix, new Date(cursorTime.getTime() - lookbackMs))
    : undefined;
  const keys = await logs.list(startAfter, options.maxObjects ?? 500);
  const result: ProcessorResult = { objects: 0, downloads: 0, completed: [], failed: 0 };
  let newest = cursor;
  for (const key of keys) {
    result.objects++;
    for (const d of downloadsIn(parseAccessLog(await logs.read(key)), ports.releaseBucket)) {
      result.downloads++;
      try {
        if (await recordDownload(ports, key, d)) result.completed.push(d.grantId);
      } catch (error) {
        // Retried while the object is inside the lookback window; bytes are never counted twice.
        result.failed++;
        ports.log?.('download evidence not recorded', {
          logObject: key,
          grantId: d.grantId,
          error: String(error),
        });
      }
    }
    if (newest === undefined || key > newest) newest = key;
  }
  if (newest && newest !== cursor) await ports.ledger.setCursor(source, newest);
  return result;
}

async function recordDownload(ports: ProcessorPorts, logKey: string, d: Download): Promise<boolean> {
  const grant = await ports.grants.getGrant(d.grantId);
  const parts = parseArtifactKey(d.artifactKey);
  // A key is only evidence for its own grant's software and target revision.
  if (!grant || !parts || parts.software !== grant.software || parts.to !== grant.targetRevision)
    return false;
  if (grant.completedAt) return false;
  const total = await ports.ledger.addLogBytes(logKey, grant.grantId, d.artifactKey, d.bytes, d.at);
  if (!d.whole && total < d.objectSize) return false;
  const outcome = await completeDownload(ports, grant, {
    kind: 'access-log',
    artifactKey: d.artifactKey,
    bytes: Math.max(total, d.bytes),
    logObject: logKey,
    at: d.at.toISOString(),
  });
  return outcome.status === 'recorded';
}
