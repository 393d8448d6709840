// The staff directory: who a user is by mail. In AWS the address comes from the identity
// provider's `email` claim or this domain rule; locally every demo user gets user@<domain>.
export const DEFAULT_MAIL_DOMAIN = 'upman.example';

// A person's stable key: a Cognito username (may be an e-mail), an OIDC `sub` (Auth0's
// "auth0|…", Google's digits) or Entra's `oid` (a UUID). No spaces, no "#" (the item keys' separator).
const USER_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._@+=:|-]{0,127}$/;

export function isValidUserName(user: string): boolean {
  return USER_PATTERN.test(user);
}

export function mailAddressOf(user: string, domain: string = DEFAULT_MAIL_DOMAIN): string {
  if (!isValidUserName(user)) throw new Error(`Not a user name: ${JSON.stringify(user)}`);
  return `${user.toLowerCase()}@${domain}`;
}
