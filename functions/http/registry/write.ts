// Registry writes: register clients, inventory reports, catalog entries, approver periods.
import { registryPorts } from '../../../lib/adapters/dynamodb/registry-env.js';
import { json } from '../../../lib/http/handler.js';
import { fileApproverPeriod } from '../../../lib/registry/approvers.js';
import { putClient, reportInventories, reportInventory } from '../../../lib/registry/clients.js';
import { putSoftware } from '../../../lib/registry/software.js';
import { routes } from './route.js';

const ports = registryPorts();

export const handler = routes({
  'PUT /clients/{clientId}': async ({ caller, pathParameters: p, body }) => {
    const { client, created } = await putClient(ports, caller, p.clientId!, body);
    return json(created ? 201 : 200, client);
  },
  'PUT /clients/{clientId}/software': async ({ caller, pathParameters: p, body }) =>
    json(200, await reportInventory(ports, caller, p.clientId!, body)),
  // Several clients' reports in one call (an import, or a relay of agents' reports).
  'POST /inventories': async ({ caller, body }) =>
    json(200, { items: await reportInventories(ports, caller, body) }),
  'PUT /software/{name}': async ({ caller, pathParameters: p, body }) => {
    const { entry, created } = await putSoftware(ports, caller, p.name!, body);
    return json(created ? 201 : 200, entry);
  },
  'POST /approvers/{user}/periods': async ({ caller, pathParameters: p, body }) =>
    json(201, await fileApproverPeriod(ports, caller, p.user!, body)),
});
