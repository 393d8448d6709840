// The HTTP API's routes as the synthesized template declares them (AWS::ApiGatewayV2::Route →
// Integration → function, Authorizer), and route selection as API Gateway does it for HTTP
// APIs: an exact route (path variables allowed) before a greedy {proxy+} route before
// $default; literal segments before variables; a method before ANY; otherwise 404.
import type { StackTemplate, TemplateResolver } from '../template.js';

export interface JwtAuthorizerConfig {
  /** Logical id of the AWS::ApiGatewayV2::Authorizer. */
  id: string;
  issuer: string;
  audience: string[];
  /** Lower-cased header name the token is read from ($request.header.Authorization → authorization). */
  header: string;
}

export type RouteAuthorization =
  | { type: 'NONE' }
  | { type: 'JWT'; authorizer: JwtAuthorizerConfig; scopes: string[] };

export interface LocalRoute {
  routeKey: string;
  /** Upper-case method, or ANY (also for $default). */
  method: string;
  isDefault: boolean;
  /** Path segments after the leading slash; the last may be greedy. */
  segments: string[];
  greedy: boolean;
  functionArn: string;
  timeoutMs: number;
  authorization: RouteAuthorization;
}

export interface LocalHttpApi {
  logicalId: string;
  apiId: string;
  /** The stage requests are served from ($default unless the template names another). */
  stage: string;
  /** arn:aws:execute-api:<region>:<account>:<api>/<stage>, in the API's stack's account. */
  stageArn: string;
  routes: LocalRoute[];
}

export interface RouteMatch {
  route: LocalRoute;
  pathParameters: Record<string, string>;
}

/** Every HTTP API of the assembly with its routes; unsupported features fail here, at start. */
export function httpApisFromTemplate(resolver: TemplateResolver): LocalHttpApi[] {
  return resolver
    .resourcesOfType('AWS::ApiGatewayV2::Api')
    .filter(({ resource }) => (resource.Properties?.ProtocolType ?? 'HTTP') === 'HTTP')
    .map(({ stack, logicalId }) => {
      const apiId = resolver.resolveString(stack, { Ref: logicalId });
      const stage = stageOf(resolver, stack, logicalId);
      return {
        logicalId,
        apiId,
        stage,
        stageArn: resolver.arn('execute-api', `${apiId}/${stage}`, stack),
        routes: resolver
          .resourcesOfType('AWS::ApiGatewayV2::Route')
          .filter((r) => r.stack === stack && refersTo(r.resource.Properties?.ApiId, logicalId))
          .map((r) => routeOf(resolver, stack, r.logicalId, r.resource.Properties ?? {})),
      };
    });
}

function stageOf(resolver: TemplateResolver, stack: StackTemplate, apiLogicalId: string): string {
  const stage = resolver
    .resourcesOfType('AWS::ApiGatewayV2::Stage')
    .find((r) => r.stack === stack && refersTo(r.resource.Properties?.ApiId, apiLogicalId));
  return stage ? resolver.resolveString(stack, stage.resource.Properties?.StageName) : '$default';
}

/**
 * The ARN API Gateway names as aws:SourceArn when it invokes a route's function:
 * <api>/<stage>/<method>/<route path as declared>, or <api>/<stage>/$default for the default route.
 */
export function invokeSourceArn(
  api: Pick<LocalHttpApi, 'stageArn'>,
  route: LocalRoute,
  method: string,
): string {
  const path = route.isDefault
    ? '$default'
    : `${method}${route.routeKey.slice(route.routeKey.indexOf(' ') + 1)}`;
  return `${api.stageArn}/${path}`;
}

function refersTo(value: unknown, logicalId: string): boolean {
  return typeof value === 'object' && value !== null && (value as { Ref?: unknown }).Ref === logicalId;
}

function routeOf(
  resolver: TemplateResolver,
  stack: StackTemplate,
  logicalId: string,
  props: Record<string, unknown>,
): LocalRoute {
  const routeKey = resolver.resolveString(stack, props.RouteKey);
  const where = `${stack.artifactId}/${logicalId} (${routeKey})`;
  const target = resolver.resolveString(stack, props.Target);
  const integrationId = /^integrations\/(.+)$/.exec(target)?.[1];
  if (!integrationId) throw new Error(`${where}: Target ${target} is not "integrations/<id>"`);
  const integration = resolver.findResource(stack, integrationId).Properties ?? {};
  if (integration.IntegrationType !== 'AWS_PROXY') {
    throw new Error(`${where}: the local API supports only AWS_PROXY (Lambda) integrations`);
  }
  if (integration.PayloadFormatVersion !== '2.0') {
    throw new Error(`${where}: the local API supports only payload format 2.0`);
  }
  const uri = resolver.resolveString(stack, integration.IntegrationUri);
  // Either the function ARN or the apigateway ".../functions/<arn>/invocations" form.
  const functionArn = /functions\/(.+)\/invocations$/.exec(uri)?.[1] ?? uri;

  const authorizationType = String(props.AuthorizationType ?? 'NONE');
  let authorization: RouteAuthorization;
  if (authorizationType === 'NONE') {
    authorization = { type: 'NONE' };
  } else if (authorizationType === 'JWT') {
    const authorizerId = resolver.resolveString(stack, props.AuthorizerId);
    authorization = {
      type: 'JWT',
      authorizer: jwtAuthorizerOf(resolver, stack, authorizerId),
      scopes: (resolver.resolve(stack, props.AuthorizationScopes ?? []) as unknown[]).map(String),
    };
  } else {
    throw new Error(`${where}: AuthorizationType ${authorizationType} is not supported by the local API`);
  }

  const parsed = parseRouteKey(routeKey);
  return {
    routeKey,
    ...parsed,
    functionArn,
    timeoutMs: Number(integration.TimeoutInMillis ?? 30_000),
    authorization,
  };
}

