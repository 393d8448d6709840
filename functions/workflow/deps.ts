// The workflow's ports for one Lambda function, from its environment (set by the workflow
// constructs through AppFunction.bind*). Each getter reads only what it needs, and a missing
// setting fails by name. Clients are created once per container.
import { sharedDocumentClient } from '../../lib/adapters/dynamodb/client.js';
import { DynamoLedgerStore } from '../../lib/adapters/dynamodb/ledger-store.js';
import { DynamoLicenceStore } from '../../lib/adapters/dynamodb/licence-store.js';
import { DynamoRegistryStore } from '../../lib/adapters/dynamodb/registry-store.js';
import { DynamoSubmissionReads } from '../../lib/adapters/dynamodb/submission-reads.js';
import { DynamoWorkflowStore } from '../../lib/adapters/dynamodb/workflow-store.js';
import { mailerFromEnv } from '../../lib/adapters/ses-mailer.js';
import { SfnExecutions, SfnTaskCallbacks, sfnClient } from '../../lib/adapters/sfn.js';
import { SqsMessageQueue, sqsClient } from '../../lib/adapters/sqs-queue.js';
import type { KeyIssuer } from '../../lib/ports/key-issuer.js';
import type { BatchSchedule } from '../../lib/workflow/budget.js';
import { type PolicyConfig, parsePolicyConfig } from '../../lib/workflow/policy.js';
import type { Clock, WorkflowSettings } from '../../lib/workflow/ports.js';
import { workflowKeyIssuer } from './key-issuer.js';

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`Environment variable ${name} is not set`);
  return value;
}

function seconds(name: string): number {
  const n = Number(required(name));
  if (!Number.isInteger(n) || n < 1)
    throw new Error(`Environment variable ${name} must be a whole number of seconds`);
  return n;
}

const clock: Clock = { now: () => new Date() };

let store: DynamoWorkflowStore | undefined;
let ledger: DynamoLedgerStore | undefined;
let licences: DynamoLicenceStore | undefined;
let policyConfig: PolicyConfig | undefined;
let registry: DynamoRegistryStore | undefined;

export const workflowStore = () => {
  store ??= new DynamoWorkflowStore(sharedDocumentClient(), required('TABLE_NAME'));
  return store;
};
export const ledgerStore = () => {
  ledger ??= new DynamoLedgerStore(sharedDocumentClient(), required('TABLE_NAME'));
  return ledger;
};
export const licenceStore = () => {
  licences ??= new DynamoLicenceStore(sharedDocumentClient(), required('TABLE_NAME'));
  return licences;
};
/** The stage's purchase policy (cdk/config.ts `policy`), parsed once; a bad value fails by name. */
export const policy = (): PolicyConfig => {
  if (policyConfig) return policyConfig;
  try {
    policyConfig = parsePolicyConfig(JSON.parse(required('POLICY')));
  } catch (e) {
    throw new Error(`Environment variable POLICY is not a valid policy: ${(e as Error).message}`);
  }
  return policyConfig;
};
export const submissionReads = () =>
  new DynamoSubmissionReads(sharedDocumentClient(), required('TABLE_NAME'));
export const registryStore = () => {
  registry ??= new DynamoRegistryStore(sharedDocumentClient(), required('TABLE_NAME'));
  return registry;
};
export const mailer = () => mailerFromEnv();
export const executions = () => new SfnExecutions(sfnClient(), required('STATE_MACHINE_ARN'));
export const callbacks = () => new SfnTaskCallbacks(sfnClient());
export const budgetQueue = () => new SqsMessageQueue(sqsClient(), required('BUDGET_QUEUE_URL'));
export const purchaseOrderQueue = () =>
  new SqsMessageQueue(sqsClient(), required('PURCHASE_ORDER_QUEUE_URL'));
export const keyIssuer = (): KeyIssuer => workflowKeyIssuer();

export function settings(): WorkflowSettings {
  return {
    apiUrl: required('API_URL'),
    approval: {
      reminderSeconds: seconds('APPROVAL_REMINDER_SECONDS'),
      escalationSeconds: seconds('APPROVAL_ESCALATION_SECONDS'),
      expirySeconds: seconds('APPROVAL_EXPIRY_SECONDS'),
    },
    maxLinesPerBatch: Number(process.env.BUDGET_MAX_LINES_PER_BATCH ?? 500),
  };
}

export function budgetSchedule(): BatchSchedule {
  const s = required('BUDGET_SCHEDULE');
  if (s !== 'immediate' && s !== 'daily' && s !== 'weekly') throw new Error(`BUDGET_SCHEDULE is ${s}`);
  return s;
}

/** Ports of the budget use cases (S502/S503). */
export function budgetPorts() {
  return {
    budget: workflowStore(),
    requests: workflowStore(),
    queue: budgetQueue(),
    callbacks: callbacks(),
    clock,
    maxLinesPerBatch: Number(process.env.BUDGET_MAX_LINES_PER_BATCH ?? 500),
    apiUrl: required('API_URL'),
    ledger: ledgerStore(),
    policy: policy(),
  };
}

export { clock };
