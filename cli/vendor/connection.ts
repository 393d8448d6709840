// Where the vendor commands find the release bucket, the API and credentials: flags first, then
// environment variables, then the local cloud's .local/endpoints.json (npm start writes it).
// Against AWS, credentials and region come from the SDK's usual chain (profile, env, SSO).
import { existsSync, readFileSync } from 'node:fs';
import { S3Client } from '@aws-sdk/client-s3';

export interface LocalEndpoints {
  api?: string;
  s3?: string;
  region?: string;
  credentials?: { accessKeyId: string; secretAccessKey: string };
  outputs?: Record<string, Record<string, string>>;
}

export const DEFAULT_ENDPOINTS_FILE = '.local/endpoints.json';

export function loadEndpoints(file: string | undefined): LocalEndpoints | undefined {
  const path = file ?? (existsSync(DEFAULT_ENDPOINTS_FILE) ? DEFAULT_ENDPOINTS_FILE : undefined);
  if (!path) return undefined;
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as LocalEndpoints;
  } catch (error) {
    throw new Error(`Cannot read the endpoints file ${path}: ${(error as Error).message}`);
  }
}

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
    throw new Error(
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
  const api = options.api ?? process.env.UPMAN_API_URL ?? local?.api;
  return { s3, bucket, ...(api ? { api: api.replace(/\/$/, '') } : {}) };
}
