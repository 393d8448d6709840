// Human labels for the request's steps (MISSION: the patent's step ids).
const LABELS: Record<string, string> = {
  S501: 'request received',
  S502: 'waiting for the budget answer (batched to finance)',
  S503: "finance's budget answer",
  S504: 'approver resolved',
  S505: 'sent to the approver',
  S506: "approver's decision",
  S507: 'purchase order sent to finance',
  S508: 'approved: download granted (upman download)',
  S509: 'rejection sent to you',
  S604: 'download reported to finance',
  S605: 'update recorded in the registry',
};

export function describeStep(step: { step: string; [detail: string]: unknown }): string {
  const label = LABELS[step.step] ?? '';
  const extras = ['decision', 'available', 'approver', 'comment', 'note']
    .filter((k) => step[k] !== undefined && typeof step[k] !== 'object')
    .map((k) => `${k}: ${String(step[k])}`);
  return [label, ...extras].filter(Boolean).join('; ');
}
