// Sign-in as a public browser client: OAuth 2.0 authorization code with PKCE (S256) against the
// organisation's OIDC issuer (Cognito's hosted UI, Entra, Okta, or the local development
// issuer). Browser APIs only (crypto.subtle, fetch, a Storage), no secret: the approval page uses
// it, and the web console will too (docs/identity.md "Signing in from a browser").

/** Where to sign in: the stage config's `auth.signIn`, as the page receives it. */
export interface SignInConfig {
  authorizeUrl: string;
  tokenUrl: string;
  clientId: string;
  /** The one redirect URI registered with the issuer for this client. */
  redirectUri: string;
  scope: string;
}

/** sessionStorage in a browser: what a sign-in keeps between leaving for the issuer and coming back. */
export interface SignInStorage {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

export interface SignedIn {
  /** The ID token (a JWT): the API's authorizer accepts it, its `aud` is the client id. */
  idToken: string;
  /** Epoch milliseconds after which the token is no longer good. */
  expiresAt: number;
  /** Where the sign-in began (the page to go back to). */
  returnTo: string;
}

const PENDING = 'upman.sign-in.pending';
const TOKEN = 'upman.sign-in.token';

function base64url(bytes: Uint8Array): string {
  let text = '';
  for (const b of bytes) text += String.fromCharCode(b);
  return btoa(text).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function randomText(bytes: number): string {
  return base64url(crypto.getRandomValues(new Uint8Array(bytes)));
}

async function s256(text: string): Promise<string> {
  return base64url(new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text))));
}

/**
 * Starts a sign-in: keeps a fresh PKCE verifier and state in `storage` and answers the issuer's
 * authorize URL to navigate to. `returnTo` is where completeSignIn sends the browser back.
 */
export async function beginSignIn(
  config: SignInConfig,
  options: { storage: SignInStorage; returnTo: string },
): Promise<string> {
  const verifier = randomText(32);
  const state = randomText(16);
  options.storage.setItem(PENDING, JSON.stringify({ verifier, state, returnTo: options.returnTo }));
  const url = new URL(config.authorizeUrl);
  url.searchParams.set('response_type', 'code');
  url.searchParams.set('client_id', config.clientId);
  url.searchParams.set('redirect_uri', config.redirectUri);
  url.searchParams.set('scope', config.scope);
  url.searchParams.set('state', state);
  url.searchParams.set('code_challenge', await s256(verifier));
  url.searchParams.set('code_challenge_method', 'S256');
  return url.href;
}

/**
 * Finishes a sign-in on the redirect URI: checks the state, exchanges the code with the verifier
 * at the token endpoint and keeps the ID token in `storage` (never in a URL). Throws with the
 * issuer's reason when the issuer refused or the state is not this browser's.
 */
export async function completeSignIn(
  config: SignInConfig,
  options: { url: string; storage: SignInStorage; fetch?: typeof fetch; now?: () => number },
): Promise<SignedIn> {
  const doFetch = options.fetch ?? fetch;
  const params = new URL(options.url).searchParams;
  const pendingText = options.storage.getItem(PENDING);
  options.storage.removeItem(PENDING);
  if (params.get('error')) {
    throw new Error(`The sign-in was refused: ${params.get('error_description') ?? params.get('error')}`);
  }
  const pending = pendingText
    ? (JSON.parse(pendingText) as { verifier: string; state: string; returnTo: string })
    : undefined;
  if (!pending || params.get('state') !== pending.state) {
    throw new Error('This sign-in was not started here (or was started twice): sign in again.');
  }
  const code = params.get('code');
  if (!code) throw new Error('The issuer sent no code: sign in again.');
  const response = await doFetch(config.tokenUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      code,
      redirect_uri: config.redirectUri,
      client_id: config.clientId,
      code_verifier: pending.verifier,
    }).toString(),
  });
  const answer = (await response.json().catch(() => ({}))) as Record<string, unknown>;
  if (!response.ok || typeof answer.id_token !== 'string') {
    throw new Error(
      `The issuer did not sign you in: ${String(answer.error_description ?? answer.error ?? response.status)}`,
    );
  }
  const now = options.now?.() ?? Date.now();
  const expiresIn = typeof answer.expires_in === 'number' ? answer.expires_in : 300;
  const signedIn = {
    idToken: answer.id_token,
    expiresAt: now + expiresIn * 1000,
    returnTo: pending.returnTo,
  };
  options.storage.setItem(
    TOKEN,
    JSON.stringify({ idToken: signedIn.idToken, expiresAt: signedIn.expiresAt }),
  );
  return signedIn;
}

/** The ID token kept by completeSignIn, while it is good for at least a minute more. */
export function currentSignIn(
  storage: SignInStorage,
  now: number = Date.now(),
): { idToken: string; expiresAt: number } | undefined {
  const text = storage.getItem(TOKEN);
  if (!text) return undefined;
  try {
    const kept = JSON.parse(text) as { idToken: string; expiresAt: number };
    return kept.expiresAt - 60_000 > now ? kept : undefined;
  } catch {
    return undefined;
  }
}

export function signOut(storage: SignInStorage): void {
  storage.removeItem(TOKEN);
}

/** What a JWT says about its holder, for showing "signed in as …" (the API verifies it, not this). */
export function claimsOf(idToken: string): Record<string, unknown> {
  const payload = idToken.split('.')[1] ?? '';
  try {
    const json = atob(payload.replace(/-/g, '+').replace(/_/g, '/'));
    return JSON.parse(decodeURIComponent(escape(json))) as Record<string, unknown>;
  } catch {
    return {};
  }
}
