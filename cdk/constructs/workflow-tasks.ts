// The Lambda tasks of the update-request state machine (S502 budget line, S504/S505 approver
// and approval phases, the ends S507/S508/S509/expired/failed). They hold no Step Functions
// permission: the machine references them, so a grant back would be a dependency cycle.
import { Aws, Duration, type RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import type { ITableV2 } from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import type { BudgetBatchSchedule, StageConfig } from '../config.js';
import { AppFunction, TABLE_DELETE, TABLE_READ, TABLE_WRITE } from './app-function.js';
import type { Mailer } from './mailer.js';

export interface WorkflowTasksProps {
  table: ITableV2;
  budgetQueue: IQueue;
  purchaseOrderQueue: IQueue;
  mailer: Mailer;
  /** Base URL of the HTTP API (approval links, finance's answer URL). */
  apiUrl: string;
  schedule: BudgetBatchSchedule;
  approval: StageConfig['approval'];
  policy: StageConfig['policy'];
  /** The vendor's release bucket: S508 presigns the key from it (lib/vendor/key-issuer.ts). */
  releaseBucketName: string;
  /** Its region (the vendor site may be in another one): S3 clients sign for it. */
  releaseBucketRegion: string;
  keyTtlSeconds: number;
  logRetentionDays: number;
  removalPolicy: RemovalPolicy;
}

/** Environment every workflow function shares (timeouts of the phases, batch schedule, links). */
export function workflowEnvironment(
  p: Pick<WorkflowTasksProps, 'apiUrl' | 'schedule' | 'approval' | 'policy'>,
) {
  return {
    POLICY: JSON.stringify(p.policy),
    API_URL: p.apiUrl,
    BUDGET_SCHEDULE: p.schedule,
    APPROVAL_REMINDER_SECONDS: String(p.approval.reminderSeconds),
    APPROVAL_ESCALATION_SECONDS: String(p.approval.escalationSeconds),
    APPROVAL_EXPIRY_SECONDS: String(p.approval.expirySeconds),
  };
}

export class WorkflowTasks extends Construct {
  readonly budgetLine: AppFunction;
  readonly approval: AppFunction;
  readonly conclude: AppFunction;

  constructor(scope: Construct, id: string, props: WorkflowTasksProps) {
    super(scope, id);
    const base = {
      logRetentionDays: props.logRetentionDays,
      removalPolicy: props.removalPolicy,
      environment: workflowEnvironment(props),
      timeout: Duration.seconds(30),
    };
    this.budgetLine = new AppFunction(this, 'BudgetLine', {
      ...base,
      entry: 'functions/workflow/budget-line.ts',
      description: 'S502: files a request budget line with its task token for the next batch',
    })
      // With the 'immediate' schedule it closes the batch at once (deleting its open marker).
      .bindTable(props.table, [...TABLE_READ, ...TABLE_WRITE, ...TABLE_DELETE])
      .bindQueue(props.budgetQueue, 'send', 'BUDGET_QUEUE_URL');
    this.approval = new AppFunction(this, 'Approval', {
      ...base,
      entry: 'functions/workflow/approval.ts',
      description: 'S504/S505: resolves the approver, stores the approval token, issues links, mails them',
    })
      .bindTable(props.table, 'readWrite')
      .bindMail(props.mailer.binding);
    this.conclude = new AppFunction(this, 'Conclude', {
      ...base,
      entry: 'functions/workflow/conclude.ts',
      description: 'S507/S508/S509, expiry and failure: purchase order, final status, grant and key, mail',
    })
      .bindTable(props.table, 'readWrite')
      .bindMail(props.mailer.binding)
      // S507: the purchase order is sent by this task, not by a state of its own (a transition less).
      .bindQueue(props.purchaseOrderQueue, 'send', 'PURCHASE_ORDER_QUEUE_URL');
    // S508: the key is a presigned GET on the vendor's bucket, which trusts this account's
    // management roles by name (release-bucket.ts); it may be in another account (claim 9).
    this.conclude.addEnvironment('RELEASE_BUCKET_NAME', props.releaseBucketName);
    this.conclude.addEnvironment('RELEASE_BUCKET_REGION', props.releaseBucketRegion);
    this.conclude.addEnvironment('KEY_TTL_SECONDS', String(props.keyTtlSeconds));
    const releases = `arn:${Aws.PARTITION}:s3:::${props.releaseBucketName}`;
    this.conclude.addToRolePolicy(
      new iam.PolicyStatement({ actions: ['s3:GetObject'], resources: [`${releases}/*`] }),
    );
    Validations.of(this.conclude).acknowledge({
      id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::${Stack.of(this).resolve(props.releaseBucketName)}/*]`,
      reason:
        'S508 reads and presigns any release artifact of the vendor bucket (manifest, full packages, deltas).',
    });
  }

  /** The ASL's ${...FunctionArn} substitutions. */
  get substitutions(): Record<string, string> {
    return {
      BudgetLineFunctionArn: this.budgetLine.functionArn,
      ApprovalFunctionArn: this.approval.functionArn,
      ConcludeFunctionArn: this.conclude.functionArn,
    };
  }

  /** Lets the state machine invoke exactly these functions (grantInvoke would add "<arn>:*"). */
  grantInvoke(stateMachine: sfn.StateMachine): void {
    stateMachine.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['lambda:InvokeFunction'],
        resources: [this.budgetLine, this.approval, this.conclude].map((f) => f.functionArn),
      }),
    );
  }
}
