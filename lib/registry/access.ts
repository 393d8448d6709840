// Who may do what in the registry (issue 3 "Authorisation"). Admins read and write everything;
// an employee reads and reports only for the clients that list them among their users (the
// agent runs with its employee's token, so "its own client" is a client listing that user).
import { Forbidden } from '../errors.js';
import { type Caller, hasRole } from '../http/identity.js';
import type { Client } from './model.js';

export const isAdmin = (caller: Caller) => hasRole(caller, 'admins');

export function isUserOf(caller: Caller, client: Client): boolean {
  return client.users.includes(caller.user);
}

export function assertCanRead(caller: Caller, client: Client): void {
  if (!isAdmin(caller) && !isUserOf(caller, client)) {
    throw new Forbidden(`Only the users of client ${client.clientId} or an admin may read it`);
  }
}

export function assertCanReport(caller: Caller, client: Client): void {
  if (!isAdmin(caller) && !isUserOf(caller, client)) {
    throw new Forbidden(
      `Only an agent of client ${client.clientId} (one of its users) or an admin may report for it`,
    );
  }
}
