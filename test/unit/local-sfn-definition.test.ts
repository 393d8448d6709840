import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  LOCAL_WAIT_RESOURCE,
  NO_TIMEOUT_SECONDS,
  parseDefinitionText,
  parseResource,
  prepareDefinition,
} from '../../cdk/local/sfn/definition.js';
import { replacePlaceholder } from '../../cdk/local/sfn/engine.js';
import { SfnApiError } from '../../cdk/local/sfn/errors.js';

function typeOfError(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return err instanceof SfnApiError ? err.type : String(err);
  }
  return undefined;
}

const waitingTask = {
  Type: 'Task',
  Resource: 'arn:aws:states:::sqs:sendMessage.waitForTaskToken',
  Parameters: { QueueUrl: 'q', MessageBody: { 'token.$': '$$.Task.Token' } },
  TimeoutSeconds: 3600,
  HeartbeatSeconds: 600,
  Catch: [{ ErrorEquals: ['States.Timeout'], Next: 'Done' }],
  Next: 'Done',
};

describe('parseResource', () => {
  it('accepts the integrations the local cloud runs', () => {
    expect(parseResource('arn:aws:states:::dynamodb:updateItem')).toEqual({
      kind: 'integration',
      service: 'dynamodb',
      action: 'updateItem',
      waitForTaskToken: false,
    });
    expect(parseResource('arn:aws:states:::lambda:invoke.waitForTaskToken')).toMatchObject({
      waitForTaskToken: true,
    });
    expect(parseResource('arn:aws:lambda:eu-west-1:123456789012:function:fn')).toEqual({
      kind: 'lambda-arn',
      arn: 'arn:aws:lambda:eu-west-1:123456789012:function:fn',
    });
  });

  it('rejects what it cannot run, as InvalidDefinition', () => {
    expect(typeOfError(() => parseResource('arn:aws:states:::sns:publish'))).toBe('InvalidDefinition');
    expect(typeOfError(() => parseResource('arn:aws:states:::dynamodb:query'))).toBe('InvalidDefinition');
    expect(typeOfError(() => parseResource('arn:aws:states:::lambda:invoke.sync'))).toBe('InvalidDefinition');
    // AWS has no callback pattern for DynamoDB.
    expect(typeOfError(() => parseResource('arn:aws:states:::dynamodb:putItem.waitForTaskToken'))).toBe(
      'InvalidDefinition',
    );
  });
});

