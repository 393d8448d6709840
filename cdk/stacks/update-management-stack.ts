// The organisation's side: registry, HTTP API, functions, the update-request workflow, queues
// to finance, and mail. (DESIGN §2)
import { CfnOutput, RemovalPolicy, Stack, type StackProps, Validations } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { SIGNED_IN_PATH } from '../../lib/http/sign-in.js';
import { adminAlertsOf, identityOf, type StageConfig, signInOf } from '../config.js';
import { AppFunction, type AppFunctionProps } from '../constructs/app-function.js';
import { DepartmentMigration } from '../constructs/department-migration.js';
import { UpmanHttpApi } from '../constructs/http-api.js';
import { nameAsKeyIssuer } from '../constructs/key-issuer-role.js';
import { Mailer } from '../constructs/mailer.js';
import { QueueWithDlq } from '../constructs/queue-with-dlq.js';
import { RegistryApi } from '../constructs/registry-api.js';
import { RegistryTable } from '../constructs/registry-table.js';
import { UpdateWorkflow } from '../constructs/update-workflow.js';
import { VendorDownloads } from '../constructs/vendor-downloads.js';
import { WorkflowApi } from '../constructs/workflow-api.js';
import { workflowNumbers } from '../constructs/workflow-definition.js';
import { WorkflowTasks } from '../constructs/workflow-tasks.js';

export interface UpdateManagementStackProps extends StackProps {
  config: StageConfig;
  /** The vendor's release bucket (a name: it may live in another account). */
  releaseBucketName: string;
  /** The vendor site's region (its buckets' S3 clients sign for it). */
  releaseBucketRegion: string;
  /** The vendor's access-log bucket and the release bucket's log prefix (S604/S605 evidence). */
  accessLogBucketName: string;
  accessLogPrefix: string;
}

export class UpdateManagementStack extends Stack {
  readonly registry: RegistryTable;
  readonly api: UpmanHttpApi;
  readonly budgetQueue: QueueWithDlq;
  readonly purchaseOrderQueue: QueueWithDlq;
  readonly downloadNoticeQueue: QueueWithDlq;
  readonly mailer: Mailer;
  readonly workflow: UpdateWorkflow;

