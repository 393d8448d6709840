import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../cdk/config.js';
import { UPDATE_REQUEST_ASL } from '../../cdk/constructs/update-workflow.js';
import { renderAsl, workflowNumbers } from '../../cdk/constructs/workflow-definition.js';

const require = createRequire(import.meta.url);
const aslValidator = require('asl-validator') as (
  definition: unknown,
  options?: { checkPaths?: boolean; checkArn?: boolean },
) => { isValid: boolean; errorsText: (sep?: string) => string };

type State = Record<string, unknown> & { Type: string };

const raw = readFileSync(UPDATE_REQUEST_ASL, 'utf8');
const config = loadConfig({});
// As CloudFormation would see it: numbers rendered, other placeholders filled like a deploy.
const rendered = renderAsl(raw, workflowNumbers(config.approval))
  .replaceAll('${Partition}', 'aws')
  .replaceAll('${RegistryTableName}', 'upman-registry')
  .replaceAll('${PurchaseOrderQueueUrl}', 'https://sqs.us-east-1.amazonaws.com/123456789012/po')
  .replace(/\$\{([A-Za-z]+)FunctionArn\}/g, 'arn:aws:lambda:us-east-1:123456789012:function:$1');
const definition = JSON.parse(rendered) as { StartAt: string; States: Record<string, State> };
const states = Object.entries(definition.States);

const catches = (s: State) => (s.Catch as Array<{ ErrorEquals: string[]; Next: string }> | undefined) ?? [];
const retries = (s: State) => (s.Retry as Array<{ ErrorEquals: string[] }> | undefined) ?? [];

describe('the update-request state machine (ASL)', () => {
  it('is valid ASL for asl-validator', () => {
    const result = aslValidator(definition, { checkArn: true, checkPaths: true });
    expect(result.errorsText('\n')).toBe('');
    expect(result.isValid).toBe(true);
  });

  it('is valid JSON as written, with quoted number placeholders', () => {
    expect(() => JSON.parse(raw)).not.toThrow();
    expect(raw).toContain('"TimeoutSeconds": "${ApprovalReminderSeconds}"');
  });

  it('uses JSONPath only', () => {
    expect(rendered).not.toContain('JSONata');
    expect(rendered).not.toMatch(/"(Arguments|Output|Assign)"\s*:/);
  });

  it('gives every waitForTaskToken state a TimeoutSeconds and a Catch for States.Timeout', () => {
    const waits = states.filter(([, s]) => String(s.Resource ?? '').endsWith('.waitForTaskToken'));
    expect(waits.map(([n]) => n)).toEqual([
      'S502 AwaitBudget',
      'S505 RequestApproval',
      'S505 Remind',
      'S505 Escalate',
      'S505 SecondApproval',
      'S505 SecondRemind',
    ]);
    for (const [name, s] of waits) {
      expect(typeof s.TimeoutSeconds, name).toBe('number');
      expect(s.TimeoutSeconds as number, name).toBeGreaterThan(0);
      const timeout = catches(s).find((c) => c.ErrorEquals.includes('States.Timeout'));
      expect(timeout, `${name} catches States.Timeout`).toBeDefined();
      expect(definition.States[timeout!.Next], name).toBeDefined();
      expect(JSON.stringify(s.Parameters)).toContain('$$.Task.Token');
    }
  });

  it('gives every Task a Retry for transient errors and a Catch for States.ALL', () => {
    const tasks = states.filter(([, s]) => s.Type === 'Task');
    expect(tasks.length).toBeGreaterThanOrEqual(12);
    for (const [name, s] of tasks) {
      expect(retries(s).length, `${name} retries`).toBeGreaterThan(0);
      expect(
        retries(s).some((r) => r.ErrorEquals.includes('States.ALL')),
        `${name} retries only transient`,
      ).toBe(false);
      expect(
        catches(s).some((c) => c.ErrorEquals.includes('States.ALL')),
        `${name} catches all`,
      ).toBe(true);
      expect(typeof s.TimeoutSeconds, `${name} has a timeout`).toBe('number');
    }
  });

  it('takes the timeouts from the stage config: reminder, then escalation, then expiry', () => {
    const s = definition.States;
    expect(s['S505 RequestApproval']!.TimeoutSeconds).toBe(config.approval.reminderSeconds);
    expect(
      catches(s['S505 RequestApproval']!).find((c) => c.ErrorEquals.includes('States.Timeout'))!.Next,
    ).toBe('S505 Remind');
    expect(s['S505 Remind']!.TimeoutSeconds).toBe(config.approval.escalationSeconds);
    expect(catches(s['S505 Remind']!).find((c) => c.ErrorEquals.includes('States.Timeout'))!.Next).toBe(
      'S505 Escalate',
    );
    expect(s['S505 Escalate']!.TimeoutSeconds).toBe(config.approval.expirySeconds);
    expect(catches(s['S505 Escalate']!).find((c) => c.ErrorEquals.includes('States.Timeout'))!.Next).toBe(
      'Approval expired',
    );
    expect(s['S502 AwaitBudget']!.TimeoutSeconds).toBe(config.approval.budgetAnswerSeconds);
    // The second approval (above the cost threshold): its own reminder, then expiry.
    expect(s['S505 SecondApproval']!.TimeoutSeconds).toBe(config.approval.reminderSeconds);
    expect(
      catches(s['S505 SecondApproval']!).find((c) => c.ErrorEquals.includes('States.Timeout'))!.Next,
    ).toBe('S505 SecondRemind');
    expect(s['S505 SecondRemind']!.TimeoutSeconds).toBe(config.approval.expirySeconds);
    expect(catches(s['S505 SecondRemind']!).find((c) => c.ErrorEquals.includes('States.Timeout'))!.Next).toBe(
      'Approval expired',
    );
  });

  it('reaches a defined end from every state, and every state is reachable', () => {
    const reachable = new Set<string>();
    const visit = (name: string) => {
      if (reachable.has(name)) return;
      const s = definition.States[name];
      expect(s, `state ${name} exists`).toBeDefined();
      reachable.add(name);
      const next = [
        s!.Next,
        s!.Default,
        ...catches(s!).map((c) => c.Next),
        ...((s!.Choices as Array<{ Next: string }> | undefined) ?? []).map((c) => c.Next),
      ].filter((n): n is string => typeof n === 'string');
      if (next.length === 0)
        expect(['Succeed', 'Fail'].includes(s!.Type) || s!.End === true, name).toBe(true);
      next.forEach(visit);
    };
    visit(definition.StartAt);
    expect([...reachable].sort()).toEqual(Object.keys(definition.States).sort());
  });

  it('passes only opaque ids out: no task token goes to a queue or a mail', () => {
    const sqsTasks = states.filter(([, s]) => String(s.Resource).includes(':sqs:'));
    for (const [name, s] of sqsTasks) expect(JSON.stringify(s.Parameters), name).not.toContain('Task.Token');
  });

  it('refuses to render without a value for a timeout', () => {
    expect(() => renderAsl(raw, {})).toThrow(/No value for ASL number/);
    expect(() => renderAsl(raw, { ...workflowNumbers(config.approval), ApprovalReminderSeconds: 0 })).toThrow(
      /ApprovalReminderSeconds/,
    );
  });
});
