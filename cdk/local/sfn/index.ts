// The local cloud's Step Functions: an SFN API server (JSON protocol) over aws-local-stepfunctions,
// with service integrations (Lambda, DynamoDB, SQS), task tokens and history on top of it.
// Standard workflows, JSONPath only. Resources: a Lambda function ARN, lambda:invoke[.waitForTaskToken],
// dynamodb:putItem|getItem|updateItem|deleteItem, sqs:sendMessage[.waitForTaskToken]; anything else
// is refused at creation (InvalidDefinition) rather than failing mid-run. Finished executions are
// kept in dataDir; running ones end as ABORTED when the local cloud stops (a task-token wait
// cannot survive a restart).
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { SfnEngine } from './engine.js';
import type { IntegrationDeps } from './integrations.js';
import { startSfnServer } from './server.js';

export interface LocalStateMachine {
  name: string;
  arn: string;
  /** ASL JSON text with ${…} substitutions already resolved. */
  definition: string;
  roleArn?: string;
}

export interface LocalSfnOptions {
  /** 0 = ephemeral; the server listens on 127.0.0.1 only. */
  port: number;
  region: string;
  /** Finished executions (descriptions and histories) and API-created machines are kept here as JSON. */
  dataDir: string;
  stateMachines: LocalStateMachine[];
  /** Throws an error whose name is the errorType for function errors. */
  invokeLambda(functionNameOrArn: string, payload: unknown): Promise<unknown>;
  /** For the service integrations, pointed at the emulators. */
  clients: { dynamodb: DynamoDBClient; sqs: SQSClient };
  /** The integrations as a machine's role calls them; default: invokeLambda and clients above. */
  integrationsFor?: (machine: { arn: string; roleArn?: string }) => IntegrationDeps;
  /** >1 speeds up Wait states and the TimeoutSeconds/HeartbeatSeconds of task-token waits; default 1. */
  timeScale?: number;
}

export interface LocalSfn {
  url: string;
  /** The state machine ARN of an open task token's execution. */
  stateMachineOfToken(token: string): string | undefined;
  stop(): Promise<void>;
}

export async function startLocalStepFunctions(options: LocalSfnOptions): Promise<LocalSfn> {
  const engine = await SfnEngine.create(options);
  const { url, server } = await startSfnServer(engine, options.port);
  return {
    url,
    stateMachineOfToken(token) {
      const executionArn = engine.tokens.ownerOf(token)?.executionArn;
      // arn:aws:states:<region>:<account>:execution:<machine>:<name>
      return executionArn?.replace(':execution:', ':stateMachine:').split(':').slice(0, 7).join(':');
    },
    async stop() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await engine.stop();
    },
  };
}
