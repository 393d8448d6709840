// Raw query handling. One parser is used for verification, forwarding and logging so that all
// three agree on what a parameter's value is (a value split differently in two places would let a
// tampered URL verify with one value and be logged with another).
import { S3Error } from './s3-error.js';

export interface QueryParam {
  /** Exactly as received, e.g. `X-Amz-Credential=AK%2F2026...`. */
  raw: string;
  name: string;
  /** Decoded value; "" for a bare name like `?uploads`. */
  value: string;
}

/** Splits a query string (without the "?") on "&" and each pair on its first "=". */
export function parseQuery(rawQuery: string): QueryParam[] {
  if (rawQuery === '') return [];
  return rawQuery
    .split('&')
    .filter((raw) => raw !== '')
    .map((raw) => {
      const eq = raw.indexOf('=');
      const rawName = eq === -1 ? raw : raw.slice(0, eq);
      const rawValue = eq === -1 ? '' : raw.slice(eq + 1);
      return { raw, name: decode(rawName), value: decode(rawValue) };
    });
}

function decode(component: string): string {
  try {
    return decodeURIComponent(component);
  } catch {
    throw new S3Error('InvalidArgument', `The query string is not correctly URL-encoded: ${component}`, 400);
  }
}

/** Splits a request target into its raw path and raw query. */
export function splitTarget(target: string): { path: string; rawQuery: string } {
  const q = target.indexOf('?');
  return q === -1
    ? { path: target, rawQuery: '' }
    : { path: target.slice(0, q), rawQuery: target.slice(q + 1) };
}

/** Query as the signer wants it: repeated names become arrays. */
export function toSignerQuery(params: QueryParam[]): Record<string, string | string[]> {
  const query: Record<string, string | string[]> = Object.create(null);
  for (const { name, value } of params) {
    const existing = query[name];
    if (existing === undefined) query[name] = value;
    else if (Array.isArray(existing)) existing.push(value);
    else query[name] = [existing, value];
  }
  return query;
}

export function joinQuery(params: QueryParam[]): string {
  return params.map((p) => p.raw).join('&');
}
