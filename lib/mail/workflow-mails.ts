// The workflow's mails (S505 approval, reminder, escalation; S508 approved; S509 rejected;
// expired; failed). Each is HTML plus plain text with the same content. Mail scanners fetch
// every link with GET and HEAD (some run scripts): a mail carries no key and no link whose
// fetch changes anything; the approval link opens a page that decides nothing by itself.

import type { Mail } from '../ports/mailer.js';
import { documentOf, facts, html } from './html.js';

export interface RequestFacts {
  requestId: string;
  requester: string;
  clientId: string;
  department: string;
  software: string;
  targetVersion: string;
  reason?: string;
  quantity: number;
  unitPrice: number;
}

export interface BudgetFacts {
  available: boolean | null;
  note?: string;
  total?: number;
}

const money = (n: number | undefined) => (n === undefined ? undefined : n.toFixed(2));

function requestRows(r: RequestFacts): Array<[string, unknown]> {
  return [
    ['Request', r.requestId],
    ['Requested by', r.requester],
    ['Department', r.department],
    ['Client', r.clientId],
    ['Software', `${r.software} ${r.targetVersion}`],
    ['Licences', r.quantity],
    ['Unit price', money(r.unitPrice)],
    ['Reason', r.reason],
  ];
}

function budgetText(b: BudgetFacts): string {
  if (b.available === null) return 'no answer from finance';
  return `${b.available ? 'budget available' : 'NO budget available'}${b.note ? ` — ${b.note}` : ''}`;
}

export type ApprovalMailKind = 'initial' | 'reminder' | 'escalation' | 'second' | 'second-reminder';

/** S505: to one decider, with their own link. */
export function approvalMail(p: {
  to: string;
  recipient: string;
  kind: ApprovalMailKind;
  request: RequestFacts;
  budget: BudgetFacts;
  link: string;
  linkExpiresAt: string;
  /** For an escalation: whose decision it was first. */
  escalatedFrom?: string;
  onBehalfOf?: string;
  /** For the second approval (above the cost threshold): who approved first. */
  firstApprovedBy?: string;
}): Mail {
  const { request: r } = p;
  const second = p.kind === 'second' || p.kind === 'second-reminder';
  const subject = second
    ? `${p.kind === 'second-reminder' ? 'Reminder: second' : 'Second'} approval: approve ${r.software} ${r.targetVersion} for ${r.requester}?`
    : p.kind === 'reminder'
      ? `Reminder: approve ${r.software} ${r.targetVersion} for ${r.requester}?`
      : p.kind === 'escalation'
        ? `Escalated: approve ${r.software} ${r.targetVersion} for ${r.requester}?`
        : `Approve ${r.software} ${r.targetVersion} for ${r.requester}?`;
  const lead = second
    ? `${p.firstApprovedBy ?? 'The approver'} approved this request; it costs more than one approval may allow, so yours is needed too.`
    : p.kind === 'reminder'
      ? `This request still waits for your decision.`
      : p.kind === 'escalation'
        ? `${p.escalatedFrom ?? 'The approver'} did not decide in time, so this request comes to you.`
        : `${r.requester} asks for an update.`;
  const delegation = p.onBehalfOf ? `You are asked as the delegate of ${p.onBehalfOf}.` : '';
  const rows = facts([
    ...requestRows(r),
    ['Finance', budgetText(p.budget)],
    ['Total', money(p.budget.total)],
  ]);
  const body = html`<p>${lead} ${delegation}</p>${rows.html}
<p style="margin:1.5rem 0"><a href="${p.link}" style="background:#0b5cad;color:#fff;padding:.6rem 1rem;border-radius:4px;text-decoration:none">Review and decide</a></p>
<p>Or open this link: <a href="${p.link}">${p.link}</a></p>
<p style="color:#666">The link is for ${p.recipient} only, works once, and expires at ${p.linkExpiresAt}. Opening it changes nothing: you decide on the page.</p>`;
  const text = `${lead}${delegation ? ` ${delegation}` : ''}

${rows.text}

Review and decide: ${p.link}

The link is for ${p.recipient} only, works once, and expires at ${p.linkExpiresAt}.
Opening it changes nothing: you decide on the page.
`;
  return { to: [p.to], subject, html: documentOf(subject, body), text, tag: `approval-${r.requestId}` };
}

/**
 * S508: approved. No key and no download link: the employee runs `upman download` on the
 * client, which asks for a key as the signed-in employee, verifies, installs and confirms.
 */