function jwtAuthorizerOf(resolver: TemplateResolver, stack: StackTemplate, id: string): JwtAuthorizerConfig {
  const props = resolver.findResource(stack, id).Properties ?? {};
  if (props.AuthorizerType !== 'JWT')
    throw new Error(`${id}: AuthorizerType ${String(props.AuthorizerType)} is not JWT`);
  const jwt = resolver.resolve(stack, props.JwtConfiguration ?? {}) as {
    Issuer?: string;
    Audience?: string[];
  };
  if (!jwt.Issuer) throw new Error(`${id}: JwtConfiguration.Issuer is missing`);
  const sources = (resolver.resolve(stack, props.IdentitySource ?? []) as unknown[]).map(String);
  const header = /^\$request\.header\.(.+)$/.exec(sources[0] ?? '')?.[1];
  if (sources.length !== 1 || !header) {
    throw new Error(
      `${id}: IdentitySource must be one $request.header.<name> (got ${JSON.stringify(sources)})`,
    );
  }
  return { id, issuer: jwt.Issuer, audience: jwt.Audience ?? [], header: header.toLowerCase() };
}

/** "GET /clients/{clientId}", "ANY /{proxy+}" or "$default". */
export function parseRouteKey(
  routeKey: string,
): Pick<LocalRoute, 'method' | 'isDefault' | 'segments' | 'greedy'> {
  if (routeKey === '$default') return { method: 'ANY', isDefault: true, segments: [], greedy: false };
  const match = /^([A-Z]+) (\/\S*)$/.exec(routeKey);
  if (!match) throw new Error(`Route key ${JSON.stringify(routeKey)} is not "METHOD /path" or $default`);
  const segments = match[2]!.slice(1).split('/');
  const greedyAt = segments.findIndex((s) => /^\{[^}]+\+\}$/.test(s));
  if (greedyAt >= 0 && greedyAt !== segments.length - 1) {
    throw new Error(`Route key ${routeKey}: a greedy path variable must be the last segment`);
  }
  return { method: match[1]!, isDefault: false, segments, greedy: greedyAt >= 0 };
}

const variableName = (segment: string) => /^\{([^}+]+)\+?\}$/.exec(segment)?.[1];

/** Path parameters if the route matches the path; API Gateway decodes them. */
function matchPath(route: LocalRoute, pathSegments: string[]): Record<string, string> | undefined {
  const fixed = route.greedy ? route.segments.slice(0, -1) : route.segments;
  if (route.greedy ? pathSegments.length <= fixed.length : pathSegments.length !== fixed.length)
    return undefined;
  const params: Record<string, string> = {};
  for (const [i, segment] of fixed.entries()) {
    const actual = pathSegments[i]!;
    const name = variableName(segment);
    if (name === undefined) {
      if (segment !== actual) return undefined;
    } else {
      if (actual === '') return undefined;
      params[name] = decode(actual);
    }
  }
  if (route.greedy) {
    const rest = pathSegments.slice(fixed.length).join('/');
    if (rest === '') return undefined;
    params[variableName(route.segments.at(-1)!)!] = decode(rest);
  }
  return params;
}

function decode(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

/** Higher ranks first: exact before greedy; longer greedy prefix; literals before variables, left to right; method before ANY. */
function rank(route: LocalRoute): number[] {
  const fixed = route.greedy ? route.segments.slice(0, -1) : route.segments;
  return [
    route.greedy ? 0 : 1,
    fixed.length,
    ...fixed.map((s) => (variableName(s) === undefined ? 1 : 0)),
    route.method === 'ANY' ? 0 : 1,
  ];
}

function compareRanks(a: number[], b: number[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const d = (b[i] ?? 0) - (a[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/**
 * The route API Gateway would choose. HEAD is a method of its own in HTTP APIs: it matches
 * HEAD or ANY routes (or $default), not GET routes.
 */
export function matchRoute(routes: LocalRoute[], method: string, rawPath: string): RouteMatch | undefined {
  const pathSegments = rawPath.slice(1).split('/');
  const candidates: Array<RouteMatch & { rank: number[] }> = [];
  for (const route of routes) {
    if (route.isDefault || (route.method !== method && route.method !== 'ANY')) continue;
    const pathParameters = matchPath(route, pathSegments);
    if (pathParameters) candidates.push({ route, pathParameters, rank: rank(route) });
  }
  candidates.sort((a, b) => compareRanks(a.rank, b.rank));
  const best = candidates[0];
  if (best) return { route: best.route, pathParameters: best.pathParameters };
  const fallback = routes.find((r) => r.isDefault);
  return fallback ? { route: fallback, pathParameters: {} } : undefined;
}
