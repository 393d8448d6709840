// The workflow's HTTP routes (requests, budget batches, approval pages) and the schedule that
// closes budget batches (S502: immediate | daily | weekly).
import { Duration, type RemovalPolicy } from 'aws-cdk-lib';
import type { ITableV2 } from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import type { IStateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import type { BudgetBatchSchedule, StageConfig } from '../config.js';
import { AppFunction, TABLE_DELETE, TABLE_READ, TABLE_WRITE } from './app-function.js';
import type { UpmanHttpApi } from './http-api.js';
import { workflowEnvironment } from './workflow-tasks.js';

export interface WorkflowApiProps {
  api: UpmanHttpApi;
  table: ITableV2;
  stateMachine: IStateMachine;
  budgetQueue: IQueue;
  schedule: BudgetBatchSchedule;
  approval: StageConfig['approval'];
  policy: StageConfig['policy'];
  logRetentionDays: number;
  removalPolicy: RemovalPolicy;
}

/** When a batch closes (UTC). "immediate" closes as each line is filed; the rate is a safety net. */
export const BATCH_CLOSE_EXPRESSIONS: Record<BudgetBatchSchedule, string> = {
  immediate: 'rate(5 minutes)',
  daily: 'cron(0 17 * * ? *)',
  weekly: 'cron(0 17 ? * FRI *)',
};

export class WorkflowApi extends Construct {
  readonly submit: AppFunction;
  readonly read: AppFunction;
  readonly budget: AppFunction;
  readonly approvals: AppFunction;
  readonly closeBatches: AppFunction;
  readonly closeSchedule: scheduler.CfnSchedule;

  constructor(scope: Construct, id: string, props: WorkflowApiProps) {
    super(scope, id);
    const environment = workflowEnvironment({ ...props, apiUrl: props.api.url });
    const base = {
      logRetentionDays: props.logRetentionDays,
      removalPolicy: props.removalPolicy,
      environment,
    };

    this.submit = new AppFunction(this, 'Submit', {
      ...base,
      entry: 'functions/http/requests/submit.ts',
      description: 'POST /update-requests (S501): record the request, start its execution',
    }).bindTable(props.table, 'readWrite');
    // StartExecution only (bindStateMachine's 'start' adds read access to every execution).
    props.stateMachine.grantStartExecution(this.submit);
    this.submit.addEnvironment('STATE_MACHINE_ARN', props.stateMachine.stateMachineArn);
    props.api.addRoute('POST /update-requests', this.submit);

    this.read = new AppFunction(this, 'Read', {
      ...base,
      entry: 'functions/http/requests/read.ts',
      description: 'GET /update-requests and /update-requests/{id}: status and steps',
    }).bindTable(props.table, 'read');
    props.api.addRoute('GET /update-requests', this.read);
    props.api.addRoute('GET /update-requests/{id}', this.read);

    this.budget = new AppFunction(this, 'Budget', {
      ...base,
      entry: 'functions/http/budget/batches.ts',
      description: 'Finance: close the budget batch now, answer its lines (S503), list what waits',
      timeout: Duration.seconds(29),
    })
      // Closing a batch deletes its open marker.
      .bindTable(props.table, [...TABLE_READ, ...TABLE_WRITE, ...TABLE_DELETE])
      .bindQueue(props.budgetQueue, 'send', 'BUDGET_QUEUE_URL')
      .bindStateMachine(props.stateMachine, 'respond');
    props.api.addRoute('POST /budget-batches/close', this.budget);
    props.api.addRoute('POST /budget-batches/{batchId}/answers', this.budget);
    props.api.addRoute('GET /budget-batches', this.budget);
    // The ledger (lib/workflow/ledger.ts): budgets, their entries, automatic answers per department.
    props.api.addRoute('PUT /budgets/{department}/{period}', this.budget);
    props.api.addRoute('GET /budgets', this.budget);
    props.api.addRoute('GET /budgets/{department}/{period}/entries', this.budget);
    props.api.addRoute('PUT /budget-settings/{department}', this.budget);
    props.api.addRoute('GET /budget-reports', this.budget);
    // Owned licences (lib/workflow/licences.ts): a request a spare one covers skips finance.
    props.api.addRoute('PUT /software/{name}/licences', this.budget);
    props.api.addRoute('GET /software/{name}/licences', this.budget);

    this.approvals = new AppFunction(this, 'Approvals', {
      ...base,
      entry: 'functions/http/approvals/page.ts',
      description: 'S505/S506: the approval page behind a mailed link, and its one decision',
    })
      // Public route: reads its link, then its wait and request in one batch, and records one
      // decision (conditional updates in one transaction); nothing else, not even a Query.
      .bindTable(props.table, ['dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:UpdateItem'])
      .bindStateMachine(props.stateMachine, 'respond');
    const why =
      'Approval links are opened from mail by approvers without an API token: the single-use secret in the link (stored hashed, bound to one approver, expiring) authorises.';
    for (const method of ['GET', 'HEAD', 'POST']) {
      props.api.addRoute(`${method} /approvals/{id}`, this.approvals, { publicBecause: why });
    }

    this.closeBatches = new AppFunction(this, 'CloseBudgetBatches', {
      ...base,
      entry: 'functions/schedule/close-budget-batches.ts',
      description: 'S502: closes the open budget batch on the configured schedule',
      timeout: Duration.seconds(120),
    })
      .bindTable(props.table, [...TABLE_READ, ...TABLE_WRITE, ...TABLE_DELETE])
      .bindQueue(props.budgetQueue, 'send', 'BUDGET_QUEUE_URL');
    // L1 with its own role: the L2 target grants "<arn>:*" (every version), this names one function.
    const role = new iam.Role(this, 'CloseScheduleRole', {
      assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com'),
      description: 'EventBridge Scheduler: invoke the budget batch close',
    });
    role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['lambda:InvokeFunction'],
        resources: [this.closeBatches.functionArn],
      }),
    );
    this.closeSchedule = new scheduler.CfnSchedule(this, 'CloseSchedule', {
      description: `Closes the budget batch (${props.schedule})`,
      scheduleExpression: BATCH_CLOSE_EXPRESSIONS[props.schedule],
      scheduleExpressionTimezone: 'UTC',
      flexibleTimeWindow: { mode: 'OFF' },
      target: {
        arn: this.closeBatches.functionArn,
        roleArn: role.roleArn,
        input: JSON.stringify({ source: 'schedule' }),
        retryPolicy: { maximumRetryAttempts: 2 },
      },
    });
  }
}
