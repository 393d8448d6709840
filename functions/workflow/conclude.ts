// The ends of a request: S508 (grant, key, mail), S509 (rejection mail), expired, failed.

import { peopleStore } from '../../lib/adapters/dynamodb/people-env.js';
import { concludeRequest, type OutcomeInput } from '../../lib/workflow/outcomes.js';
import {
  clock,
  keyIssuer,
  ledgerStore,
  licenceStore,
  mailer,
  purchaseOrderQueue,
  workflowStore,
} from './deps.js';

const ports = {
  requests: workflowStore(),
  budget: workflowStore(),
  ledger: ledgerStore(),
  orders: purchaseOrderQueue(),
  licences: licenceStore(),
  mailer: mailer(),
  keys: keyIssuer(),
  clock,
  people: peopleStore(),
};

export const handler = async (event: OutcomeInput) => concludeRequest(ports, event);
