// Registry reads: clients, inventories, history, the catalog, "who has X", the forecast and
// the approver table. Read-only access to the table.
import { sharedDocumentClient } from '../../../lib/adapters/dynamodb/client.js';
import { DynamoLicenceStore } from '../../../lib/adapters/dynamodb/licence-store.js';
import { registryPorts } from '../../../lib/adapters/dynamodb/registry-env.js';
import { json } from '../../../lib/http/handler.js';
import { route } from '../../../lib/http/input.js';
import {
  AtQuery,
  ClientPath,
  ForecastQuery,
  InstallationsQuery,
  PageQuery,
  PeriodsQuery,
  PersonPath,
  SoftwarePath,
  UserPath,
} from '../../../lib/http/schemas/registry.js';
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
  'GET /clients/{clientId}': route({ params: ClientPath }, async ({ params }, { caller }) =>
    json(200, await getClient(ports, caller, params.clientId)),
  ),
  'GET /clients/{clientId}/software': route(
    { params: ClientPath, query: PageQuery },
    async ({ params }, { caller, query }) =>
      json(200, await getInventory(ports, caller, params.clientId, query)),
  ),
  'GET /clients/{clientId}/history': route(
    { params: ClientPath, query: PageQuery },
    async ({ params }, { caller, query }) =>
      json(200, await getHistory(ports, caller, params.clientId, query)),
  ),
  'GET /users/{user}/clients': route(
    { params: UserPath, query: PageQuery },
    async ({ params }, { caller, query }) =>
      json(200, await clientsOfUser(ports, caller, params.user, query)),
  ),
  'GET /software': route({ query: PageQuery }, async (_, { query }) =>
    json(200, await listSoftware(ports, query)),
  ),
  'GET /software/{name}': route({ params: SoftwarePath }, async ({ params }) =>
    json(200, await getSoftware(ports, params.name)),
  ),
  'GET /software/{name}/installations': route(
    { params: SoftwarePath, query: InstallationsQuery },
    async ({ params }, { caller, query }) => json(200, await whoHas(ports, caller, params.name, query)),
  ),
  'GET /software/{name}/forecast': route(
    { params: SoftwarePath, query: ForecastQuery },
    async ({ params }, { caller, query }) =>
      json(200, await forecast(forecastPorts, caller, params.name, query)),
  ),
  'GET /people': route({ query: PageQuery }, async (_, { caller, query }) =>
    json(200, await listPeople(ports, caller, query)),
  ),
  'GET /people/{key}': route({ params: PersonPath }, async ({ params }, { caller }) =>
    json(200, await getPerson(ports, caller, params.key)),
  ),
  'GET /approvers/{user}': route(
    { params: UserPath, query: AtQuery },
    async ({ params }, { caller, query }) =>
      json(200, await lookUpApprover(ports, caller, params.user, query)),
  ),
  'GET /approvers/{user}/periods': route(
    { params: UserPath, query: PeriodsQuery },
    async ({ params }, { caller, query }) =>
      json(200, await listApproverPeriods(ports, caller, params.user, query)),
  ),
  'GET /vendor-root': route({}, async (_, { caller }) => json(200, await readVendorRoot(ports, caller))),
});
