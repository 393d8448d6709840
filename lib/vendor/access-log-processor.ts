// The release bucket's S3 server access logs, kept as AUDIT EVIDENCE ONLY. S3 delivers them
// late (minutes, hours, or never: best effort), and a record names the signing role and an IP
// address, never the client: a mail scanner's prefetch looks exactly like a download. So a log
// record changes nothing — no grant completion, no registry entry, no request status, no finance
// notice (those come from the agent's confirmation of a verified install, grants.ts). A
// scheduled run reads the log objects new since the last run and records, per grant, which of
// its keys fetched which artifact, when and from where, for an auditor (e.g. a key used after
// its grant was revoked, or fetched by a scanner).
import { type AccessLogRecord, parseAccessLog, parseRequestUri } from './access-log.js';
import { GRANT_QUERY_PARAM, parseArtifactKey } from './layout.js';
import type { LogEvidence } from './model.js';

export interface LogEvidenceStore {
  /** Stores the evidence unless this (log object, grant, artifact) is stored already; true if new. */
  recordLogEvidence(evidence: LogEvidence): Promise<boolean>;
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

export interface ProcessorPorts {
  evidence: LogEvidenceStore;
  logs: AccessLogSource;
  /** The release bucket whose downloads are recorded. */
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
  /** (grant, artifact) downloads seen in the objects read. */
  downloads: number;
  /** Of those, evidence not stored before (a re-read log object records nothing twice). */
  recorded: number;
  failed: number;
}

/** Grant ids as newGrantId makes them: anything else in a logged URI is no grant of ours. */
const GRANT_ID = /^g-[A-Za-z0-9_-]{16}$/;

/** Successful artifact GETs made with a grant's key, summed per grant and artifact. */
export function downloadsIn(
  records: AccessLogRecord[],
  releaseBucket: string,
): Array<Omit<LogEvidence, 'logObject'>> {
  const byGrant = new Map<string, Omit<LogEvidence, 'logObject'>>();
  for (const r of records) {
    if (r.bucket !== releaseBucket || r.operation !== 'REST.GET.OBJECT' || !r.key) continue;
    if (r.httpStatus !== 200 && r.httpStatus !== 206) continue;
    const grantId = r.requestUri ? parseRequestUri(r.requestUri)?.query[GRANT_QUERY_PARAM] : undefined;
    if (!grantId || !GRANT_ID.test(grantId) || !parseArtifactKey(r.key)) continue;
    const id = `${grantId}\n${r.key}`;
    const at = r.time.toISOString();
    const d = byGrant.get(id) ?? {
      grantId,
      artifactKey: r.key,
      requests: 0,
      bytes: 0,
      whole: false,
      firstAt: at,
      lastAt: at,
      remoteIps: [],
    };
    d.requests++;
    d.bytes += r.bytesSent;
    d.whole ||= r.httpStatus === 200 && r.objectSize !== undefined && r.bytesSent === r.objectSize;
    if (at < d.firstAt) d.firstAt = at;
    if (at > d.lastAt) d.lastAt = at;
    if (r.remoteIp && !d.remoteIps.includes(r.remoteIp)) d.remoteIps.push(r.remoteIp);
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
  const cursor = await ports.evidence.getCursor(source);
  const cursorTime = cursor ? timeOfLogKey(logs.prefix, cursor) : undefined;
  const lookbackMs = (options.lookbackMinutes ?? 60) * 60_000;
  const startAfter = cursorTime
    ? logKeyAt(logs.prefix, new Date(cursorTime.getTime() - lookbackMs))
    : undefined;
  const keys = await logs.list(startAfter, options.maxObjects ?? 500);
  const result: ProcessorResult = { objects: 0, downloads: 0, recorded: 0, failed: 0 };
  let newest = cursor;
  for (const key of keys) {
    result.objects++;
    for (const d of downloadsIn(parseAccessLog(await logs.read(key)), ports.releaseBucket)) {
      result.downloads++;
      try {
        if (await ports.evidence.recordLogEvidence({ ...d, logObject: key })) result.recorded++;
      } catch (error) {
        // Retried while the object is inside the lookback window; stored evidence is never doubled.
        result.failed++;
        ports.log?.('download log evidence not recorded', {
          logObject: key,
          grantId: d.grantId,
          error: String(error),
        });
      }
    }
    if (newest === undefined || key > newest) newest = key;
  }
  if (newest && newest !== cursor) await ports.evidence.setCursor(source, newest);
  return result;
}
