// S505 task (lambda:invoke.waitForTaskToken), once per phase (initial, reminder, escalation):
// stores the token, issues the links, mails them.

import { peopleStore } from '../../lib/adapters/dynamodb/people-env.js';
import { type ApprovalTaskInput, openApprovalPhase } from '../../lib/workflow/approvals.js';
import { callbacks, clock, mailer, registryStore, settings, workflowStore } from './deps.js';

const ports = {
  approvals: workflowStore(),
  requests: workflowStore(),
  callbacks: callbacks(),
  mailer: mailer(),
  clock,
  settings: settings(),
  approvers: registryStore(),
  people: peopleStore(),
};

export const handler = async (event: ApprovalTaskInput) => openApprovalPhase(ports, event);
