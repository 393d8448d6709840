// The access log's operation field: REST.<METHOD>.<resource type>, named as S3 names them.
const BUCKET_SUBRESOURCES: Record<string, string> = {
  acl: 'ACL',
  cors: 'CORS',
  delete: 'MULTI_OBJECT_DELETE',
  encryption: 'ENCRYPTION',
  lifecycle: 'LIFECYCLE',
  location: 'LOCATION',
  logging: 'LOGGING_STATUS',
  notification: 'NOTIFICATION',
  policy: 'BUCKETPOLICY',
  publicAccessBlock: 'PUBLIC_ACCESS_BLOCK',
  tagging: 'TAGGING',
  uploads: 'UPLOADS',
  versioning: 'VERSIONING',
  versions: 'BUCKETVERSIONS',
  website: 'WEBSITE',
};

export function operationName(
  method: string,
  key: string | undefined,
  queryNames: ReadonlySet<string>,
  copySource: boolean,
): string {
  const m = method.toUpperCase();
  if (key === undefined) {
    const sub = Object.keys(BUCKET_SUBRESOURCES).find((name) => queryNames.has(name));
    return `REST.${m}.${sub ? BUCKET_SUBRESOURCES[sub] : 'BUCKET'}`;
  }
  if (queryNames.has('uploads')) return `REST.${m}.UPLOADS`;
  if (queryNames.has('uploadId')) {
    if (m === 'PUT') return copySource ? 'REST.COPY.PART' : 'REST.PUT.PART';
    return `REST.${m}.UPLOAD`;
  }
  if (queryNames.has('acl')) return `REST.${m}.ACL`;
  if (queryNames.has('tagging')) return `REST.${m}.OBJECT_TAGGING`;
  if (m === 'PUT' && copySource) return 'REST.COPY.OBJECT';
  return `REST.${m}.OBJECT`;
}
