// The department migration is a deploy step on AWS: a custom resource CloudFormation runs on the
// first deploy that has it and whenever its Migration value changes, served by its own function.
import { Match } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { DEPARTMENT_MIGRATION } from '../../cdk/constructs/department-migration.js';
import { type SynthesizedApp, synthApp } from './synth.js';

describe('department migration on deploy', () => {
  let synth: SynthesizedApp;
  beforeAll(() => {
    synth = synthApp();
  });

  it('is a custom resource served by the migration function, keyed by the migration it runs', () => {
    const t = synth.managementTemplate;
    const functions = t.findResources('AWS::Lambda::Function', {
      Properties: { Description: Match.stringLikeRegexp('department’s first spelling') },
    });
    const ids = Object.keys(functions);
    expect(ids).toHaveLength(1);
    expect(functions[ids[0]!]!.Properties.Timeout).toBe(60);
    t.resourceCountIs('Custom::DepartmentMigration', 1);
    t.hasResourceProperties('Custom::DepartmentMigration', {
      ServiceToken: { 'Fn::GetAtt': [ids[0], 'Arn'] },
      Migration: DEPARTMENT_MIGRATION,
    });
    // The table it migrates reaches it as TABLE_NAME, as every registry function.
    expect(functions[ids[0]!]!.Properties.Environment.Variables.TABLE_NAME.Ref).toMatch(/^RegistryTable/);
  });
});
