// The approval's trust pieces in the template: the sweep that hands stuck decisions over, on
// its own schedule and role.
import { beforeAll, describe, expect, it } from 'vitest';
import { type SynthesizedApp, synthApp } from './synth.js';

let synth: SynthesizedApp;

beforeAll(() => {
  synth = synthApp();
});

type Resource = { Type: string; Properties: Record<string, any> };
const resourcesOf = (s: SynthesizedApp) =>
  s.managementTemplate.toJSON().Resources as Record<string, Resource>;

describe('the stuck-decision sweep', () => {
  it('runs every five minutes through a scheduler role that may invoke it and nothing else', () => {
    const all = resourcesOf(synth);
    const [id] = Object.entries(all).find(
      ([key, r]) => r.Type === 'AWS::Lambda::Function' && key.startsWith('WorkflowApiResumeDecisions'),
    )!;
    const schedules = Object.values(all).filter(
      (r) => r.Type === 'AWS::Scheduler::Schedule' && JSON.stringify(r.Properties.Target.Arn).includes(id),
    );
    expect(schedules).toHaveLength(1);
    const schedule = schedules[0]!;
    expect(schedule.Properties.ScheduleExpression).toBe('rate(5 minutes)');
    const roleId = schedule.Properties.Target.RoleArn['Fn::GetAtt'][0] as string;
    const policies = Object.values(all).filter(
      (r) =>
        r.Type === 'AWS::IAM::Policy' &&
        (r.Properties.Roles as Array<{ Ref: string }>).some((ref) => ref.Ref === roleId),
    );
    const statements = policies.flatMap((p) => p.Properties.PolicyDocument.Statement);
    expect(statements).toEqual([
      { Action: 'lambda:InvokeFunction', Effect: 'Allow', Resource: { 'Fn::GetAtt': [id, 'Arn'] } },
    ]);
  });
});
