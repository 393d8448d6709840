// Opaque page cursors: base64url(JSON of the store's position) + "." + HMAC-SHA256 over the
// query it belongs to and that payload. A cursor changed by one byte, or used with another
// query (another software, sort or range), is answered 400 naming `cursor`.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { BadRequest } from '../errors.js';

const MAX_CURSOR_LENGTH = 4096;

/** A position in a listing, as the store gives it: JSON data only the store interprets. */
export type PageState = Record<string, unknown>;

export interface CursorCodec {
  encode(query: string, state: PageState | undefined): string | undefined;
  decode(query: string, cursor: string | undefined): PageState | undefined;
}

export function createCursorCodec(secret: string): CursorCodec {
  if (secret.length < 16) throw new Error('The cursor key must be at least 16 characters');
  const sign = (query: string, payload: string) =>
    createHmac('sha256', secret).update(query).update('\n').update(payload).digest();
  return {
    encode(query, state) {
      if (state === undefined) return undefined;
      const payload = Buffer.from(JSON.stringify(state)).toString('base64url');
      return `${payload}.${sign(query, payload).toString('base64url')}`;
    },
    decode(query, cursor) {
      if (cursor === undefined || cursor === '') return undefined;
      const invalid = () => new BadRequest('cursor is not a cursor this listing gave out', 'cursor');
      if (cursor.length > MAX_CURSOR_LENGTH) throw invalid();
      const [payload, mac, ...rest] = cursor.split('.');
      if (!payload || !mac || rest.length > 0 || !/^[A-Za-z0-9_-]+$/.test(payload + mac)) throw invalid();
      const given = Buffer.from(mac, 'base64url');
      const expected = sign(query, payload);
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw invalid();
      let state: unknown;
      try {
        state = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
      } catch {
        throw invalid();
      }
      if (typeof state !== 'object' || state === null || Array.isArray(state)) throw invalid();
      return state as PageState;
    },
  };
}
