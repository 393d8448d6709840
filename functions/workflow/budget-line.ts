// S502 task (lambda:invoke.waitForTaskToken): files the request's budget line with its token.
import { fileBudgetLine } from '../../lib/workflow/budget.js';
import type { ExecutionInput } from '../../lib/workflow/model.js';
import { budgetPorts, budgetSchedule } from './deps.js';

const ports = { ...budgetPorts(), schedule: budgetSchedule() };

export const handler = async (event: { taskToken: string; request: ExecutionInput; executionArn?: string }) =>
  fileBudgetLine(ports, {
    ...event.request,
    taskToken: event.taskToken,
    ...(event.executionArn ? { executionArn: event.executionArn } : {}),
  });
