// Where the vendor commands find the release bucket, the API and credentials: flags first, then
// environment variables, then the local cloud's endpoints file (npm start writes it).
// Against AWS, credentials and region come from the SDK's usual chain (profile, env, SSO).
import { S3Client } from '@aws-sdk/client-s3';
import { type LocalEndpoints, loadEndpoints } from '../../agent/config.js';
import { AgentError } from '../../agent/errors.js';

export { type LocalEndpoints, loadEndpoints };

export interface Connection {
  s3: S3Client;
  bucket: string;
  api?: string;
}

export function connect(options: { endpoints?: string; bucket?: string; api?: string }): Connection {
  const local = loadEndpoints(options.endpoints);
  const bucket =
    options.bucket ?? process.env.UPMAN_RELEASE_BUCKET ?? local?.outputs?.VendorSiteStack?.ReleaseBucketName;
  if (!bucket) {
    throw new AgentError(
      'usage',
      'No release bucket: pass --bucket, set UPMAN_RELEASE_BUCKET, or start the local cloud (npm start)',
    );
  }
  const s3 = local?.s3
    ? new S3Client({
        endpoint: local.s3,
        region: local.region ?? 'us-east-1',
        forcePathStyle: true,
        ...(local.credentials ? { credentials: local.credentials } : {}),
      })
    : new S3Client({});
  const api = options.api ?? process.env.UPMAN_API ?? local?.api;
  return { s3, bucket, ...(api ? { api: api.replace(/\/$/, '') } : {}) };
}
