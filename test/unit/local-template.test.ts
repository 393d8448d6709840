import { describe, expect, it } from 'vitest';
import { type StackTemplate, TemplateResolver } from '../../cdk/local/template.js';

const ctx = { region: 'us-east-1', sqsEndpoint: 'http://127.0.0.1:9', apiEndpoint: 'http://127.0.0.1:8' };

function stack(artifactId: string, template: StackTemplate['template']): StackTemplate {
  return { artifactId, stackName: `s-${artifactId}`, template, assemblyDir: '/nowhere' };
}

const producer = stack('Producer', {
  Resources: {
    Table: { Type: 'AWS::DynamoDB::GlobalTable', Properties: {} },
    Queue: { Type: 'AWS::SQS::Queue', Properties: {} },
    Fifo: { Type: 'AWS::SQS::Queue', Properties: { FifoQueue: true } },
    Releases: { Type: 'AWS::S3::Bucket', Properties: {} },
    Fn: { Type: 'AWS::Lambda::Function', Properties: {} },
  },
  Outputs: {
    ExportedBucket: { Value: { Ref: 'Releases' }, Export: { Name: 'Producer:ExportsOutputRefReleases' } },
  },
});
const consumer = stack('Consumer', {
  Resources: { Q: { Type: 'AWS::SQS::Queue' } },
  Parameters: { Stage: { Type: 'String', Default: 'dev' } },
});
const resolver = new TemplateResolver([producer, consumer], ctx);

describe('TemplateResolver', () => {
  it('resolves Ref to the local physical names', () => {
    expect(resolver.resolve(producer, { Ref: 'Table' })).toBe('Table');
    expect(resolver.resolve(producer, { Ref: 'Releases' })).toBe('s-producer-releases');
    expect(resolver.resolve(producer, { Ref: 'Queue' })).toBe('http://127.0.0.1:9/000000000000/Queue');
    expect(resolver.resolve(producer, { Ref: 'Fifo' })).toBe('http://127.0.0.1:9/000000000000/Fifo.fifo');
    expect(resolver.resolve(consumer, { Ref: 'Stage' })).toBe('dev');
    expect(resolver.resolve(consumer, { Ref: 'AWS::Region' })).toBe('us-east-1');
  });

  it('resolves Fn::GetAtt, Fn::Join, Fn::Sub, Fn::Select and Fn::Split', () => {
    expect(resolver.resolve(producer, { 'Fn::GetAtt': ['Table', 'Arn'] })).toBe(
      'arn:aws:dynamodb:us-east-1:000000000000:table/Table',
    );
    expect(resolver.resolve(producer, { 'Fn::GetAtt': ['Fn', 'Arn'] })).toBe(
      'arn:aws:lambda:us-east-1:000000000000:function:Fn',
    );
    expect(
      resolver.resolve(producer, { 'Fn::Join': ['', [{ 'Fn::GetAtt': ['Releases', 'Arn'] }, '/*']] }),
    ).toBe('arn:aws:s3:::s-producer-releases/*');
    expect(
      resolver.resolve(producer, { 'Fn::Sub': 'q=${Queue.QueueName} r=${AWS::Region} ${!Literal}' }),
    ).toBe('q=Queue r=us-east-1 ${Literal}');
    expect(resolver.resolve(producer, { 'Fn::Sub': ['${X}-${Fn}', { X: { Ref: 'Table' } }] })).toBe(
      'Table-Fn',
    );
    expect(resolver.resolve(producer, { 'Fn::Select': [1, { 'Fn::Split': [',', 'a,b,c'] }] })).toBe('b');
  });

  it('follows Fn::ImportValue to the exporting stack', () => {
    expect(resolver.resolve(consumer, { 'Fn::ImportValue': 'Producer:ExportsOutputRefReleases' })).toBe(
      's-producer-releases',
    );
  });

  it('names what it cannot resolve instead of guessing', () => {
    expect(() => resolver.resolve(producer, { Ref: 'Missing' })).toThrow(/no resource Missing/);
    expect(() => resolver.resolve(producer, { 'Fn::GetAtt': ['Fn', 'SnapStartResponse'] })).toThrow(
      /cannot resolve Fn::GetAtt Fn.SnapStartResponse/,
    );
    expect(() => resolver.resolve(producer, { 'Fn::If': ['C', 1, 2] })).toThrow(/does not support Fn::If/);
    expect(() => resolver.resolve(consumer, { 'Fn::ImportValue': 'nope' })).toThrow(/No stack exports nope/);
  });
});
