// What an approved request costs on the one-step path (the budget answered by the ledger at
// submission, one approver): state transitions as Step Functions bills them (the execution's
// history) and DynamoDB calls as DynamoDB Local receives them (the local cloud's pass-through,
// which counts every call of every function and of the state machine). A cloud of its own, so
// that no other file's executions are counted. Figures per request, not time: speed is bench/'s.
import { describe, expect, it } from 'vitest';
import { withWorkflowSession } from '../../scripts/workflow-costs.js';

describe('the bill of an approved request', () => {
  it('is at most 5 state transitions and 16 DynamoDB calls on the one-step path', async () => {
    await withWorkflowSession({}, async ({ throughWorkflow, coverEveryLine }) => {
      await coverEveryLine('Cost');
      // A container reads a person's directory entry the first time it meets them (the token's
      // claims; the page's names, for a minute): the first request is counted apart, the next
      // ones are the same person's, as most of the bench's 200 requests from 10 people are.
      const once = { concurrency: 1, users: 1 };
      const cold = await throughWorkflow('cold', 'Cost', false, { ...once, n: 1 });
      const warm = await throughWorkflow('warm', 'Cost', false, { ...once, n: 3 });
      expect(cold.lost + warm.lost).toBe(0);
      expect(warm.transitions).toBeLessThanOrEqual(5);
      expect(warm.total / warm.n, warm.byItem.join(', ')).toBeLessThanOrEqual(16);
      // Cold, only the per-container reads come on top.
      expect(cold.total, cold.byItem.join(', ')).toBeLessThanOrEqual(16 + 3);
    });
  }, 600_000);
});
