// The IAM action, resource ARN and condition keys S3 authorises a REST request with (the
// "Amazon S3 actions" page of the S3 user guide). Unknown sub-resources are refused by name
// rather than guessed.
import type { QueryParam } from './query.js';

export interface S3Access {
  action: string;
  resource: string;
  context: Record<string, string>;
}

const OBJECT_SUBRESOURCES: Record<string, Record<string, string>> = {
  tagging: { GET: 's3:GetObjectTagging', PUT: 's3:PutObjectTagging', DELETE: 's3:DeleteObjectTagging' },
  acl: { GET: 's3:GetObjectAcl', PUT: 's3:PutObjectAcl' },
  attributes: { GET: 's3:GetObjectAttributes' },
};

const BUCKET_SUBRESOURCES: Record<string, Record<string, string>> = {
  versions: { GET: 's3:ListBucketVersions' },
  uploads: { GET: 's3:ListBucketMultipartUploads' },
  location: { GET: 's3:GetBucketLocation' },
  policy: { GET: 's3:GetBucketPolicy', PUT: 's3:PutBucketPolicy', DELETE: 's3:DeleteBucketPolicy' },
  logging: { GET: 's3:GetBucketLogging', PUT: 's3:PutBucketLogging' },
  versioning: { GET: 's3:GetBucketVersioning', PUT: 's3:PutBucketVersioning' },
  tagging: { GET: 's3:GetBucketTagging', PUT: 's3:PutBucketTagging' },
  cors: { GET: 's3:GetBucketCORS', PUT: 's3:PutBucketCORS' },
  acl: { GET: 's3:GetBucketAcl', PUT: 's3:PutBucketAcl' },
};

/** The checks for one request; undefined when the request is one the local mapping does not know. */
export function s3Accesses(
  method: string,
  bucket: string | undefined,
  key: string | undefined,
  params: QueryParam[],
  copySource: string | undefined,
): S3Access[] | undefined {
  const m = method.toUpperCase() === 'HEAD' ? 'GET' : method.toUpperCase();
  const names = new Set(params.map((p) => p.name));
  const value = (n: string) => params.find((p) => p.name === n)?.value;
  if (bucket === undefined) return [{ action: 's3:ListAllMyBuckets', resource: '*', context: {} }];
  const bucketArn = `arn:aws:s3:::${bucket}`;
  if (key === undefined) {
    for (const [sub, byMethod] of Object.entries(BUCKET_SUBRESOURCES)) {
      if (names.has(sub)) {
        const action = byMethod[m];
        return action ? [{ action, resource: bucketArn, context: {} }] : undefined;
      }
    }
    if (names.has('delete')) return undefined; // multi-object delete: keys are in the body
    if (m === 'GET') {
      const context: Record<string, string> = {};
      const prefix = value('prefix');
      if (prefix !== undefined) context['s3:prefix'] = prefix;
      const delimiter = value('delimiter');
      if (delimiter !== undefined) context['s3:delimiter'] = delimiter;
      const maxKeys = value('max-keys');
      if (maxKeys !== undefined) context['s3:max-keys'] = maxKeys;
      return [{ action: 's3:ListBucket', resource: bucketArn, context }];
    }
    if (m === 'PUT') return [{ action: 's3:CreateBucket', resource: bucketArn, context: {} }];
    if (m === 'DELETE') return [{ action: 's3:DeleteBucket', resource: bucketArn, context: {} }];
    return undefined;
  }
  const objectArn = `${bucketArn}/${key}`;
  for (const [sub, byMethod] of Object.entries(OBJECT_SUBRESOURCES)) {
    if (names.has(sub)) {
      const action = byMethod[m];
      return action ? [{ action, resource: objectArn, context: {} }] : undefined;
    }
  }
  if (names.has('uploadId')) {
    if (m === 'GET') return [{ action: 's3:ListMultipartUploadParts', resource: objectArn, context: {} }];
    if (m === 'DELETE') return [{ action: 's3:AbortMultipartUpload', resource: objectArn, context: {} }];
    return [{ action: 's3:PutObject', resource: objectArn, context: {} }];
  }
  if (names.has('uploads') || m === 'PUT') {
    const put: S3Access = { action: 's3:PutObject', resource: objectArn, context: {} };
    if (!copySource) return [put];
    const source = decodeURIComponent(copySource.replace(/^\//, '').split('?')[0]!);
    return [{ action: 's3:GetObject', resource: `arn:aws:s3:::${source}`, context: {} }, put];
  }
  if (m === 'GET') {
    return [
      {
        action: names.has('versionId') ? 's3:GetObjectVersion' : 's3:GetObject',
        resource: objectArn,
        context: {},
      },
    ];
  }
  if (m === 'DELETE') return [{ action: 's3:DeleteObject', resource: objectArn, context: {} }];
  return undefined;
}
