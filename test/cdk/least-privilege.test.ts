// Least privilege: every role of the management stack holds exactly the actions its code calls
// (lib/adapters/*), listed here by role; a new grant has to be added here on purpose.
import type { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { type SynthesizedApp, synthApp } from './synth.js';

const READ = ['dynamodb:BatchGetItem', 'dynamodb:GetItem', 'dynamodb:Query'];
const WRITE = ['dynamodb:ConditionCheckItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'];
const JOURNAL = [
  'dynamodb:BatchWriteItem',
  'dynamodb:DeleteItem',
  'dynamodb:PartiQLInsert',
  'dynamodb:PartiQLUpdate',
];
const LOGS = [
  'logs:CreateLogStream',
  'logs:PutLogEvents',
  'xray:PutTelemetryRecords',
  'xray:PutTraceSegments',
];
const MANIFESTS = ['s3:GetObject', 's3:ListBucket'];

/** Role logical-id prefix → the exact action list of its policies. */
const EXPECTED: Record<string, string[]> = {
  WorkflowTasksBudgetLineRole: [...LOGS, ...READ, ...WRITE, 'dynamodb:DeleteItem', 'sqs:SendMessage'],
  WorkflowTasksApprovalRole: [...LOGS, ...READ, ...WRITE, 'ses:SendEmail'],
  // S507's purchase order and S508's key.
  WorkflowTasksConcludeRole: [...LOGS, ...READ, ...WRITE, 'ses:SendEmail', 'sqs:SendMessage', ...MANIFESTS],
  WorkflowApiSubmitRole: [...LOGS, ...READ, ...WRITE, 'states:StartExecution'],
  WorkflowApiReadRole: [...LOGS, ...READ],
  WorkflowApiBudgetRole: [
    ...LOGS,
    ...READ,
    ...WRITE,
    'dynamodb:DeleteItem',
    'sqs:SendMessage',
    'states:SendTaskSuccess',
  ],
  // The page (public) and the decision: what deciding needs, and the wrong-secret alert mail.
  WorkflowApiApprovalsRole: [
    ...LOGS,
    'dynamodb:BatchGetItem',
    'dynamodb:GetItem',
    'dynamodb:UpdateItem',
    'ses:SendEmail',
    'states:SendTaskSuccess',
  ],
  WorkflowApiCloseBudgetBatchesRole: [...LOGS, ...READ, ...WRITE, 'dynamodb:DeleteItem', 'sqs:SendMessage'],
  WorkflowApiCloseScheduleRole: ['lambda:InvokeFunction'],
  // The admins' queue: reads the wait, names the approver (a transaction), mails the link.
  WorkflowApiApprovalQueueRole: [...LOGS, ...READ, ...WRITE, 'ses:SendEmail'],
  // The sweep: lists unresumed decisions (GSI2), hands each over, notes it; nothing else.
  WorkflowApiResumeDecisionsRole: [
    ...LOGS,
    'dynamodb:Query',
    'dynamodb:UpdateItem',
    'states:SendTaskSuccess',
  ],
  WorkflowApiResumeDecisionsScheduleRole: ['lambda:InvokeFunction'],
  // GET /me records the caller in the people directory when their claims change.
  WhoAmIRole: [...LOGS, ...READ, ...WRITE],
  OpenApiRole: [...LOGS],
  RegistryApiReadRole: [...LOGS, ...READ],
  RegistryApiWriteRole: [...LOGS, ...READ, ...WRITE, ...JOURNAL],
  RegistryApiAnnouncementsRole: [...LOGS, ...READ, ...WRITE, 'sqs:SendMessage', ...MANIFESTS],
  RegistryApiAnnouncementDeliveryRole: [
    ...LOGS,
    ...READ,
    ...WRITE,
    'ses:SendEmail',
    'sqs:ChangeMessageVisibility',
    'sqs:DeleteMessage',
    'sqs:GetQueueAttributes',
    'sqs:GetQueueUrl',
    'sqs:ReceiveMessage',
  ],
  DownloadsFreshKeyRole: [...LOGS, ...READ, ...WRITE, ...MANIFESTS],
  DownloadsConfirmationRole: [
    ...LOGS,
    ...READ,
    ...WRITE,
    'dynamodb:DeleteItem',
    'sqs:SendMessage',
    ...MANIFESTS,
  ],
  DownloadsRevokeRole: [...LOGS, ...READ, ...WRITE],
  // Access logs are audit evidence only: it reads them and stores evidence items and its cursor.
  DownloadsEvidenceRole: [...LOGS, 'dynamodb:GetItem', 'dynamodb:PutItem', 's3:GetObject', 's3:ListBucket'],
  DownloadsEvidenceScheduleRole: ['lambda:InvokeFunction'],
  // The deploy step (Custom::DepartmentMigration): reads every client once, re-files respelled ones.
  DepartmentMigrationMigrationRole: [...LOGS, ...READ, ...WRITE, ...JOURNAL, 'dynamodb:Scan'],
  UpdateRequestStateMachineRole: [
    'dynamodb:GetItem',
    'dynamodb:UpdateItem',
    'lambda:InvokeFunction',
    'logs:CreateLogDelivery',
    'logs:DeleteLogDelivery',
    'logs:DescribeLogGroups',
    'logs:DescribeResourcePolicies',
    'logs:GetLogDelivery',
    'logs:ListLogDeliveries',
    'logs:PutResourcePolicy',
    'logs:UpdateLogDelivery',
    'xray:GetSamplingRules',
    'xray:GetSamplingTargets',
    'xray:PutTelemetryRecords',
    'xray:PutTraceSegments',
  ],
};

function actionsByRole(template: Template): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const policy of Object.values(template.findResources('AWS::IAM::Policy'))) {
    const statements = policy.Properties.PolicyDocument.Statement as Array<{ Action: string | string[] }>;
    for (const role of policy.Properties.Roles as Array<{ Ref: string }>) {
      const list = out.get(role.Ref) ?? [];
      for (const s of statements) list.push(...(Array.isArray(s.Action) ? s.Action : [s.Action]));
      out.set(role.Ref, list);
    }
  }
  return out;
}

