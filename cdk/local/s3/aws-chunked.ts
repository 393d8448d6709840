// Decoder for aws-chunked bodies with unsigned chunks (x-amz-content-sha256:
// STREAMING-UNSIGNED-PAYLOAD-TRAILER), which the SDK sends for PutObject/UploadPart with a
// stream body:  <hex size>[;ext]\r\n<bytes>\r\n ... 0\r\n<name>:<value>\r\n\r\n
// s3rver knows nothing of this framing, so the proxy decodes before forwarding.
import { Transform, type TransformCallback } from 'node:stream';
import { S3Error } from './s3-error.js';

const MAX_LINE = 4096;
const CRLF = Buffer.from('\r\n');

type State = 'size' | 'data' | 'data-end' | 'trailer' | 'done';

export class AwsChunkedDecoder extends Transform {
  /** Trailer fields (lower-case names) once the body has ended. */
  readonly trailers = new Map<string, string>();
  decodedLength = 0;
  private state: State = 'size';
  private pending: Buffer = Buffer.alloc(0);
  private remaining = 0;

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    try {
      this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
      this.consume();
      callback();
    } catch (error) {
      callback(error as Error);
    }
  }

  override _flush(callback: TransformCallback): void {
    if (this.state !== 'done') {
      callback(
        new S3Error('IncompleteBody', 'The aws-chunked request body ended before its final chunk.', 400),
      );
      return;
    }
    callback();
  }

  private consume(): void {
    while (this.pending.length > 0) {
      if (this.state === 'data') {
        const take = Math.min(this.remaining, this.pending.length);
        this.push(this.pending.subarray(0, take));
        this.pending = this.pending.subarray(take);
        this.remaining -= take;
        this.decodedLength += take;
        if (this.remaining === 0) this.state = 'data-end';
        continue;
      }
      if (this.state === 'done') throw malformed('data after the end of the aws-chunked body');
      const line = this.takeLine();
      if (line === undefined) return;
      if (this.state === 'data-end') {
        if (line !== '') throw malformed('a chunk is longer than its declared size');
        this.state = 'size';
      } else if (this.state === 'size') {
        const sizeText = line.split(';', 1)[0]!.trim();
        if (!/^[0-9a-fA-F]{1,16}$/.test(sizeText)) throw malformed(`invalid chunk size "${sizeText}"`);
        this.remaining = Number.parseInt(sizeText, 16);
        this.state = this.remaining === 0 ? 'trailer' : 'data';
      } else if (this.state === 'trailer') {
        if (line === '') {
          this.state = 'done';
          continue;
        }
        const colon = line.indexOf(':');
        if (colon <= 0) throw malformed(`invalid trailer line "${line}"`);
        this.trailers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
      }
    }
  }

  /** The next CRLF-terminated line, or undefined if more input is needed. */
  private takeLine(): string | undefined {
    const end = this.pending.indexOf(CRLF);
    if (end === -1) {
      if (this.pending.length > MAX_LINE) throw malformed('a chunk header or trailer line is too long');
      return undefined;
    }
    const line = this.pending.subarray(0, end).toString('latin1');
    this.pending = this.pending.subarray(end + 2);
    return line;
  }
}

const malformed = (why: string) => new S3Error('InvalidRequest', `Malformed aws-chunked body: ${why}.`, 400);
