// The pages behind an approval link. The page shows the request and whom the link is for to
// whoever opens it, and changes nothing; deciding happens in its script, which signs the
// approver in (web/sign-in.ts) and posts the decision with the link's secret and the ID token.
// `k` stays in the page (never in a request URL it makes); pages send no Referer.
import type { SignInConfig } from '../../web/sign-in.js';
import { documentOf, facts, Html, html } from '../mail/html.js';
import type { ApprovalLink, Decision, UpdateRequest } from './model.js';

/** Headers of every approval page without a script: no caching, no framing, no scripts, no referrer. */
export const PAGE_HEADERS = {
  'content-type': 'text/html; charset=utf-8',
  'cache-control': 'no-store',
  'referrer-policy': 'no-referrer',
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'content-security-policy':
    "default-src 'none'; style-src 'unsafe-inline'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'",
};

/** The page's script and where it signs in (the CSP allows exactly this script). */
export interface PageSignIn {
  config: SignInConfig;
  script: string;
}

function inlineScript(script: string): Html {
  // The CSP hashes the script as it stands, so it cannot be escaped: refuse one that could end the element.
  if (/<\/script/i.test(script)) throw new Error('The page script contains </script');
  return new Html(`<script>${script}</script>`);
}

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
  signIn?: PageSignIn,
): string {
  const requester = nameOf(request.requester);
  const total = (request.steps.S503 as { total?: number } | undefined)?.total;
  const holder = nameOf(link.issuedTo);
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
    ['Link for', holder],
    ['Link expires', link.linkExpiresAt],
  ]);
  const title = `Decide: ${request.software} ${request.targetVersion} for ${requester}`;
  return documentOf(
    title,
    decisionMain(link, holder, k, signIn, rows.html, `Comment (shown to ${requester})`),
  );
}

/** The page's working part: whom the link is for, the sign-in, the decision buttons, the script. */
function decisionMain(
  link: ApprovalLink,
  holder: string,
  k: string,
  signIn: PageSignIn | undefined,
  lead: Html,
  commentLabel: string,
): Html {
  return html`<main id="approval" data-approval-id="${link.approvalId}" data-issued-to="${link.issuedTo}" data-issued-to-name="${holder}" data-sign-in="${signIn ? JSON.stringify(signIn.config) : ''}">
${lead}
<p><strong>This link is for ${holder}.</strong> Only ${holder} (or their delegate), signed in, can decide with it.</p>
<p id="who" hidden></p>
<p><button type="button" id="sign-in" style="padding:.5rem 1rem">Sign in</button></p>
<form id="decision" style="margin-top:1rem">
  <input type="hidden" name="k" value="${k}">
  <p><label for="comment">${commentLabel}</label><br>
  <textarea id="comment" name="comment" rows="4" cols="50" maxlength="1000"></textarea></p>
  <p><button type="button" data-decision="approve" disabled style="padding:.5rem 1rem">Approve</button>
  <button type="button" data-decision="reject" disabled style="padding:.5rem 1rem;margin-left:1rem">Reject</button></p>
</form>
<p id="status" role="status" hidden></p>
<noscript><p>Deciding needs you signed in, and signing in needs JavaScript.</p></noscript>
<p style="color:#666">Nothing is decided until you sign in and press a button. The link works once.</p>
</main>
${signIn ? inlineScript(signIn.script) : ''}`;
}

/**
 * Wrong secrets from this network: the request is not shown (the secret was not checked), but
 * the person the link is for can still sign in and decide (the decision route lets them through).
 */
export function throttledPage(
  link: ApprovalLink,
  k: string,
  message: string,
  nameOf: NameOf,
  signIn: PageSignIn,
): string {
  const holder = nameOf(link.issuedTo);
  return documentOf('Slowed down', decisionMain(link, holder, k, signIn, html`<p>${message}</p>`, 'Comment'));
}

/** The issuer's redirect URI: the script exchanges the code and goes back to the page it came from. */
export function signedInPage(signIn: PageSignIn): string {
  return documentOf(
    'Signing you in…',
    html`<main id="approval" data-role="signed-in" data-sign-in="${JSON.stringify(signIn.config)}">
<p id="status" role="status">One moment: finishing the sign-in.</p>
<noscript><p>Signing in needs JavaScript.</p></noscript>
</main>
${inlineScript(signIn.script)}`,
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