describe('prepareDefinition', () => {
  it('gives tasks without TimeoutSeconds no timeout (the runner would use 60 s) and scales token waits', () => {
    const prepared = prepareDefinition(
      {
        StartAt: 'Ask',
        States: {
          Ask: waitingTask,
          Done: {
            Type: 'Task',
            Resource: 'arn:aws:states:::dynamodb:putItem',
            Parameters: { TableName: 't' },
            End: true,
          },
        },
      },
      { timeScale: 1000 },
    );
    const states = prepared.runnerDefinition.States as Record<string, Record<string, unknown>>;
    expect(states.Ask?.TimeoutSeconds).toBe(3.6);
    expect(states.Ask?.HeartbeatSeconds).toBeUndefined();
    expect(states.Ask?.Catch).toEqual([
      { ErrorEquals: ['States.Timeout', 'States.HeartbeatTimeout'], Next: 'Done' },
    ]);
    expect(states.Done?.TimeoutSeconds).toBe(NO_TIMEOUT_SECONDS);
    expect(prepared.localHandlerStates).toEqual(['Ask', 'Done']);
    expect(prepared.states.get('Ask')?.definition.TimeoutSeconds).toBe(3600);
  });

  it('runs Wait states as local sleeping tasks only when time is scaled', () => {
    const def = {
      StartAt: 'W',
      States: { W: { Type: 'Wait', SecondsPath: '$.delay', OutputPath: '$.x', End: true } },
    };
    expect(
      (prepareDefinition(def, { timeScale: 1 }).runnerDefinition.States as Record<string, unknown>).W,
    ).toEqual(def.States.W);
    const scaled = prepareDefinition(def, { timeScale: 100 });
    expect((scaled.runnerDefinition.States as Record<string, unknown>).W).toEqual({
      Type: 'Task',
      Resource: LOCAL_WAIT_RESOURCE,
      Parameters: { 'input.$': '$', 'seconds.$': '$.delay' },
      OutputPath: '$.x',
      End: true,
      TimeoutSeconds: NO_TIMEOUT_SECONDS,
    });
    expect(scaled.states.get('W')?.type).toBe('Wait');
  });

  it('points $$.Execution and $$.State at per-execution objects, per state, also inside Parallel branches', () => {
    const prepared = prepareDefinition(
      {
        StartAt: 'Fan',
        States: {
          Fan: {
            Type: 'Parallel',
            Branches: [
              {
                StartAt: 'Inner',
                States: {
                  Inner: {
                    Type: 'Pass',
                    Parameters: {
                      'in.$': '$$.Execution.Input',
                      'me.$': "States.Format('{}', $$.State.Name)",
                      lit: '$$.State.Name',
                    },
                    End: true,
                  },
                },
              },
            ],
            End: true,
          },
        },
      },
      { timeScale: 1 },
    );
    const fan = (
      prepared.runnerDefinition.States as Record<
        string,
        { Branches: { States: Record<string, { Parameters: unknown }> }[] }
      >
    ).Fan;
    expect(fan?.Branches[0]?.States.Inner?.Parameters).toEqual({
      'in.$': '$$.__upman.execution.Input',
      'me.$': "States.Format('{}', $$.__upman.states.s1.Name)",
      lit: '$$.State.Name',
    });
    expect(prepared.states.get('Inner')?.key).toBe('s1');
  });

  it('refuses a .waitForTaskToken task without $$.Task.Token, duplicate names, JSONata and *SecondsPath timeouts', () => {
    const noToken = { ...waitingTask, Parameters: { QueueUrl: 'q', MessageBody: 'hi' } };
    expect(
      typeOfError(() =>
        prepareDefinition(
          { StartAt: 'Ask', States: { Ask: noToken, Done: { Type: 'Succeed' } } },
          { timeScale: 1 },
        ),
      ),
    ).toBe('InvalidDefinition');
    const dup = {
      StartAt: 'A',
      States: {
        A: { Type: 'Parallel', Branches: [{ StartAt: 'A', States: { A: { Type: 'Succeed' } } }], End: true },
      },
    };
    expect(typeOfError(() => prepareDefinition(dup, { timeScale: 1 }))).toBe('InvalidDefinition');
    expect(
      typeOfError(() => parseDefinitionText('{"QueryLanguage":"JSONata","StartAt":"A","States":{}}')),
    ).toBe('InvalidDefinition');
    expect(typeOfError(() => parseDefinitionText('{nope'))).toBe('InvalidDefinition');
    const { TimeoutSeconds: _fixed, ...untimed } = waitingTask;
    const pathTimeout = { ...untimed, TimeoutSecondsPath: '$.timeout' };
    expect(
      typeOfError(() =>
        prepareDefinition(
          { StartAt: 'Ask', States: { Ask: pathTimeout, Done: { Type: 'Succeed' } } },
          { timeScale: 1 },
        ),
      ),
    ).toBe('InvalidDefinition');
  });

  it('prepares the workflow definition of the app', () => {
    const text = readFileSync(
      new URL('../../statemachines/update-request.asl.json', import.meta.url),
      'utf8',
    );
    const prepared = prepareDefinition(
      parseDefinitionText(text.replaceAll('${Partition}', 'aws').replace(/\$\{[A-Za-z0-9_]+\}/g, 'Registry')),
      {
        timeScale: 1,
      },
    );
    expect(prepared.localHandlerStates.length).toBeGreaterThan(0);
  });
});

describe('replacePlaceholder', () => {
  it('swaps the placeholder for one minted token wherever it appears in the Parameters', () => {
    let minted = 0;
    const mint = () => `token-${++minted}`;
    const out = replacePlaceholder(
      { MessageBody: { t: 'PH', text: 'token is PH', list: ['PH', 1, null] }, other: 'x' },
      'PH',
      (() => {
        let token: string | undefined;
        return () => {
          token ??= mint();
          return token;
        };
      })(),
    );
    expect(out).toEqual({
      MessageBody: { t: 'token-1', text: 'token is token-1', list: ['token-1', 1, null] },
      other: 'x',
    });
    expect(minted).toBe(1);
  });
});
