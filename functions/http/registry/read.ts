// Registry reads: clients, inventories, history, the catalog, "who has X", the forecast and
// the approver table. Read-only access to the table.
import { sharedDocumentClient } from '../../../lib/adapters/dynamodb/client.js';
import { DynamoLicenceStore } from '../../../lib/adapters/dynamodb/licence-store.js';
import { registryPorts } from '../../../lib/adapters/dynamodb/registry-env.js';
import { json } from '../../../lib/http/handler.js';
import { getPerson, listPeople } from '../../../lib/people/directory.js';
import { listApproverPeriods, lookUpApprover } from '../../../lib/registry/approvers.js';
import { clientsOfUser, getClient, getHistory, getInventory } from '../../../lib/registry/clients.js';
import { forecast, getSoftware, listSoftware, whoHas } from '../../../lib/registry/software.js';
import { readVendorRoot } from '../../../lib/registry/vendor-root.js';
import { spareFor } from '../../../lib/workflow/licences.js';
import { routes } from './route.js';

const ports = registryPorts();
// Owned licences not yet taken (the workflow's pools): the forecast does not buy those.
const licences = new DynamoLicenceStore(sharedDocumentClient(), process.env.TABLE_NAME ?? '');
const forecastPorts = {
  ...ports,
  spareLicences: async (software: string, version: string) =>
    spareFor(await licences.pools(software), version),
};

export const handler = routes({
  'GET /clients/{clientId}': async ({ caller, pathParameters: p }) =>
    json(200, await getClient(ports, caller, p.clientId!)),
  'GET /clients/{clientId}/software': async ({ caller, pathParameters: p, query }) =>
    json(200, await getInventory(ports, caller, p.clientId!, query)),
  'GET /clients/{clientId}/history': async ({ caller, pathParameters: p, query }) =>
    json(200, await getHistory(ports, caller, p.clientId!, query)),
  'GET /users/{user}/clients': async ({ caller, pathParameters: p, query }) =>
    json(200, await clientsOfUser(ports, caller, p.user!, query)),
  'GET /software': async ({ query }) => json(200, await listSoftware(ports, query)),
  'GET /software/{name}': async ({ pathParameters: p }) => json(200, await getSoftware(ports, p.name!)),
  'GET /software/{name}/installations': async ({ caller, pathParameters: p, query }) =>
    json(200, await whoHas(ports, caller, p.name!, query)),
  'GET /software/{name}/forecast': async ({ caller, pathParameters: p, query }) =>
    json(200, await forecast(forecastPorts, caller, p.name!, query)),
  'GET /people': async ({ caller, query }) => json(200, await listPeople(ports, caller, query)),
  'GET /people/{key}': async ({ caller, pathParameters: p }) =>
    json(200, await getPerson(ports, caller, p.key!)),
  'GET /approvers/{user}': async ({ caller, pathParameters: p, query }) =>
    json(200, await lookUpApprover(ports, caller, p.user!, query)),
  'GET /approvers/{user}/periods': async ({ caller, pathParameters: p, query }) =>
    json(200, await listApproverPeriods(ports, caller, p.user!, query)),
  'GET /vendor-root': async ({ caller }) => json(200, await readVendorRoot(ports, caller)),
});
