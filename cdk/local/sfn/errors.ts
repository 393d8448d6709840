// Errors of the SFN API (answered as HTTP 400 with an AWS-style __type) and errors raised
// inside a running task (their `name` is the ASL error name that Retry/Catch match on).

/** An error the API answers with, e.g. new SfnApiError('ExecutionDoesNotExist', '…'). */
export class SfnApiError extends Error {
  constructor(
    readonly type: string,
    message: string,
    readonly statusCode = 400,
  ) {
    super(message);
    this.name = type;
  }
}

/** Error raised by a Task: `name` is the ASL error (e.g. DynamoDB.ConditionalCheckFailedException), `message` the cause. */
export class TaskError extends Error {
  constructor(error: string, cause: string) {
    super(cause);
    this.name = error;
  }
}

interface SdkErrorLike {
  name?: unknown;
  message?: unknown;
  $fault?: unknown;
  $metadata?: { httpStatusCode?: number; requestId?: string };
}

// Names the AWS Java SDK (used by Step Functions) gives where SDK v3 differs.
const DYNAMODB_NAMES: Record<string, string> = {
  InternalServerError: 'InternalServerErrorException',
  ValidationException: 'AmazonDynamoDBException',
  SerializationException: 'AmazonDynamoDBException',
  UnknownOperationException: 'AmazonDynamoDBException',
};

/**
 * Maps an SDK v3 error from a service integration to the error Step Functions reports,
 * e.g. ConditionalCheckFailedException → DynamoDB.ConditionalCheckFailedException with a cause
 * shaped like AWS's "… (Service: AmazonDynamoDBv2; Status Code: 400; Error Code: …)".
 */
export function serviceTaskError(service: 'DynamoDB' | 'SQS', err: unknown): TaskError {
  const e = (err ?? {}) as SdkErrorLike;
  const rawName = typeof e.name === 'string' && e.name ? e.name : 'Error';
  const message = typeof e.message === 'string' ? e.message : String(err);
  const isServiceError = e.$fault !== undefined && e.$metadata?.httpStatusCode !== undefined;
  if (!isServiceError) return new TaskError(`${service}.SdkClientException`, message);
  let code: string;
  if (service === 'DynamoDB') code = DYNAMODB_NAMES[rawName] ?? rawName;
  else code = rawName.endsWith('Exception') ? rawName : `${rawName}Exception`;
  const serviceName = service === 'DynamoDB' ? 'AmazonDynamoDBv2' : 'AmazonSQS';
  const cause = `${message} (Service: ${serviceName}; Status Code: ${e.$metadata?.httpStatusCode}; Error Code: ${rawName}; Request ID: ${e.$metadata?.requestId ?? 'unknown'}; Proxy: null)`;
  return new TaskError(`${service}.${code}`, cause);
}

/** A Lambda function error as Step Functions reports it: error = errorType, cause = the JSON error payload. */
export function lambdaTaskError(err: unknown): TaskError {
  const e = (err ?? {}) as { name?: unknown; message?: unknown; stack?: unknown };
  const errorType = typeof e.name === 'string' && e.name ? e.name : 'Lambda.Unknown';
  const errorMessage = typeof e.message === 'string' ? e.message : String(err);
  const trace = typeof e.stack === 'string' ? e.stack.split('\n') : [];
  return new TaskError(errorType, JSON.stringify({ errorType, errorMessage, trace }));
}
