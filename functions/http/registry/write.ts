// Registry writes: register clients, inventory reports, catalog entries, approver periods, the
// directory of people. Each caller's directory entry follows their token.
import { tokenDirectory } from '../../../lib/adapters/dynamodb/people-env.js';
import { registryPorts } from '../../../lib/adapters/dynamodb/registry-env.js';
import { json } from '../../../lib/http/handler.js';
import { importPeople, importRowsOf, putPerson } from '../../../lib/people/directory.js';
import { fileApproverPeriod } from '../../../lib/registry/approvers.js';
import { putClient, reportInventories, reportInventory } from '../../../lib/registry/clients.js';
import { putSoftware } from '../../../lib/registry/software.js';
import { pinVendorRoot } from '../../../lib/registry/vendor-root.js';
import { routes } from './route.js';

const ports = registryPorts();

export const handler = routes(
  {
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
    // The vendor's TUF root, pinned once for every agent (they get it when they register).
    'PUT /vendor-root': async ({ caller, body }) => json(200, await pinVendorRoot(ports, caller, body)),
    'POST /approvers/{user}/periods': async ({ caller, pathParameters: p, body }) =>
      json(201, await fileApproverPeriod(ports, caller, p.user!, body)),
    'PUT /people/{key}': async ({ caller, pathParameters: p, body }) => {
      const { person, created } = await putPerson(ports, caller, p.key!, body);
      return json(created ? 201 : 200, person);
    },
    // ?dryRun=true checks every row and writes nothing; CSV (text/csv, a header line) or JSON.
    'POST /people/import': async ({ caller, body, rawBody, headers, query }) => {
      const rows = importRowsOf(body, rawBody, headers['content-type'] ?? 'application/json');
      return json(200, await importPeople(ports, caller, rows, query.dryRun === 'true'));
    },
  },
  { directory: tokenDirectory() },
);
