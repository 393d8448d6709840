// GET and HEAD /approvals/{id}?k=… (public): the page behind a mailed link; it shows the request
// and whom the link is for, and changes nothing (mail scanners prefetch links, some run scripts).
// GET /signed-in (public): the issuer's redirect URI, where the page's script finishes signing in.
// POST /approvals/{id}/decision (JWT): the one decision, by the signed-in approver or delegate
// holding the link's secret. `k` and tokens are never logged.
import { Logger } from '@aws-lambda-powertools/logger';
import middy from '@middy/core';
import type { APIGatewayProxyEventV2WithJWTAuthorizer, APIGatewayProxyResultV2 } from 'aws-lambda';
import { peopleStore } from '../../../lib/adapters/dynamodb/people-env.js';
import { AppError } from '../../../lib/errors.js';
import { decode, encode, errorResponse, json } from '../../../lib/http/handler.js';
import { browserSignIn, signInFromEnv, signInPageCsp } from '../../../lib/http/sign-in.js';
import { recipientsOf } from '../../../lib/mail/delivery.js';
import { DisplayNameCache } from '../../../lib/people/name-cache.js';
import {
  approvalPage,
  PAGE_HEADERS,
  refusedPage,
  signedInPage,
  throttledPage,
} from '../../../lib/workflow/approval-pages.js';
import {
  decide,
  LinkThrottled,
  mailSecretMissAlerts,
  viewApproval,
} from '../../../lib/workflow/approvals.js';
import { callbacks, clock, mailer, settings, workflowStore } from '../../workflow/deps.js';
import { approvalPageScript } from './page-script.js';

const logger = new Logger();
const directory = peopleStore();
const ports = {
  approvals: workflowStore(),
  requests: workflowStore(),
  callbacks: callbacks(),
  clock,
  // Wrong link secrets past the threshold: the approver and the admins are mailed.
  alerts: mailSecretMissAlerts({
    mailer: mailer(),
    people: directory,
    adminAddresses: (process.env.ADMIN_ALERT_ADDRESSES ?? '').split(',').filter((a) => a !== ''),
  }),
};
// Names only: a minute-old display name is fine on a page, a directory read per view is not.
const people = new DisplayNameCache(directory);
const signInSettings = signInFromEnv();
const signIn = { config: browserSignIn(signInSettings, settings().apiUrl), script: approvalPageScript };
const SCRIPT_PAGE_HEADERS = {
  ...PAGE_HEADERS,
  'content-security-policy': signInPageCsp(approvalPageScript, signInSettings),
};

/** Display names for the page, from the directory (cached per container). */
async function namesOf(...keys: string[]) {
  const found = await recipientsOf(people, keys);
  return (key: string) => found.get(key)?.name ?? key;
}

function page(
  statusCode: number,
  body: string,
  head: boolean,
  headers: Record<string, string> = PAGE_HEADERS,
): APIGatewayProxyResultV2 {
  return { statusCode, headers, ...(head ? {} : { body }) };
}

async function decision(event: APIGatewayProxyEventV2WithJWTAuthorizer): Promise<APIGatewayProxyResultV2> {
  const id = event.pathParameters?.id ?? '';
  try {
    const request = decode(event);
    const {
      decision,
      request: decided,
      resumed,
    } = await decide(ports, id, request.body, request.caller, event.requestContext.http.sourceIp);
    logger.info('decision recorded', { requestId: decided.requestId, decision: decision.decision, resumed });
    const verb = decision.decision === 'approve' ? 'approved' : 'rejected';
    const nameOf = await namesOf(decided.requester);
    return encode(
      json(200, {
        requestId: decided.requestId,
        decision: decision.decision,
        decidedBy: decision.decidedBy,
        decidedAt: decision.decidedAt,
        resumed,
        message: `Recorded: you ${verb} ${decided.software} ${decided.targetVersion} for ${nameOf(decided.requester)}.${
          resumed ? '' : ' The request continues as soon as its workflow picks the decision up.'
        }`,
      }),
    );
  } catch (error) {
    if (error instanceof AppError && error.statusCode < 500) {
      logger.info('decision refused', { approvalId: id.slice(0, 40), status: error.statusCode });
    }
    const answer = errorResponse(error);
    return error instanceof LinkThrottled
      ? {
          ...(answer as object),
          headers: {
            ...(answer as { headers?: object }).headers,
            'retry-after': String(error.retryAfterSeconds),
          },
        }
      : answer;
  }
}

export const handler = middy<APIGatewayProxyEventV2WithJWTAuthorizer, APIGatewayProxyResultV2>().handler(
  async (event) => {
    if (event.routeKey === 'POST /approvals/{id}/decision') return decision(event);
    const method = event.requestContext.http.method;
    const head = method === 'HEAD';
    if (event.routeKey === 'GET /signed-in')
      return page(200, signedInPage(signIn), head, SCRIPT_PAGE_HEADERS);
    const id = event.pathParameters?.id ?? '';
    const k = event.queryStringParameters?.k;
    try {
      const { link, request } = await viewApproval(ports, id, k, {
        sourceAddress: event.requestContext.http.sourceIp,
      });
      const nameOf = await namesOf(request.requester, link.issuedTo);
      return page(200, approvalPage(link, request, k ?? '', nameOf, signIn), head, SCRIPT_PAGE_HEADERS);
    } catch (error) {
      if (error instanceof LinkThrottled) {
        // Slowed down, not locked out: the page still lets the person the link is for sign in and decide.
        logger.info('approval link throttled', {
          approvalId: id.slice(0, 40),
          retryAfter: error.retryAfterSeconds,
        });
        const holder = await namesOf(error.link.issuedTo);
        return page(429, throttledPage(error.link, k ?? '', error.message, holder, signIn), head, {
          ...SCRIPT_PAGE_HEADERS,
          'retry-after': String(error.retryAfterSeconds),
        });
      }
      if (error instanceof AppError && error.statusCode < 500) {
        logger.info('approval link refused', {
          approvalId: id.slice(0, 40),
          status: error.statusCode,
          method,
        });
        return page(error.statusCode, refusedPage(error.statusCode, error.message), head);
      }
      logger.error('approval page failed', { error: error as Error });
      return page(500, refusedPage(500, 'Something went wrong on our side. Try again in a minute.'), head);
    }
  },
);
