// The KeyIssuer port (lib/ports/key-issuer.ts) for the workflow's S508 step. The workflow's
// function builds it with createKeyIssuer(ports), or from its environment with
// keyIssuerFromEnvironment() (lib/adapters/dynamodb/grants-env.ts; docs/vendor.md "Env contract").
import type { KeyIssuer } from '../ports/key-issuer.js';
import { type GrantPorts, grantDownload } from './grants.js';

export function createKeyIssuer(ports: GrantPorts): KeyIssuer {
  return { grant: (request) => grantDownload(ports, request) };
}
