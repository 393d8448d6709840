// GET, HEAD and POST /approvals/{id}: public routes (no JWT: the link's secret `k` authorises).
// GET and HEAD only show the page (mail scanners prefetch links); POST decides, once. Pages
// are HTML; a refused link gets a page saying why and a 4xx status. `k` is never logged.
import { Logger } from '@aws-lambda-powertools/logger';
import middy from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2 } from 'aws-lambda';
import { peopleStore } from '../../../lib/adapters/dynamodb/people-env.js';
import { AppError } from '../../../lib/errors.js';
import { recipientsOf } from '../../../lib/mail/delivery.js';
import { DisplayNameCache } from '../../../lib/people/name-cache.js';
import {
  approvalPage,
  decidedPage,
  PAGE_HEADERS,
  refusedPage,
} from '../../../lib/workflow/approval-pages.js';
import { decide, viewApproval } from '../../../lib/workflow/approvals.js';
import { callbacks, clock, workflowStore } from '../../workflow/deps.js';

const logger = new Logger();
const ports = { approvals: workflowStore(), requests: workflowStore(), callbacks: callbacks(), clock };
// Names only: a minute-old display name is fine on a page, a directory read per view is not.
const people = new DisplayNameCache(peopleStore());

/** Display names for the page, from the directory (cached per container). */
async function namesOf(...keys: string[]) {
  const found = await recipientsOf(people, keys);
  return (key: string) => found.get(key)?.name ?? key;
}

function page(statusCode: number, body: string, head: boolean): APIGatewayProxyResultV2 {
  return { statusCode, headers: PAGE_HEADERS, ...(head ? {} : { body }) };
}

function formOf(event: APIGatewayProxyEventV2): Record<string, string> {
  if (!event.body) return {};
  const raw = event.isBase64Encoded ? Buffer.from(event.body, 'base64').toString('utf8') : event.body;
  return Object.fromEntries(new URLSearchParams(raw));
}

export const handler = middy<APIGatewayProxyEventV2, APIGatewayProxyResultV2>().handler(async (event) => {
  const method = event.requestContext.http.method;
  const head = method === 'HEAD';
  const id = event.pathParameters?.id ?? '';
  const k = event.queryStringParameters?.k;
  try {
    if (method === 'POST') {
      const type = (event.headers?.['content-type'] ?? '').toLowerCase();
      if (!type.startsWith('application/x-www-form-urlencoded')) {
        return page(415, refusedPage(415, 'Send the form from the approval page.'), false);
      }
      const { decision, request, resumed } = await decide(ports, id, k, formOf(event));
      logger.info('decision recorded', {
        requestId: request.requestId,
        decision: decision.decision,
        resumed,
      });
      const nameOf = await namesOf(request.requester, decision.decidedBy);
      return page(200, decidedPage(decision, request, resumed, nameOf), false);
    }
    const { link, request } = await viewApproval(ports, id, k);
    const nameOf = await namesOf(request.requester, link.issuedTo);
    return page(200, approvalPage(link, request, k ?? '', nameOf), head);
  } catch (error) {
    if (error instanceof AppError && error.statusCode < 500) {
      logger.info('approval link refused', { approvalId: id.slice(0, 40), status: error.statusCode, method });
      return page(error.statusCode, refusedPage(error.statusCode, error.message), head);
    }
    logger.error('approval page failed', { error: error as Error });
    return page(500, refusedPage(500, 'Something went wrong on our side. Try again in a minute.'), head);
  }
});
