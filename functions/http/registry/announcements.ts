// POST /announcements and GET /announcements/{announcementId} (admins).
import { SQSClient } from '@aws-sdk/client-sqs';
import { registryPorts } from '../../../lib/adapters/dynamodb/registry-env.js';
import { SqsAnnouncementQueue } from '../../../lib/adapters/sqs/announcement-queue.js';
import { json } from '../../../lib/http/handler.js';
import { announce, announcementStatus } from '../../../lib/registry/announcements.js';
import { routes } from './route.js';

const queueUrl = process.env.QUEUE_URL;
if (!queueUrl) throw new Error('Environment variable QUEUE_URL is not set');
const ports = { ...registryPorts(), queue: new SqsAnnouncementQueue(new SQSClient({}), queueUrl) };

export const handler = routes({
  'POST /announcements': async ({ caller, body }) => {
    const { status, body: answer } = await announce(ports, caller, body);
    return json(status, answer);
  },
  'GET /announcements/{announcementId}': async ({ caller, pathParameters: p }) =>
    json(200, await announcementStatus(ports, caller, p.announcementId!)),
});
