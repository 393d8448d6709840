import { ConditionalCheckFailedException, InternalServerError } from '@aws-sdk/client-dynamodb';
import { QueueDoesNotExist } from '@aws-sdk/client-sqs';
import { describe, expect, it } from 'vitest';
import { lambdaTaskError, serviceTaskError } from '../../cdk/local/sfn/errors.js';

const metadata = { httpStatusCode: 400, requestId: 'req-1' };

describe('service integration errors', () => {
  it('names a DynamoDB condition failure DynamoDB.ConditionalCheckFailedException with an AWS-style cause', () => {
    const sdkError = new ConditionalCheckFailedException({
      message: 'The conditional request failed',
      $metadata: metadata,
    });
    const err = serviceTaskError('DynamoDB', sdkError);
    expect(err.name).toBe('DynamoDB.ConditionalCheckFailedException');
    expect(err.message).toBe(
      'The conditional request failed (Service: AmazonDynamoDBv2; Status Code: 400; Error Code: ConditionalCheckFailedException; Request ID: req-1; Proxy: null)',
    );
  });

  it('uses the Java SDK names Step Functions reports where SDK v3 differs', () => {
    const internal = new InternalServerError({ message: 'boom', $metadata: { httpStatusCode: 500 } });
    expect(serviceTaskError('DynamoDB', internal).name).toBe('DynamoDB.InternalServerErrorException');
    const validation = Object.assign(new Error('bad key'), {
      name: 'ValidationException',
      $fault: 'client',
      $metadata: metadata,
    });
    expect(serviceTaskError('DynamoDB', validation).name).toBe('DynamoDB.AmazonDynamoDBException');
    const noQueue = new QueueDoesNotExist({ message: 'no queue', $metadata: metadata });
    expect(serviceTaskError('SQS', noQueue).name).toBe('SQS.QueueDoesNotExistException');
  });

  it('reports a failure to reach the service as SdkClientException', () => {
    const err = serviceTaskError(
      'SQS',
      Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }),
    );
    expect(err).toMatchObject({ name: 'SQS.SdkClientException', message: 'connect ECONNREFUSED' });
  });

  it('reports a Lambda function error by its errorType with the error payload as cause', () => {
    const fnError = Object.assign(new Error('no such client'), { name: 'NotFound' });
    const err = lambdaTaskError(fnError);
    expect(err.name).toBe('NotFound');
    expect(JSON.parse(err.message)).toMatchObject({ errorType: 'NotFound', errorMessage: 'no such client' });
  });
});
