// The workflow's HTTP routes (requests, budget batches, approval pages) and the schedule that
// closes budget batches (S502: immediate | daily | weekly).
import { Duration, type RemovalPolicy } from 'aws-cdk-lib';
import type { ITableV2 } from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import type { IStateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { SIGN_IN_ENV, SIGNED_IN_PATH, type SignInSettings } from '../../lib/http/sign-in.js';
import type { BudgetBatchSchedule, StageConfig } from '../config.js';
import { AppFunction, TABLE_DELETE, TABLE_READ, TABLE_WRITE } from './app-function.js';
import type { UpmanHttpApi } from './http-api.js';
import type { Mailer } from './mailer.js';
import { workflowEnvironment } from './workflow-tasks.js';

export interface WorkflowApiProps {
  api: UpmanHttpApi;
  table: ITableV2;
  stateMachine: IStateMachine;
  budgetQueue: IQueue;
  mailer: Mailer;
  /** Where the approval page signs the approver in (stage config auth.signIn). */
  signIn: SignInSettings;
  /** Admins told about wrong link secrets (stage config mail.adminAlerts). */
  adminAlerts: string[];
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
  readonly approvalQueue: AppFunction;
  readonly resumeDecisions: AppFunction;
  readonly resumeSchedule: scheduler.CfnSchedule;

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
      description:
        'S505/S506: the approval page behind a mailed link, and its one decision by the signed-in approver',
    })
      // Reads its link (with the wrong-secret counter), then its wait and request in one batch,
      // records one decision (conditional updates in one transaction) or counts a wrong secret;
      // nothing else, not even a Query.
      .bindTable(props.table, ['dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:UpdateItem'])
      .bindStateMachine(props.stateMachine, 'respond')
      // Wrong link secrets past the threshold: the approver and the admins are mailed.
      .bindMail(props.mailer.binding);
    this.approvals.addEnvironment(SIGN_IN_ENV, JSON.stringify(props.signIn));
    this.approvals.addEnvironment('ADMIN_ALERT_ADDRESSES', props.adminAlerts.join(','));
    const why =
      'Approval links are opened from mail: the page shows the request to whoever holds the link and changes nothing; deciding needs the signed-in approver (POST /approvals/{id}/decision is behind the JWT authorizer).';
    for (const method of ['GET', 'HEAD']) {
      props.api.addRoute(`${method} /approvals/{id}`, this.approvals, { publicBecause: why });
    }
    props.api.addRoute(`GET ${SIGNED_IN_PATH}`, this.approvals, {
      publicBecause:
        "The issuer's redirect URI: the page exchanges the one-time code (PKCE) in the browser; it reads and writes nothing.",
    });
    props.api.addRoute('POST /approvals/{id}/decision', this.approvals);

    this.closeBatches = new AppFunction(this, 'CloseBudgetBatches', {
      ...base,
      entry: 'functions/schedule/close-budget-batches.ts',
      description: 'S502: closes the open budget batch on the configured schedule',
      timeout: Duration.seconds(120),
    })
      .bindTable(props.table, [...TABLE_READ, ...TABLE_WRITE, ...TABLE_DELETE])
      .bindQueue(props.budgetQueue, 'send', 'BUDGET_QUEUE_URL');
    this.closeSchedule = this.schedule(
      'Close',
      this.closeBatches,
      BATCH_CLOSE_EXPRESSIONS[props.schedule],
      `Closes the budget batch (${props.schedule})`,
    );

    this.approvalQueue = new AppFunction(this, 'ApprovalQueue', {
      ...base,
      entry: 'functions/http/approvals/queue.ts',
      description: "The admins' queue of approvals only the requester could decide; naming their approver",
    })
      .bindTable(props.table, 'readWrite')
      .bindMail(props.mailer.binding);
    props.api.addRoute('GET /approval-queue', this.approvalQueue);
    props.api.addRoute('PUT /approval-queue/{requestId}', this.approvalQueue);

    this.resumeDecisions = new AppFunction(this, 'ResumeDecisions', {
      ...base,
      entry: 'functions/schedule/resume-decisions.ts',
      description: 'S506: hands recorded decisions that did not reach their execution over again',
      timeout: Duration.seconds(120),
    })
      // Lists the unresumed decisions (GSI2), notes each one handed over; nothing else.
      .bindTable(props.table, ['dynamodb:Query', 'dynamodb:UpdateItem'])
      .bindStateMachine(props.stateMachine, 'respond');
    this.resumeSchedule = this.schedule(
      'ResumeDecisions',
      this.resumeDecisions,
      'rate(5 minutes)',
      'Hands stuck approval decisions over to their executions',
    );
  }

  /** An EventBridge Scheduler schedule invoking `fn`, with a role that may invoke that function only. */
  private schedule(id: string, fn: AppFunction, expression: string, description: string) {
    // L1 with its own role: the L2 target grants "<arn>:*" (every version), this names one function.
    const role = new iam.Role(this, `${id}ScheduleRole`, {
      assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com'),
      description: `EventBridge Scheduler: ${description}`,
    });
    role.addToPolicy(
      new iam.PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: [fn.functionArn] }),
    );
    return new scheduler.CfnSchedule(this, `${id}Schedule`, {
      description,
      scheduleExpression: expression,
      scheduleExpressionTimezone: 'UTC',
      flexibleTimeWindow: { mode: 'OFF' },
      target: {
        arn: fn.functionArn,
        roleArn: role.roleArn,
        input: JSON.stringify({ source: 'schedule' }),
        retryPolicy: { maximumRetryAttempts: 2 },
      },
    });
  }
}
