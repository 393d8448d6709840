// Dispatches an API event to its route's handler by the route key API Gateway matched
// ("GET /clients/{clientId}"), so one function can serve a few routes of the same access.
import { NotFound } from '../../../lib/errors.js';
import { type HttpHandlerOptions, httpHandler, type RouteHandler } from '../../../lib/http/handler.js';

export function routes(table: Record<string, RouteHandler>, options: HttpHandlerOptions = {}) {
  return httpHandler(async (request) => {
    const route = table[request.event.routeKey];
    if (!route) throw new NotFound(`No route ${request.event.routeKey}`);
    return route(request);
  }, options);
}
