// The local cloud runs custom resources as a deploy does: Create for one the data has not seen,
// Update when its properties changed, nothing when unchanged; a FAILED answer or none stops the
// start. The function answers at the event's ResponseURL, as on AWS.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCustomResources } from '../../cdk/local/custom-resources.js';
import type { LocalLambdaRuntime } from '../../cdk/local/lambda/runtime.js';
import { type StackTemplate, TemplateResolver } from '../../cdk/local/template.js';

const ctx = { region: 'us-east-1', sqsEndpoint: 'http://127.0.0.1:9', apiEndpoint: 'http://127.0.0.1:8' };
const stackWith = (migration: string): StackTemplate => ({
  artifactId: 'App',
  stackName: 's-app',
  assemblyDir: '/nowhere',
  template: {
    Resources: {
      Fn: { Type: 'AWS::Lambda::Function', Properties: {} },
      Run: {
        Type: 'Custom::Migration',
        Properties: { ServiceToken: { 'Fn::GetAtt': ['Fn', 'Arn'] }, Migration: migration },
      },
      Cleanup: { Type: 'Custom::S3AutoDeleteObjects', Properties: { ServiceToken: 'x' } },
    },
  },
});

/** A runtime whose only function answers CloudFormation as `answer` says, recording each event. */
function runtimeAnswering(answer: (event: Record<string, unknown>) => object | undefined) {
  const events: Array<Record<string, unknown>> = [];
  const runtime = {
    invoke: async (_fn: string, event: Record<string, unknown>) => {
      events.push(event);
      const body = answer(event);
      if (body) await fetch(String(event.ResponseURL), { method: 'PUT', body: JSON.stringify(body) });
      return null;
    },
  } as unknown as LocalLambdaRuntime;
  return { runtime, events };
}

let dataDir: string;
beforeEach(() => {
  dataDir = mkdtempSync(join(tmpdir(), 'upman-cr-'));
});
afterEach(() => rmSync(dataDir, { recursive: true, force: true }));

const run = (stack: StackTemplate, runtime: LocalLambdaRuntime, dir?: string) =>
  runCustomResources([stack], new TemplateResolver([stack], ctx), runtime, 'us-east-1', dir);

describe('custom resources on a local start', () => {
  it('sends Create once, Update when the properties change, and nothing when they did not', async () => {
    const { runtime, events } = runtimeAnswering(() => ({ Status: 'SUCCESS', Data: { Respelled: 1 } }));
    expect(await run(stackWith('v1'), runtime, dataDir)).toEqual([
      'Run (Custom::Migration): {"Respelled":1}',
    ]);
    expect(await run(stackWith('v1'), runtime, dataDir)).toEqual([]);
    await run(stackWith('v2'), runtime, dataDir);
    expect(events.map((e) => e.RequestType)).toEqual(['Create', 'Update']);
    expect(events[0]).toMatchObject({
      LogicalResourceId: 'Run',
      ResourceType: 'Custom::Migration',
      ResourceProperties: { Migration: 'v1' },
    });
    expect(events[1]).toMatchObject({
      OldResourceProperties: { Migration: 'v1' },
      ResourceProperties: { Migration: 'v2' },
    });
    // Without a data folder (in memory) nothing is remembered: every start creates.
    await run(stackWith('v2'), runtime);
    expect(events.at(-1)?.RequestType).toBe('Create');
  });

  it('stops the start on FAILED, with the reason, and when the function never answers', async () => {
    const failing = runtimeAnswering(() => ({ Status: 'FAILED', Reason: 'table unreachable' }));
    await expect(run(stackWith('v1'), failing.runtime, dataDir)).rejects.toThrow(
      'App/Run (Custom::Migration) failed: table unreachable',
    );
    const silent = runtimeAnswering(() => undefined);
    await expect(run(stackWith('v1'), silent.runtime, dataDir)).rejects.toThrow(/without answering/);
  });
});
