// The vendor's release bucket through the S3 API: manifests, artifacts, presigned download
// keys (S602: S3 checks the signature, the expiry and the bucket policy), and the server access
// log objects the download processor reads.
import { createReadStream, createWriteStream } from 'node:fs';
import { type Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  NoSuchKey,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { GRANT_QUERY_PARAM, manifestKey, publishLockKey, TUF_PREFIX } from '../../vendor/layout.js';
import { type Artifact, type Manifest, parseManifest } from '../../vendor/manifest.js';
import type { Expected, PublishLock, ReleaseStore } from '../../vendor/publish.js';
import type { ListedMetadataStore, StoredMetadata } from '../../vendor/tuf.js';

/** Custom endpoints (the local cloud, other S3-compatible stores) want path-style addressing. */
export const s3ClientConfig = () => ({
  forcePathStyle: Boolean(process.env.AWS_ENDPOINT_URL_S3),
  // The vendor site may be in another region than the function: keys are signed for the bucket's.
  ...(process.env.RELEASE_BUCKET_REGION ? { region: process.env.RELEASE_BUCKET_REGION } : {}),
});

export interface ManifestReader {
  readManifest(software: string): Promise<Manifest | undefined>;
}

export interface KeySigner {
  /** A presigned GET for `key` carrying the grant id as a signed query parameter. */
  presignGet(key: string, options: { grantId: string; expiresInSeconds: number }): Promise<string>;
}

const isMissing = (error: unknown) =>
  error instanceof NoSuchKey || (error as { name?: string }).name === 'NoSuchKey';
const isAccessDenied = (error: unknown) => (error as { name?: string }).name === 'AccessDenied';

/** The release bucket refused this function (its role or the bucket policy): not "not published". */
export class ReleaseAccessDenied extends Error {
  override name = 'ReleaseAccessDenied';
}

export class S3Releases implements ReleaseStore, ManifestReader, KeySigner, ListedMetadataStore {
  constructor(
    private readonly s3: S3Client,
    readonly bucket: string,
  ) {}

  /**
   * The manifest, or undefined while none is published. Existence is decided by listing the
   * manifest's key (the roles may list manifest keys only): a GetObject of a missing key is 403
   * to a caller without s3:ListBucket, indistinguishable from a refusal.
   */
  async readManifest(software: string): Promise<Manifest | undefined> {
    const key = manifestKey(software);
    try {
      const listed = await this.s3.send(
        new ListObjectsV2Command({ Bucket: this.bucket, Prefix: key, MaxKeys: 1 }),
      );
      if (!(listed.Contents ?? []).some((o) => o.Key === key)) return undefined;
      const res = await this.s3.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
      return parseManifest(await res.Body!.transformToString('utf8'), software);
    } catch (error) {
      // Deleted between the listing and the read: not published (any more).
      if (isMissing(error)) return undefined;
      if (isAccessDenied(error)) {
        throw new ReleaseAccessDenied(
          `The release bucket ${this.bucket} refused reading ${key}: ${(error as Error).message}`,
        );
      }
      throw error;
    }
  }

  async readManifestForUpdate(
    software: string,
  ): Promise<{ manifest: Manifest | undefined; etag: string | null }> {
    try {
      const res = await this.s3.send(
        new GetObjectCommand({ Bucket: this.bucket, Key: manifestKey(software) }),
      );
      return {
        manifest: parseManifest(await res.Body!.transformToString('utf8'), software),
        etag: res.ETag ?? null,
      };
    } catch (error) {
      if (isMissing(error)) return { manifest: undefined, etag: null };
      throw error;
    }
  }

  async uploadArtifact(
    artifact: Artifact,
    file: string,
    onProgress?: (sent: number) => void,
  ): Promise<{ versionId?: string }> {
    // Counted as the SDK reads the file: what has gone to the socket, near enough for a bar.
    let sent = 0;
    const body = createReadStream(file).pipe(
      new Transform({
        transform(chunk: Buffer, _enc, done) {
          sent += chunk.length;
          onProgress?.(sent);
          done(null, chunk);
        },
      }),
    );
    const res = await this.s3.send(
      new PutObjectCommand({
        Bucket: this.bucket,
        Key: artifact.key,
        Body: body,
        ContentLength: artifact.size,
        ContentType: artifact.kind === 'full' ? 'application/gzip' : 'application/octet-stream',
        // S3 checks the bytes it stored against the SHA-256 the manifest will list.
        ChecksumSHA256: Buffer.from(artifact.sha256, 'hex').toString('base64'),
        Metadata: { sha256: artifact.sha256 },
      }),
    );
    return res.VersionId ? { versionId: res.VersionId } : {};
  }

  async writeManifest(manifest: Manifest, expected: Expected): Promise<boolean> {
    return this.putIf(manifestKey(manifest.software), `${JSON.stringify(manifest, null, 2)}\n`, expected);
  }

  async writePublishLock(software: string, lock: PublishLock, expected: Expected): Promise<boolean> {
    return this.putIf(publishLockKey(software), JSON.stringify(lock), expected);
  }

  async readPublishLock(software: string): Promise<({ lock: PublishLock } & Expected) | undefined> {
    try {
      const res = await this.s3.send(
        new GetObjectCommand({ Bucket: this.bucket, Key: publishLockKey(software) }),
      );
      return {
        lock: JSON.parse(await res.Body!.transformToString('utf8')) as PublishLock,
        etag: res.ETag ?? null,
      };
    } catch (error) {
      if (isMissing(error)) return undefined;
      throw error;
    }
  }

  async deletePublishLock(software: string): Promise<void> {
    await this.s3.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: publishLockKey(software) }));
  }

  /** A conditional PUT (If-None-Match: * for "absent", If-Match: <etag>); false when S3 says the condition failed. */
  private async putIf(key: string, body: string, expected: Expected): Promise<boolean> {
    try {
      await this.s3.send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key: key,
          Body: body,
          ContentType: 'application/json',
          CacheControl: 'no-cache',
          ...(expected.etag === null ? { IfNoneMatch: '*' } : { IfMatch: expected.etag }),
        }),
      );
      return true;
    } catch (error) {
      const name = (error as { name?: string }).name;
      // 409 ConditionalRequestConflict: a concurrent conditional write of the key is in flight.
      if (name === 'PreconditionFailed' || name === 'ConditionalRequestConflict' || isMissing(error))
        return false;
      throw error;
    }
  }

  async deleteArtifact(key: string, versionId?: string): Promise<void> {
    await this.s3.send(
      new DeleteObjectCommand({
        Bucket: this.bucket,
        Key: key,
        ...(versionId ? { VersionId: versionId } : {}),
      }),
    );
  }

  async readMetadata(name: string): Promise<StoredMetadata | undefined> {
    try {
      const res = await this.s3.send(
        new GetObjectCommand({ Bucket: this.bucket, Key: `${TUF_PREFIX}${name}` }),
      );
      return { body: await res.Body!.transformToString('utf8'), etag: res.ETag ?? '' };
    } catch (error) {
      if (isMissing(error)) return undefined;
      throw error;
    }
  }

  /**
   * The site's root version, for the key's metadata URLs. A missing root.json is 403 to the key
   * issuer (it may list manifests only): either way the site signs nothing the client could check,
   * and a client with a pinned root refuses such a key.
   */
  async currentRootVersion(): Promise<number | undefined> {
    let stored: StoredMetadata | undefined;
    try {
      stored = await this.readMetadata('root.json');
    } catch (error) {
      if (isAccessDenied(error)) return undefined;
      throw error;
    }
    const version = stored && (JSON.parse(stored.body) as { signed?: { version?: unknown } }).signed?.version;
    return typeof version === 'number' && Number.isSafeInteger(version) && version >= 1 ? version : undefined;
  }

  /** By a listing of the key: a read of a missing key is 403 to a role without s3:ListBucket. */
  async metadataExists(name: string): Promise<boolean> {
    const key = `${TUF_PREFIX}${name}`;
    const listed = await this.s3.send(
      new ListObjectsV2Command({ Bucket: this.bucket, Prefix: key, MaxKeys: 1 }),
    );
    return (listed.Contents ?? []).some((o) => o.Key === key);
  }

  async writeMetadata(name: string, body: string, expected: Expected): Promise<boolean> {
    return this.putIf(`${TUF_PREFIX}${name}`, body, expected);
  }

  async downloadArtifact(key: string, file: string): Promise<void> {
    const res = await this.s3.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
    await pipeline(res.Body as Readable, createWriteStream(file));
  }

  async presignGet(key: string, options: { grantId: string; expiresInSeconds: number }): Promise<string> {
    // No response-header overrides (e.g. a file name): plain GETs keep the URL short, and the
    // agent names the file itself.
    const command = new GetObjectCommand({ Bucket: this.bucket, Key: key });
    // Added before signing (build step), so the grant id is covered by the signature and shows
    // up in S3's access log request-URI (the signature itself is redacted there).
    command.middlewareStack.add(
      (next) => async (args) => {
        (args.request as { query: Record<string, string> }).query[GRANT_QUERY_PARAM] = options.grantId;
        return next(args);
      },
      { step: 'build', name: 'upmanGrantQuery' },
    );
    return getSignedUrl(this.s3, command, { expiresIn: options.expiresInSeconds });
  }

  async signingSessionEnds(): Promise<Date | undefined> {
    const credentials = await this.s3.config.credentials();
    return credentials.expiration;
  }
}

/** Server access log objects in the log bucket (the download processor's input). */
export class S3AccessLogs {
  constructor(
    private readonly s3: S3Client,
    readonly bucket: string,
    readonly prefix: string,
  ) {}

  async list(startAfter: string | undefined, limit: number): Promise<string[]> {
    const keys: string[] = [];
    let token: string | undefined;
    do {
      const res = await this.s3.send(
        new ListObjectsV2Command({
          Bucket: this.bucket,
          Prefix: this.prefix,
          ...(token ? { ContinuationToken: token } : startAfter ? { StartAfter: startAfter } : {}),
          MaxKeys: Math.min(1000, limit - keys.length),
        }),
      );
      for (const o of res.Contents ?? []) if (o.Key) keys.push(o.Key);
      token = res.IsTruncated ? res.NextContinuationToken : undefined;
    } while (token && keys.length < limit);
    return keys;
  }

  async read(key: string): Promise<string> {
    const res = await this.s3.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
    return res.Body!.transformToString('utf8');
  }
}
