// Registry writes: register clients, inventory reports, catalog entries, approver periods, the
// directory of people. Each caller's directory entry follows their token.
import { tokenDirectory } from '../../../lib/adapters/dynamodb/people-env.js';
import { registryPorts } from '../../../lib/adapters/dynamodb/registry-env.js';
import { routes } from './route.js';
import { registryWriteRoutes } from './write-routes.js';

export const handler = routes(registryWriteRoutes(registryPorts()), { directory: tokenDirectory() });
