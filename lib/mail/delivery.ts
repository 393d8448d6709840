// Mail to people, by key: the address comes from the directory, and a mail that cannot go —
// nobody with that key, no address, an inactive person, or SES refusing it (sandbox,
// unverified identity, throttling, a paused account) — is answered as a refusal with its
// reason, for the caller to record where admins see it. Nothing is silently dropped.
import type { Person } from '../people/model.js';
import type { Mail, Mailer } from '../ports/mailer.js';
import type { PeopleStore } from '../ports/people.js';

export type DirectoryReader = Pick<PeopleStore, 'getPeople'>;

export interface Recipient {
  key: string;
  /** How mails and pages name the person: display name, else login name, else key. */
  name: string;
  address?: string;
  /** Why there is no address to send to. */
  missing?: string;
}

export type Delivery =
  | { sent: true; messageId: string; to: string }
  | { sent: false; to: string; code: string; reason: string };

export const displayNameOf = (person: Person | undefined, key: string) =>
  person?.name ?? person?.login ?? key;

export async function recipientsOf(people: DirectoryReader, keys: string[]): Promise<Map<string, Recipient>> {
  const found = await people.getPeople(keys);
  const out = new Map<string, Recipient>();
  for (const key of keys) {
    const person = found.get(key);
    const name = displayNameOf(person, key);
    if (!person) out.set(key, { key, name, missing: `${key} is not in the directory` });
    else if (!person.active)
      out.set(key, { key, name, missing: `${key} is no longer active in the directory` });
    else if (!person.email)
      out.set(key, { key, name, missing: `the directory has no e-mail address for ${key}` });
    else out.set(key, { key, name, address: person.email });
  }
  return out;
}

/** SES errors that refuse this mail: sending it again as it is will not help (or not soon). */
const SES_REFUSALS = new Set([
  'MessageRejected',
  'MailFromDomainNotVerifiedException',
  'AccountSuspendedException',
  'SendingPausedException',
  'TooManyRequestsException',
  'LimitExceededException',
  'NotFoundException',
  'BadRequestException',
]);

/** The SES refusal an error is, or undefined for anything else (a network error: let it retry). */
export function sesRefusalOf(error: unknown): { code: string; reason: string } | undefined {
  const name = (error as { name?: unknown })?.name;
  if (typeof name !== 'string' || !SES_REFUSALS.has(name)) return undefined;
  return { code: name, reason: String((error as Error).message ?? name).slice(0, 500) };
}

/** Sends `build(address)` to the recipient, or says why it could not. */
export async function deliver(
  mailer: Mailer,
  recipient: Recipient,
  build: (address: string) => Mail,
): Promise<Delivery> {
  if (!recipient.address) {
    return { sent: false, to: recipient.key, code: 'NoAddress', reason: recipient.missing ?? 'no address' };
  }
  try {
    const { messageId } = await mailer.send(build(recipient.address));
    return { sent: true, messageId, to: recipient.key };
  } catch (error) {
    const refusal = sesRefusalOf(error);
    if (!refusal) throw error;
    return { sent: false, to: recipient.key, ...refusal };
  }
}
