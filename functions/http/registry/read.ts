// Registry reads: clients, inventories, history, the catalog, "who has X", the forecast and
// the approver table. Read-only access to the table.
import { sharedDocumentClient } from '../../../lib/adapters/dynamodb/client.js';
import { DynamoLicenceStore } from '../../../lib/adapters/dynamodb/licence-store.js';
import { registryPorts } from '../../../lib/adapters/dynamodb/registry-env.js';
import { json } from '../../../lib/http/handler.js';
import { route } from '../../../lib/http/input.js';
import { API_INPUTS } from '../../../lib/http/schemas/api.js';
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
  'GET /clients/{clientId}': route(API_INPUTS['GET /clients/{clientId}'], async ({ params }, { caller }) =>
    json(200, await getClient(ports, caller, params.clientId)),
  ),
  'GET /clients/{clientId}/software': route(
    API_INPUTS['GET /clients/{clientId}/software'],
    async ({ params }, { caller, query }) =>
      json(200, await getInventory(ports, caller, params.clientId, query)),
  ),
  'GET /clients/{clientId}/history': route(
    API_INPUTS['GET /clients/{clientId}/history'],
    async ({ params }, { caller, query }) =>
      json(200, await getHistory(ports, caller, params.clientId, query)),
  ),
  'GET /users/{user}/clients': route(
    API_INPUTS['GET /users/{user}/clients'],
    async ({ params }, { caller, query }) =>
      json(200, await clientsOfUser(ports, caller, params.user, query)),
  ),
  'GET /software': route(API_INPUTS['GET /software'], async (_, { query }) =>
    json(200, await listSoftware(ports, query)),
  ),
  'GET /software/{name}': route(API_INPUTS['GET /software/{name}'], async ({ params }) =>
    json(200, await getSoftware(ports, params.name)),
  ),
  'GET /software/{name}/installations': route(
    API_INPUTS['GET /software/{name}/installations'],
    async ({ params }, { caller, query }) => json(200, await whoHas(ports, caller, params.name, query)),
  ),
  'GET /software/{name}/forecast': route(
    API_INPUTS['GET /software/{name}/forecast'],
    async ({ params }, { caller, query }) =>
      json(200, await forecast(forecastPorts, caller, params.name, query)),
  ),
  'GET /people': route(API_INPUTS['GET /people'], async (_, { caller, query }) =>
    json(200, await listPeople(ports, caller, query)),
  ),
  'GET /people/{key}': route(API_INPUTS['GET /people/{key}'], async ({ params }, { caller }) =>
    json(200, await getPerson(ports, caller, params.key)),
  ),
  'GET /approvers/{user}': route(API_INPUTS['GET /approvers/{user}'], async ({ params }, { caller, query }) =>
    json(200, await lookUpApprover(ports, caller, params.user, query)),
  ),
  'GET /approvers/{user}/periods': route(
    API_INPUTS['GET /approvers/{user}/periods'],
    async ({ params }, { caller, query }) =>
      json(200, await listApproverPeriods(ports, caller, params.user, query)),
  ),
  'GET /vendor-root': route(API_INPUTS['GET /vendor-root'], async (_, { caller }) =>
    json(200, await readVendorRoot(ports, caller)),
  ),
});
