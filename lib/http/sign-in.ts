// The server's side of signing in from a browser (docs/identity.md "Signing in from a browser"):
// the stage config's `auth.signIn` as the functions receive it (env SIGN_IN, parsed once), the
// one redirect URI of the API, and what a page that signs in may load and call (its CSP).
import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { SignInConfig } from '../../web/sign-in.js';

export const SIGN_IN_ENV = 'SIGN_IN';
/** The API path the issuer sends the browser back to (register `<API URL>/signed-in` with it). */
export const SIGNED_IN_PATH = '/signed-in';

// https, or plain http on loopback only (the local cloud's development issuer).
const httpsUrl = z
  .string()
  .max(2000)
  .refine(
    (u) =>
      /^https:\/\/[^\s/]+(\/\S*)?$/.test(u) || /^http:\/\/(127\.0\.0\.1|localhost)(:\d+)?(\/\S*)?$/.test(u),
    'must be an https URL',
  );

export const SignInSettingsSchema = z
  .object({
    authorizeUrl: httpsUrl,
    tokenUrl: httpsUrl,
    clientId: z.string().regex(/^[A-Za-z0-9._:-]{1,128}$/, 'must be a client id (letters, digits, ._:-)'),
    scope: z.string().regex(/^[\x21-\x7e]+( [\x21-\x7e]+)*$/, 'must be space-separated scope names'),
  })
  .strict();

/** The stage config's `auth.signIn`: the issuer's authorize and token endpoints, a public client. */
export type SignInSettings = z.infer<typeof SignInSettingsSchema>;

/** The settings the API functions get; the local cloud points the URLs at its own issuer. */
export function signInFromEnv(env: NodeJS.ProcessEnv = process.env): SignInSettings {
  const raw = env[SIGN_IN_ENV];
  if (!raw) throw new Error(`Environment variable ${SIGN_IN_ENV} is not set`);
  const parsed = SignInSettingsSchema.safeParse(JSON.parse(raw));
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new Error(`${SIGN_IN_ENV}.${issue.path.join('.')}: ${issue.message}`);
  }
  return parsed.data;
}

/** What the browser module needs: the settings and the API's one redirect URI. */
export function browserSignIn(settings: SignInSettings, apiUrl: string): SignInConfig {
  return { ...settings, redirectUri: `${apiUrl.replace(/\/$/, '')}${SIGNED_IN_PATH}` };
}

/**
 * The CSP of a page that runs `script` inline and signs in: that script only (by its hash), calls
 * to this API and to the issuer's token endpoint, no forms, no frames, no base.
 */
export function signInPageCsp(script: string, settings: SignInSettings): string {
  const hash = createHash('sha256').update(script).digest('base64');
  const tokenOrigin = new URL(settings.tokenUrl).origin;
  return [
    "default-src 'none'",
    `script-src 'sha256-${hash}'`,
    `connect-src 'self' ${tokenOrigin}`,
    "style-src 'unsafe-inline'",
    "form-action 'none'",
    "frame-ancestors 'none'",
    "base-uri 'none'",
  ].join('; ');
}
