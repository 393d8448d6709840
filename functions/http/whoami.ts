// GET /me: the caller as the API sees them (key, roles, and their directory entry's names), for
// the agent's `upman whoami` and `upman login`. Calling it records the caller in the directory.
import { tokenDirectory } from '../../lib/adapters/dynamodb/people-env.js';
import { httpHandler, json } from '../../lib/http/handler.js';

export const handler = httpHandler(
  async ({ caller }) =>
    json(200, {
      user: caller.user,
      groups: caller.groups,
      ...(caller.login ? { login: caller.login } : {}),
      ...(caller.name ? { name: caller.name } : {}),
      ...(caller.email ? { email: caller.email } : {}),
    }),
  { directory: tokenDirectory() },
);
