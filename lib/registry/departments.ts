// Departments compare case-insensitively and keep their first spelling (the store remembers it,
// RegistryStore.departmentSpelling). Registries written before that may hold "Sales" and "sales"
// as two departments: migrateDepartments makes them one, oldest client first, so the spelling
// that was there first stays. It runs as a deploy step (cdk/constructs/department-migration.ts:
// a custom resource on AWS; the local cloud runs custom resources at every start, before the
// demo seed) and is a no-op once done.
import type { RegistryStore } from '../ports/registry.js';
import type { Client } from './model.js';

/**
 * `stopBefore` is asked before each client: a caller with a deadline (the deploy step's function)
 * stops in time and says so (`complete: false`); running again continues, as every client already
 * moved is no change.
 */
export async function migrateDepartments(
  store: RegistryStore,
  stopBefore: () => boolean = () => false,
): Promise<{ clients: number; respelled: number; complete: boolean }> {
  const clients: Client[] = [];
  for await (const client of store.allClients()) clients.push(client);
  clients.sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.clientId.localeCompare(b.clientId));
  let respelled = 0;
  for (const client of clients) {
    if (stopBefore()) return { clients: clients.length, respelled, complete: false };
    const department = await store.departmentSpelling(client.department);
    if (department === client.department) continue;
    // Conditional on the client as read; saveClient re-files its installations under the new key.
    await store.saveClient({ ...client, department }, client);
    respelled++;
  }
  return { clients: clients.length, respelled, complete: true };
}
