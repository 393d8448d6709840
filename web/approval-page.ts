// The approval page's script (inlined into the page, allowed by its CSP hash). It signs the
// approver in (web/sign-in.ts) and sends the decision with the link's secret and the ID token
// to POST /approvals/{id}/decision. Without it nothing can be decided: a mail scanner that
// fetches the page, even one running scripts, reaches the issuer's login and stops there.
import {
  beginSignIn,
  claimsOf,
  completeSignIn,
  currentSignIn,
  type SignInConfig,
  signOut,
} from './sign-in.js';

const root = document.getElementById('approval');

function show(id: string, text: string): void {
  const el = document.getElementById(id);
  if (el) {
    el.textContent = text;
    el.hidden = false;
  }
}

async function finishSignIn(config: SignInConfig): Promise<void> {
  try {
    const signedIn = await completeSignIn(config, { url: location.href, storage: sessionStorage });
    // Back to the page the sign-in began on; the code leaves the address bar with this page.
    location.replace(signedIn.returnTo);
  } catch (error) {
    show('status', (error as Error).message);
  }
}

async function decide(config: SignInConfig, decision: string): Promise<void> {
  const token = currentSignIn(sessionStorage);
  if (!token) return void (await signIn(config));
  const form = document.getElementById('decision') as HTMLFormElement;
  const data = new FormData(form);
  for (const b of form.querySelectorAll('button')) b.disabled = true;
  const response = await fetch(`${root!.dataset.approvalId}/decision`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token.idToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ k: data.get('k'), decision, comment: data.get('comment') ?? '' }),
  });
  const answer = (await response.json().catch(() => ({}))) as { message?: string };
  if (response.status === 401) signOut(sessionStorage);
  show('status', answer.message ?? `The decision was not recorded (${response.status}).`);
  if (!response.ok) for (const b of form.querySelectorAll('button')) b.disabled = false;
}

async function signIn(config: SignInConfig): Promise<void> {
  location.assign(await beginSignIn(config, { storage: sessionStorage, returnTo: location.href }));
}

function start(): void {
  if (!root?.dataset.signIn) return;
  const config = JSON.parse(root.dataset.signIn) as SignInConfig;
  if (root.dataset.role === 'signed-in') return void finishSignIn(config);
  const token = currentSignIn(sessionStorage);
  const who = token ? claimsOf(token.idToken) : undefined;
  const name = who
    ? String(who.name ?? who.preferred_username ?? who['cognito:username'] ?? who.email ?? who.sub)
    : '';
  show('who', token ? `Signed in as ${name}.` : `Sign in as ${root.dataset.issuedToName} to decide.`);
  document.getElementById('sign-in')?.addEventListener('click', () => void signIn(config));
  for (const button of document.querySelectorAll<HTMLButtonElement>('button[data-decision]')) {
    button.disabled = false;
    button.addEventListener('click', () => void decide(config, button.dataset.decision!));
  }
}

start();
