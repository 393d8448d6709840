// POST /announcements and GET /announcements/{announcementId} (admins). The module filter reads
// release manifests from the vendor's bucket (RELEASE_BUCKET_NAME; this function's role is one
// the bucket trusts, cdk/constructs/registry-api.ts).
import { S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import { registryPorts } from '../../../lib/adapters/dynamodb/registry-env.js';
import { ManifestReleaseModules } from '../../../lib/adapters/s3/release-modules.js';
import { S3Releases, s3ClientConfig } from '../../../lib/adapters/s3/releases.js';
import { SqsAnnouncementQueue } from '../../../lib/adapters/sqs/announcement-queue.js';
import { json } from '../../../lib/http/handler.js';
import { route } from '../../../lib/http/input.js';
import { API_INPUTS } from '../../../lib/http/schemas/api.js';
import { announce, announcementStatus } from '../../../lib/registry/announcements.js';
import { routes } from './route.js';

const queueUrl = process.env.QUEUE_URL;
if (!queueUrl) throw new Error('Environment variable QUEUE_URL is not set');
const releaseBucket = process.env.RELEASE_BUCKET_NAME;
if (!releaseBucket) throw new Error('Environment variable RELEASE_BUCKET_NAME is not set');
const ports = {
  ...registryPorts(),
  queue: new SqsAnnouncementQueue(new SQSClient({}), queueUrl),
  modules: new ManifestReleaseModules(new S3Releases(new S3Client(s3ClientConfig()), releaseBucket)),
};

export const handler = routes({
  'POST /announcements': route(API_INPUTS['POST /announcements'], async ({ body }, { caller, headers }) => {
    const { status, body: answer } = await announce(ports, caller, body, headers);
    return json(status, answer);
  }),
  'GET /announcements/{announcementId}': route(
    API_INPUTS['GET /announcements/{announcementId}'],
    async ({ params }, { caller }) =>
      json(200, await announcementStatus(ports, caller, params.announcementId)),
  ),
});
