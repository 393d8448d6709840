// The staff directory: who a user is by mail. In AWS the address comes from the identity
// provider's `email` claim or this domain rule; locally every demo user gets user@<domain>.
export const DEFAULT_MAIL_DOMAIN = 'upman.example';

const USER_PATTERN = /^[a-z0-9][a-z0-9._-]{0,63}$/i;

export function isValidUserName(user: string): boolean {
  return USER_PATTERN.test(user);
}

export function mailAddressOf(user: string, domain: string = DEFAULT_MAIL_DOMAIN): string {
  if (!isValidUserName(user)) throw new Error(`Not a user name: ${JSON.stringify(user)}`);
  return `${user.toLowerCase()}@${domain}`;
}
