// A CloudFormation custom resource (cdk/constructs/department-migration.ts): on Create and Update
// it moves every client to its department's first spelling (lib/registry/departments.ts), then
// answers CloudFormation at the event's ResponseURL. The migration is idempotent, so a retried or
// repeated deploy changes nothing; Delete does nothing (the data stays as migrated).
import { Logger } from '@aws-lambda-powertools/logger';
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import { registryStore } from '../../lib/adapters/dynamodb/registry-env.js';
import { migrateDepartments } from '../../lib/registry/departments.js';

const logger = new Logger();
const store = registryStore();
const PHYSICAL_ID = 'department-migration';

export const handler = async (event: CloudFormationCustomResourceEvent): Promise<void> => {
  let answer: { Status: 'SUCCESS' | 'FAILED'; Reason?: string; Data?: Record<string, number> };
  try {
    if (event.RequestType === 'Delete') answer = { Status: 'SUCCESS' };
    else {
      const result = await migrateDepartments(store);
      logger.info('departments migrated', result);
      answer = { Status: 'SUCCESS', Data: { Clients: result.clients, Respelled: result.respelled } };
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
