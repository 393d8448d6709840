import { describe, expect, it } from 'vitest';
import { type LocalRoute, matchRoute, parseRouteKey } from '../../cdk/local/api/routes.js';

const route = (routeKey: string): LocalRoute => ({
  routeKey,
  ...parseRouteKey(routeKey),
  functionArn: `fn:${routeKey}`,
  timeoutMs: 30_000,
  authorization: { type: 'NONE' },
});

/** The route set of API Gateway's "Routing API requests" example, plus a few. */
const routes = [
  'GET /pets/dog/1',
  'GET /pets/dog/{id}',
  'GET /pets/{proxy+}',
  'ANY /{proxy+}',
  '$default',
  'GET /clients/{clientId}',
  'POST /clients/{clientId}/software/{name}',
  'GET /',
].map(route);

const chosen = (method: string, path: string) => matchRoute(routes, method, path)?.route.routeKey;

describe('parseRouteKey', () => {
  it('reads method, segments and a trailing greedy variable', () => {
    expect(parseRouteKey('GET /clients/{clientId}')).toEqual({
      method: 'GET',
      isDefault: false,
      segments: ['clients', '{clientId}'],
      greedy: false,
    });
    expect(parseRouteKey('ANY /{proxy+}')).toMatchObject({ method: 'ANY', greedy: true });
    expect(parseRouteKey('$default')).toMatchObject({ isDefault: true, method: 'ANY' });
  });

  it('rejects a greedy variable that is not last, and a malformed key', () => {
    expect(() => parseRouteKey('GET /{proxy+}/x')).toThrow(/greedy/);
    expect(() => parseRouteKey('get /x')).toThrow(/METHOD \/path/);
  });
});

describe('matchRoute', () => {
  it('prefers a literal route, then path variables, then greedy, as API Gateway does', () => {
    expect(chosen('GET', '/pets/dog/1')).toBe('GET /pets/dog/1');
    expect(chosen('GET', '/pets/dog/2')).toBe('GET /pets/dog/{id}');
    expect(chosen('GET', '/pets/cat/1')).toBe('GET /pets/{proxy+}');
    expect(chosen('POST', '/pets/dog/1')).toBe('ANY /{proxy+}');
  });

  it('falls back to $default, and to nothing without one', () => {
    expect(chosen('DELETE', '/')).toBe('$default'); // /{proxy+} never matches the root
    const noDefault = routes.filter((r) => !r.isDefault && r.method !== 'ANY');
    expect(matchRoute(noDefault, 'GET', '/unknown/path')).toBeUndefined();
  });

  it('passes decoded path parameters, the greedy one with its slashes', () => {
    expect(matchRoute(routes, 'GET', '/clients/pc%2042')?.pathParameters).toEqual({ clientId: 'pc 42' });
    expect(matchRoute(routes, 'POST', '/clients/pc1/software/7-Zip')?.pathParameters).toEqual({
      clientId: 'pc1',
      name: '7-Zip',
    });
    expect(matchRoute(routes, 'GET', '/pets/cat/tabby/3')?.pathParameters).toEqual({ proxy: 'cat/tabby/3' });
  });

  it('does not let a variable or a greedy variable match an empty segment', () => {
    const strict = [route('GET /clients/{clientId}'), route('GET /files/{proxy+}')];
    expect(matchRoute(strict, 'GET', '/clients/')).toBeUndefined();
    expect(matchRoute(strict, 'GET', '/files')).toBeUndefined();
    expect(matchRoute(strict, 'GET', '/files/')).toBeUndefined();
  });

  it('matches paths case-sensitively', () => {
    expect(chosen('GET', '/Clients/pc1')).toBe('ANY /{proxy+}');
  });

  it('treats HEAD as its own method: it reaches ANY routes, never GET routes', () => {
    const getOnly = [route('GET /me')];
    expect(matchRoute(getOnly, 'HEAD', '/me')).toBeUndefined();
    expect(chosen('HEAD', '/clients/pc1')).toBe('ANY /{proxy+}');
  });

  it('prefers a route with the method over ANY for the same path', () => {
    const both = [route('ANY /me'), route('GET /me')];
    expect(matchRoute(both, 'GET', '/me')?.route.routeKey).toBe('GET /me');
    expect(matchRoute(both, 'PUT', '/me')?.route.routeKey).toBe('ANY /me');
  });
});
