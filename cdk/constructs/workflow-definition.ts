// The ASL file keeps numbers it takes from the stage config as quoted placeholders
// ("TimeoutSeconds": "${ApprovalReminderSeconds}") so that it stays valid JSON; CloudFormation's
// DefinitionSubstitutions can only put text inside strings. renderAsl turns those into numbers
// at synth time; every other ${Name} is left for definitionSubstitutions (ARNs, URLs).
import { readFileSync } from 'node:fs';

export function renderAsl(text: string, numbers: Record<string, number>): string {
  for (const [name, value] of Object.entries(numbers)) {
    if (!Number.isInteger(value) || value < 1 || value > 31_536_000) {
      throw new Error(
        `ASL number ${name} must be an integer number of seconds from 1 to one year, got ${value}`,
      );
    }
  }
  const rendered = text.replace(/"\$\{([A-Za-z0-9_]+)\}"/g, (match, name: string) =>
    numbers[name] === undefined ? match : String(numbers[name]),
  );
  const missing = [
    ...rendered.matchAll(/"(TimeoutSeconds|HeartbeatSeconds|Seconds)":\s*"\$\{([A-Za-z0-9_]+)\}"/g),
  ].map((m) => m[2]);
  if (missing.length > 0) throw new Error(`No value for ASL number(s): ${missing.join(', ')}`);
  return rendered;
}

export function renderAslFile(path: string, numbers: Record<string, number>): string {
  return renderAsl(readFileSync(path, 'utf8'), numbers);
}

/** The update-request machine's numbers, from the stage config. */
export function workflowNumbers(approval: {
  reminderSeconds: number;
  escalationSeconds: number;
  expirySeconds: number;
  budgetAnswerSeconds: number;
}): Record<string, number> {
  return {
    ApprovalReminderSeconds: approval.reminderSeconds,
    ApprovalEscalationSeconds: approval.escalationSeconds,
    ApprovalExpirySeconds: approval.expirySeconds,
    BudgetAnswerTimeoutSeconds: approval.budgetAnswerSeconds,
  };
}
