// A person's stable key (docs/identity.md): a Cognito username (may be an e-mail), an OIDC `sub`
// (Auth0's "auth0|…", Google's digits) or Entra's `oid` (a UUID). No spaces, no "#" (the item
// keys' separator). Addresses and names live in the directory of people (lib/people/).
const USER_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._@+=:|-]{0,127}$/;

export function isValidUserName(user: string): boolean {
  return USER_PATTERN.test(user);
}
