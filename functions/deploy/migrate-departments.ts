// A CloudFormation custom resource (cdk/constructs/department-migration.ts): on Create and Update
// it moves every client to its department's first spelling (lib/registry/departments.ts), then
// answers CloudFormation at the event's ResponseURL. The migration is idempotent, so a retried or
// repeated deploy changes nothing; Delete does nothing (the data stays as migrated). Its timeout
// stays within the inventory lease (a change set is taken over only from a dead writer), so it
// stops in time on a very large registry and answers FAILED: the deploy rolls back, and the next
// one continues where this one stopped.
import { Logger } from '@aws-lambda-powertools/logger';
import type { CloudFormationCustomResourceEvent, Context } from 'aws-lambda';
import { registryStore } from '../../lib/adapters/dynamodb/registry-env.js';
import { migrateDepartments } from '../../lib/registry/departments.js';

const logger = new Logger();
const store = registryStore();
const PHYSICAL_ID = 'department-migration';
/** Time kept to answer CloudFormation after the last client. */
const ANSWER_MARGIN_MS = 10_000;

export const handler = async (event: CloudFormationCustomResourceEvent, context: Context): Promise<void> => {
  let answer: { Status: 'SUCCESS' | 'FAILED'; Reason?: string; Data?: Record<string, number> };
  try {
    if (event.RequestType === 'Delete') answer = { Status: 'SUCCESS' };
    else {
      const result = await migrateDepartments(
        store,
        () => context.getRemainingTimeInMillis() < ANSWER_MARGIN_MS,
      );
      logger.info('departments migrated', result);
      answer = result.complete
        ? { Status: 'SUCCESS', Data: { Clients: result.clients, Respelled: result.respelled } }
        : {
            Status: 'FAILED',
            Reason: `Department migration: ${result.respelled} of ${result.clients} clients moved before the time limit; deploy again to continue`,
          };
    }
  } catch (error) {
    logger.error('department migration failed', error as Error);
    // The reason shows in the stack's events; the details stay in this function's log.
    answer = { Status: 'FAILED', Reason: `Department migration failed: ${(error as Error).message}` };
  }
  // The ResponseURL is presigned without a content type: send none, or the signature fails.
  const res = await fetch(event.ResponseURL, {
    method: 'PUT',
    headers: { 'content-type': '' },
    body: JSON.stringify({
      ...answer,
      PhysicalResourceId: PHYSICAL_ID,
      StackId: event.StackId,
      RequestId: event.RequestId,
      LogicalResourceId: event.LogicalResourceId,
    }),
  });
  if (!res.ok) throw new Error(`CloudFormation did not take the answer (${res.status})`);
};
