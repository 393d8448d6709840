// The pages behind an approval link. The form posts to the same path; `k` travels in a hidden
// field (not the action URL) and pages send no Referer, so the secret stays out of logs.
import { documentOf, facts, html } from '../mail/html.js';
import type { ApprovalLink, Decision, UpdateRequest } from './model.js';

/** Headers of every approval page: no caching, no framing, no scripts, no referrer. */
export const PAGE_HEADERS = {
  'content-type': 'text/html; charset=utf-8',
  'cache-control': 'no-store',
  'referrer-policy': 'no-referrer',
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'content-security-policy':
    "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
};

function budgetLine(r: UpdateRequest): string {
  const s = r.steps.S503 as { available?: boolean; note?: string; total?: number } | undefined;
  if (!s) return 'no answer from finance';
  return `${s.available ? 'budget available' : 'NO budget available'}${s.note ? ` — ${s.note}` : ''}`;
}

/** How the pages name people: display names from the directory, by key (the key when unknown). */
export type NameOf = (key: string) => string;

export function approvalPage(
  link: ApprovalLink,
  request: UpdateRequest,
  k: string,
  nameOf: NameOf = (x) => x,
): string {
  const requester = nameOf(request.requester);
  const total = (request.steps.S503 as { total?: number } | undefined)?.total;
  const rows = facts([
    ['Request', request.requestId],
    ['Requested by', requester],
    ['Department', request.department],
    ['Client', request.clientId],
    ['Software', `${request.software} ${request.targetVersion}`],
    ['Licences', request.quantity],
    ['Total', total?.toFixed(2)],
    ['Reason', request.reason],
    ['Finance', budgetLine(request)],
    ['Link for', nameOf(link.issuedTo)],
    ['Link expires', link.linkExpiresAt],
  ]);
  const title = `Decide: ${request.software} ${request.targetVersion} for ${requester}`;
  return documentOf(
    title,
    html`${rows.html}
<form method="post" action="${link.approvalId}" style="margin-top:1.5rem">
  <input type="hidden" name="k" value="${k}">
  <input type="hidden" name="approver" value="${link.issuedTo}">
  <p><label for="comment">Comment (shown to ${requester})</label><br>
  <textarea id="comment" name="comment" rows="4" cols="50" maxlength="1000"></textarea></p>
  <p><button type="submit" name="decision" value="approve" style="padding:.5rem 1rem">Approve</button>
  <button type="submit" name="decision" value="reject" style="padding:.5rem 1rem;margin-left:1rem">Reject</button></p>
</form>
<p style="color:#666">Nothing is decided until you press a button. The link works once.</p>`,
  );
}

export function decidedPage(
  decision: Decision,
  request: UpdateRequest,
  resumed: boolean,
  nameOf: NameOf = (x) => x,
): string {
  const verb = decision.decision === 'approve' ? 'approved' : 'rejected';
  return documentOf(
    `Recorded: ${verb}`,
    html`<p>You ${verb} ${request.software} ${request.targetVersion} for ${nameOf(request.requester)}.</p>
${
  facts([
    ['Request', request.requestId],
    ['Decided by', nameOf(decision.decidedBy)],
    ['At', decision.decidedAt],
    ['Comment', decision.comment],
  ]).html
}
${resumed ? '' : html`<p>The request continues as soon as its workflow picks the decision up.</p>`}`,
  );
}

export function refusedPage(statusCode: number, message: string): string {
  const title =
    statusCode === 409
      ? 'Already decided'
      : statusCode === 410
        ? 'This link has expired'
        : statusCode === 404
          ? 'Link not found'
          : statusCode === 400
            ? 'Incomplete form'
            : 'This link cannot be used';
  return documentOf(title, html`<p>${message}</p><p>Nothing was changed.</p>`);
}