  constructor(scope: Construct, id: string, props: UpdateManagementStackProps) {
    super(scope, id, props);
    const { config } = props;
    const removalPolicy = config.retainData ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;

    this.registry = new RegistryTable(this, 'Registry', { removalPolicy });
    this.api = new UpmanHttpApi(this, 'Http', {
      issuer: config.auth.issuer,
      audience: config.auth.audience,
      identity: identityOf(config),
      logRetentionDays: config.logRetentionDays,
      removalPolicy,
    });
    this.mailer = new Mailer(this, 'Mail', {
      sender: config.mail.sender,
      ...(config.mail.replyTo ? { replyTo: config.mail.replyTo } : {}),
      productionAccess: config.mail.productionAccess === true,
      ...(config.mail.configurationSet ? { configurationSetName: config.mail.configurationSet } : {}),
    });
    // S502: one message per closed budget batch, read by finance.
    this.budgetQueue = new QueueWithDlq(this, 'BudgetQueue', { removalPolicy });
    // S507: purchase orders for finance.
    this.purchaseOrderQueue = new QueueWithDlq(this, 'PurchaseOrderQueue', { removalPolicy });
    // S604: download-completed notices for finance.
    this.downloadNoticeQueue = new QueueWithDlq(this, 'DownloadNoticeQueue', { removalPolicy });

    // S501–S509: the machine's Lambda tasks first (the definition names them), then the
    // machine, then the routes and the batch schedule that drive it (docs/workflow.md).
    const workflowTasks = new WorkflowTasks(this, 'WorkflowTasks', {
      table: this.registry.table,
      budgetQueue: this.budgetQueue.queue,
      purchaseOrderQueue: this.purchaseOrderQueue.queue,
      mailer: this.mailer,
      apiUrl: this.api.url,
      schedule: config.budgetBatch.schedule,
      approval: config.approval,
      policy: config.policy,
      releaseBucketName: props.releaseBucketName,
      releaseBucketRegion: props.releaseBucketRegion,
      keyTtlSeconds: config.keyTtlSeconds,
      logRetentionDays: config.logRetentionDays,
      removalPolicy,
    });
    this.workflow = new UpdateWorkflow(this, 'UpdateRequest', {
      substitutions: {
        RegistryTableName: this.registry.table.tableName,
        ...workflowTasks.substitutions,
      },
      numbers: workflowNumbers(config.approval),
      logRetentionDays: config.logRetentionDays,
      removalPolicy,
    });
    // The definition's own tasks: dynamodb:getItem and updateItem (S507 is the Conclude task's).
    this.registry.table.grant(this.workflow.stateMachine, 'dynamodb:GetItem', 'dynamodb:UpdateItem');
    workflowTasks.grantInvoke(this.workflow.stateMachine);
    // S508 presigns keys: its role must be one the vendor's bucket trusts (claim 9).
    nameAsKeyIssuer(workflowTasks.conclude, 'Conclude', props.releaseBucketName);
    new WorkflowApi(this, 'WorkflowApi', {
      api: this.api,
      table: this.registry.table,
      stateMachine: this.workflow.stateMachine,
      budgetQueue: this.budgetQueue.queue,
      mailer: this.mailer,
      signIn: signInOf(config),
      adminAlerts: adminAlertsOf(config),
      schedule: config.budgetBatch.schedule,
      approval: config.approval,
      policy: config.policy,
      logRetentionDays: config.logRetentionDays,
      removalPolicy,
    });

    const fn = (id: string, entry: string, description: string, extra: Partial<AppFunctionProps> = {}) =>
      new AppFunction(this, id, {
        entry,
        description,
        logRetentionDays: config.logRetentionDays,
        removalPolicy,
        ...extra,
      });

    // Registries written before departments compared case-insensitively are migrated on deploy.
    new DepartmentMigration(this, 'DepartmentMigration', {
      table: this.registry.table,
      logRetentionDays: config.logRetentionDays,
      removalPolicy,
    });

    const whoAmI = fn('WhoAmI', 'functions/http/whoami.ts', 'GET /me: the caller as the API sees them');
    // It records the caller's directory entry from their token.
    whoAmI.bindTable(this.registry.table, 'readWrite');
    this.api.addRoute('GET /me', whoAmI);
    const openApi = fn('OpenApi', 'functions/http/openapi.ts', 'GET /openapi.json: the API description');
    this.api.addRoute('GET /openapi.json', openApi, {
      publicBecause: 'The OpenAPI description of the API is public: it holds routes and shapes, no secrets',
    });
    new RegistryApi(this, 'RegistryApi', {
      api: this.api,
      table: this.registry.table,
      mailer: this.mailer,
      releaseBucketName: props.releaseBucketName,
      releaseBucketRegion: props.releaseBucketRegion,
      logRetentionDays: config.logRetentionDays,
      removalPolicy,
    });

    // Keys on request, revocation, and S604/S605 from access logs or the agent's confirmation.
    new VendorDownloads(this, 'Downloads', {
      api: this.api,
      table: this.registry.table,
      noticeQueue: this.downloadNoticeQueue.queue,
      releaseBucketName: props.releaseBucketName,
      releaseBucketRegion: props.releaseBucketRegion,
      accessLogBucketName: props.accessLogBucketName,
      accessLogPrefix: props.accessLogPrefix,
      keyTtlSeconds: config.keyTtlSeconds,
      logRetentionDays: config.logRetentionDays,
      removalPolicy,
    });

    new CfnOutput(this, 'ApiUrl', { value: this.api.url });
    // Register it as the sign-in client's callback URL at the issuer (Cognito: the app client).
    new CfnOutput(this, 'SignInRedirectUri', { value: `${this.api.url}${SIGNED_IN_PATH}` });
    new CfnOutput(this, 'RegistryTableName', { value: this.registry.table.tableName });
    new CfnOutput(this, 'BudgetQueueUrl', { value: this.budgetQueue.queue.queueUrl });
    new CfnOutput(this, 'PurchaseOrderQueueUrl', { value: this.purchaseOrderQueue.queue.queueUrl });
    new CfnOutput(this, 'DownloadNoticeQueueUrl', { value: this.downloadNoticeQueue.queue.queueUrl });
    new CfnOutput(this, 'ReleaseBucketName', { value: props.releaseBucketName });

    suppressLambdaBaseline(this);
  }
}

/** The acknowledgements every stack with functions needs, each with its reason. */
export function suppressLambdaBaseline(stack: Stack): void {
  Validations.of(stack).acknowledge(
    {
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: 'X-Ray PutTraceSegments/PutTelemetryRecords support no resource-level permissions (AWS docs).',
    },
    {
      id: 'AwsSolutions-L1',
      reason: 'Functions pin nodejs22.x (DESIGN §9); nag flags any runtime but the newest one it knows.',
    },
  );
}