export function approvedMail(p: {
  to: string;
  request: RequestFacts;
  approvedBy: string;
  grantId: string;
  /** The release the grant is for, when one is published. */
  release?: { version: string; revision: number };
  /** Why no release is ready (GrantResult.keyPending); default: nothing published yet. */
  keyPending?: 'not-published' | 'access-denied';
  comment?: string;
}): Mail {
  const r = p.request;
  const subject = `Approved: ${r.software} ${r.targetVersion}`;
  const pending =
    p.keyPending === 'access-denied'
      ? "The vendor's download site refused to hand out a key for now (AccessDenied; your administrator is told); the grant stands."
      : 'No release is published yet; you can download once the vendor publishes, and the grant stands.';
  const rows = facts([
    ...requestRows(r),
    ['Approved by', p.approvedBy],
    ['Comment', p.comment],
    ['Grant', p.grantId],
    ['Release', p.release ? `${p.release.version} (revision ${p.release.revision})` : undefined],
  ]);
  const command = `upman download ${r.requestId}`;
  const how = `When you want to update, run on ${r.clientId}: `;
  const after = '(it asks for a download key as you, downloads, verifies and installs).';
  const lead = p.release ? '' : `${pending} `;
  const body = html`<p>Your request was approved. You choose when to download: nothing updates by itself.</p>${rows.html}<p>${lead}${how}<code>${command}</code> ${after}</p>`;
  const text = `Your request was approved. You choose when to download: nothing updates by itself.

${rows.text}

${lead}${how}${command}
${after}
`;
  return { to: [p.to], subject, html: documentOf(subject, body), text, tag: `approved-${r.requestId}` };
}

/** S509: rejected, with the approver's comment. */
export function rejectedMail(p: {
  to: string;
  request: RequestFacts;
  rejectedBy: string;
  comment: string;
}): Mail {
  const r = p.request;
  const subject = `Rejected: ${r.software} ${r.targetVersion}`;
  const rows = facts([...requestRows(r), ['Rejected by', p.rejectedBy], ['Comment', p.comment || '(none)']]);
  const body = html`<p>Your request was rejected.</p>${rows.html}`;
  const text = `Your request was rejected.\n\n${rows.text}\n`;
  return { to: [p.to], subject, html: documentOf(subject, body), text, tag: `rejected-${r.requestId}` };
}

/** The request ended without a decision (approval or finance did not answer in time). */
export function expiredMail(p: { to: string; request: RequestFacts; reason: string }): Mail {
  const r = p.request;
  const subject = `Expired: ${r.software} ${r.targetVersion}`;
  const rows = facts([...requestRows(r), ['Why', p.reason]]);
  const body = html`<p>Your request expired without a decision. You may file it again.</p>${rows.html}`;
  const text = `Your request expired without a decision. You may file it again.\n\n${rows.text}\n`;
  return { to: [p.to], subject, html: documentOf(subject, body), text, tag: `expired-${r.requestId}` };
}

/** The request could not go on (e.g. no approver on record, S504). */
export function failedMail(p: { to: string; request: RequestFacts; reason: string }): Mail {
  const r = p.request;
  const subject = `Could not process: ${r.software} ${r.targetVersion}`;
  const rows = facts([...requestRows(r), ['Why', p.reason]]);
  const body = html`<p>Your request could not be processed.</p>${rows.html}`;
  const text = `Your request could not be processed.\n\n${rows.text}\n`;
  return { to: [p.to], subject, html: documentOf(subject, body), text, tag: `failed-${r.requestId}` };
}

/** Wrong secrets on an approval link from one address: the approver and the admins are told once. */
export function secretMissesMail(p: {
  to: string[];
  requestId: string;
  linkFor: string;
  count: number;
  sourceAddress: string;
}): Mail {
  const subject = `Security: wrong secrets tried on an approval link (${p.requestId})`;
  const rows = facts([
    ['Request', p.requestId],
    ['Link for', p.linkFor],
    ['Wrong secrets', p.count],
    ['From address', p.sourceAddress],
  ]);
  const lead =
    'Someone keeps trying wrong secrets on an approval link. Nothing was decided: deciding needs the person the link is for, signed in. Further tries from that address are slowed down.';
  return {
    to: p.to,
    subject,
    html: documentOf(subject, html`<p>${lead}</p>${rows.html}`),
    text: `${lead}\n\n${rows.text}\n`,
    tag: `secret-misses-${p.requestId}`,
  };
}
