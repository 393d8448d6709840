// GET /me: the caller as the API sees them (user and roles), for the agent's `upman whoami`.
import { httpHandler, json } from '../../lib/http/handler.js';

export const handler = httpHandler(async ({ caller }) =>
  json(200, { user: caller.user, groups: caller.groups }),
);
