// The registry's write routes: register clients, inventory reports, catalog entries, approver
// periods, the directory of people; each a schema for its input and one use-case call.
import { json } from '../../../lib/http/handler.js';
import { route } from '../../../lib/http/input.js';
import { API_INPUTS } from '../../../lib/http/schemas/api.js';
import type { PeoplePorts } from '../../../lib/people/directory.js';
import { importPeople, importRowsOf, putPerson } from '../../../lib/people/directory.js';
import { type ApproverPorts, fileApproverPeriod } from '../../../lib/registry/approvers.js';
import {
  type ClientPorts,
  putClient,
  reportInventories,
  reportInventory,
} from '../../../lib/registry/clients.js';
import { putSoftware } from '../../../lib/registry/software.js';
import { pinVendorRoot, type VendorRootPorts } from '../../../lib/registry/vendor-root.js';

export type RegistryWritePorts = ClientPorts & ApproverPorts & PeoplePorts & VendorRootPorts;

/** The write routes over the registry's ports (the unit tests run them on in-memory ones). */
export const registryWriteRoutes = (ports: RegistryWritePorts) => ({
  'PUT /clients/{clientId}': route(
    API_INPUTS['PUT /clients/{clientId}'],
    async ({ params, body }, { caller }) => {
      const { client, created } = await putClient(ports, caller, params.clientId, body);
      return json(created ? 201 : 200, client);
    },
  ),
  'PUT /clients/{clientId}/software': route(
    API_INPUTS['PUT /clients/{clientId}/software'],
    async ({ params, body }, { caller }) =>
      json(200, await reportInventory(ports, caller, params.clientId, body)),
  ),
  // Several clients' reports in one call (an import, or a relay of agents' reports).
  'POST /inventories': route(API_INPUTS['POST /inventories'], async ({ body }, { caller }) =>
    json(200, { items: await reportInventories(ports, caller, body) }),
  ),
  'PUT /software/{name}': route(API_INPUTS['PUT /software/{name}'], async ({ params, body }, { caller }) => {
    const { entry, created } = await putSoftware(ports, caller, params.name, body);
    return json(created ? 201 : 200, entry);
  }),
  // The vendor's TUF root, pinned once for every agent (they get it when they register).
  'PUT /vendor-root': route(API_INPUTS['PUT /vendor-root'], async ({ body }, { caller }) =>
    json(200, await pinVendorRoot(ports, caller, body)),
  ),
  'POST /approvers/{user}/periods': route(
    API_INPUTS['POST /approvers/{user}/periods'],
    async ({ params, body }, { caller }) =>
      json(201, await fileApproverPeriod(ports, caller, params.user, body)),
  ),
  'PUT /people/{key}': route(API_INPUTS['PUT /people/{key}'], async ({ params, body }, { caller }) => {
    const { person, created } = await putPerson(ports, caller, params.key, body);
    return json(created ? 201 : 200, person);
  }),
  // ?dryRun=true checks every row and writes nothing; CSV (text/csv, a header line) or JSON.
  'POST /people/import': route(
    API_INPUTS['POST /people/import'],
    async ({ query }, { caller, body, rawBody, headers }) => {
      const rows = importRowsOf(body, rawBody, headers['content-type'] ?? 'application/json');
      return json(200, await importPeople(ports, caller, rows, query.dryRun === 'true'));
    },
  ),
});
