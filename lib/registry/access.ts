// Who may do what in the registry (issue 3 "Authorisation"). Admins read and write everything;
// an employee reads and reports only for the clients that list them among their users (the
// agent runs with its employee's token, so "its own client" is a client listing that user),
// and enrols a new client only for themselves (issue 6: `upman agent register` on a fresh PC).
import { Forbidden } from '../errors.js';
import { type Caller, hasRole, readsEverything } from '../http/identity.js';
import type { Client } from './model.js';

export const isAdmin = (caller: Caller) => hasRole(caller, 'admins');

export function isUserOf(caller: Caller, client: Client): boolean {
  return client.users.includes(caller.user);
}

export function assertCanRead(caller: Caller, client: Client): void {
  if (!readsEverything(caller) && !isUserOf(caller, client)) {
    throw new Forbidden(`Only the users of client ${client.clientId}, an admin or an auditor may read it`);
  }
}

export function assertCanReport(caller: Caller, client: Client): void {
  if (!isAdmin(caller) && !isUserOf(caller, client)) {
    throw new Forbidden(
      `Only an agent of client ${client.clientId} (one of its users) or an admin may report for it`,
    );
  }
}

/** What PUT /clients/{clientId} asks to store (validated), as far as the rules look at it. */
export interface ClientChange {
  department: string;
  users: string[];
}

/**
 * Who may register or change a client (PUT /clients/{clientId}):
 * - admins: anything;
 * - an employee enrols a client that does not exist yet, for themselves only: `users` is
 *   exactly [the caller] (listing someone would give them the PC's data and requests); an
 *   admin adds further users;
 * - a user of an existing client (its agent) keeps name, address and OS id current, and may
 *   change the department only while the sole user (their own PC; a shared PC's department,
 *   which its other users' requests are charged to, is the admin's); never `users`.
 * `previous` undefined means the client does not exist; the store's write is conditional on
 * that, so a concurrent enrolment of the same id loses with 409 rather than taking it over.
 */
export function assertCanPutClient(
  caller: Caller,
  clientId: string,
  change: ClientChange,
  previous: Client | undefined,
): void {
  if (isAdmin(caller)) return;
  if (!previous) {
    if (!hasRole(caller, 'employees')) {
      throw new Forbidden('Only an employee (for their own PC) or an admin may register a client');
    }
    if (change.users.length !== 1 || change.users[0] !== caller.user) {
      throw new Forbidden(
        `An employee registers a client for themselves only: users must be ["${caller.user}"]; an admin adds other users`,
        'users',
      );
    }
    return;
  }
  if (!isUserOf(caller, previous)) {
    throw new Forbidden(
      `Client ${clientId} is registered to other users: only they or an admin may change it`,
      'clientId',
    );
  }
  const sameUsers = [...previous.users].sort().join('\n') === [...change.users].sort().join('\n');
  if (!sameUsers) {
    throw new Forbidden(`Only an admin may change the users of client ${clientId}`, 'users');
  }
  if (change.department !== previous.department && previous.users.length !== 1) {
    throw new Forbidden(
      `Client ${clientId} is shared by ${previous.users.length} users: only an admin may change its department`,
      'department',
    );
  }
}