describe('least privilege', () => {
  let synth: SynthesizedApp;
  beforeAll(() => {
    synth = synthApp();
  });

  it('gives every role of the management stack exactly the actions its code calls', () => {
    const byRole = actionsByRole(synth.managementTemplate);
    const roles = Object.keys(synth.managementTemplate.findResources('AWS::IAM::Role')).filter(
      (id) => !id.startsWith('CustomS3AutoDelete'),
    );
    const seen = new Set<string>();
    for (const roleId of roles) {
      const prefix = Object.keys(EXPECTED).find((p) => roleId.startsWith(p));
      expect(prefix, `a role with no expected action list: ${roleId}`).toBeDefined();
      seen.add(prefix!);
      expect([...new Set(byRole.get(roleId) ?? [])].sort(), roleId).toEqual(
        [...new Set(EXPECTED[prefix!])].sort(),
      );
    }
    expect([...seen].sort()).toEqual(Object.keys(EXPECTED).sort());
  });

  it('grants no Scan (but to the deploy-time migration), DescribeTable, stream read or unused task/queue action', () => {
    const all = [...actionsByRole(synth.managementTemplate).entries()]
      .filter(([role]) => !role.startsWith('DepartmentMigrationMigrationRole'))
      .flatMap(([, actions]) => actions);
    for (const unused of [
      'dynamodb:Scan',
      'dynamodb:DescribeTable',
      'dynamodb:GetRecords',
      'dynamodb:GetShardIterator',
      'states:SendTaskFailure',
      'states:SendTaskHeartbeat',
    ]) {
      expect(all).not.toContain(unused);
    }
  });
});
