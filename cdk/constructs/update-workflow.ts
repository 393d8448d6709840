// The update-request state machine (S501–S509). The definition is the ASL file in
// statemachines/, the same file the local cloud runs; CDK only fills in the substitutions.
import { join } from 'node:path';
import { Aws, Fn, type RemovalPolicy } from 'aws-cdk-lib';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { PROJECT_ROOT } from '../project-root.js';
import { retentionFor } from './app-function.js';
import { renderAslFile } from './workflow-definition.js';

export interface UpdateWorkflowProps {
  /** Values for ${Name} placeholders in the ASL file. */
  substitutions: Record<string, string>;
  /** Values for quoted "${Name}" number placeholders (timeouts), rendered at synth (workflow-definition.ts). */
  numbers?: Record<string, number>;
  logRetentionDays: number;
  removalPolicy: RemovalPolicy;
}

export const UPDATE_REQUEST_ASL = join(PROJECT_ROOT, 'statemachines', 'update-request.asl.json');

export class UpdateWorkflow extends Construct {
  readonly stateMachine: sfn.StateMachine;

  constructor(scope: Construct, id: string, props: UpdateWorkflowProps) {
    super(scope, id);
    const logGroup = new logs.LogGroup(this, 'Logs', {
      retention: retentionFor(props.logRetentionDays),
      removalPolicy: props.removalPolicy,
    });
    this.stateMachine = new sfn.StateMachine(this, 'StateMachine', {
      stateMachineType: sfn.StateMachineType.STANDARD,
      definitionBody: props.numbers
        ? sfn.DefinitionBody.fromString(withPartition(renderAslFile(UPDATE_REQUEST_ASL, props.numbers)))
        : sfn.DefinitionBody.fromFile(UPDATE_REQUEST_ASL),
      // Service-integration ARNs carry the deploy's partition (aws-cn, aws-us-gov as well as aws):
      // joined in as AWS::Partition above, so cfn-lint checks them as resolved for the region;
      // the file asset (no numbers) takes it as a substitution.
      definitionSubstitutions: props.numbers
        ? props.substitutions
        : { Partition: Aws.PARTITION, ...props.substitutions },
      tracingEnabled: true,
      // Every event (cdk-nag SF1), but no execution data: inputs and outputs carry task tokens,
      // comments and requesters' data, which must not sit in CloudWatch for the log's lifetime.
      logs: { destination: logGroup, level: sfn.LogLevel.ALL, includeExecutionData: false },
    });
  }
}

/** The definition with each ${Partition} replaced by the stack's AWS::Partition (Fn::Join). */
function withPartition(definition: string): string {
  const parts = definition.split('${Partition}');
  return Fn.join(
    '',
    parts.flatMap((part, i) => (i === 0 ? [part] : [Aws.PARTITION, part])),
  );
}
