// The local API Gateway (DESIGN §7): an HTTP server on loopback that serves the HTTP API of the
// synthesized template — its routes, JWT authorizer and Lambda integrations — so the handlers
// see exactly the events API Gateway would send. There is no second list of routes.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { LocalLambdaRuntime } from '../lambda/runtime.js';
import type { TemplateResolver } from '../template.js';
import { buildEvent, type HttpResponse, MalformedResponse, newRequestId, toHttpResponse } from './event.js';
import { JwtAuthorizer } from './jwt.js';
import { httpApisFromTemplate, invokeSourceArn, type LocalHttpApi, matchRoute } from './routes.js';

/** API Gateway's payload limit. */
export const MAX_BODY_BYTES = 10 * 1024 * 1024;

export interface LocalApiOptions {
  port: number;
  resolver: TemplateResolver;
  runtime: LocalLambdaRuntime;
  /** JWKS URL on loopback for each `iss` the template's JWT authorizers name. */
  issuers: Record<string, string>;
  /** Logical id of the HTTP API to serve; needed only when the assembly has several. */
  apiLogicalId?: string;
  /**
   * Whether API Gateway may invoke the function for this source ARN (the function's resource
   * policy, AWS::Lambda::Permission). Without it every integration is invoked.
   */
  mayInvoke?: (functionArn: string, sourceArn: string) => Promise<boolean>;
  /** One line per request (method, path, route, status, latency), like the stage's access log. */
  log?: (line: string) => void;
}

export interface LocalApi {
  url: string;
  api: LocalHttpApi;
  stop(): Promise<void>;
}

class TimeoutError extends Error {}

export async function startLocalApi(options: LocalApiOptions): Promise<LocalApi> {
  const api = pickApi(httpApisFromTemplate(options.resolver), options.apiLogicalId);
  const authorizers = new Map<string, JwtAuthorizer>();
  for (const route of api.routes) {
    if (route.authorization.type !== 'JWT') continue;
    const config = route.authorization.authorizer;
    if (authorizers.has(config.id)) continue;
    const jwksUrl = options.issuers[config.issuer];
    if (!jwksUrl) throw new Error(`Authorizer ${config.id}: no local JWKS for issuer ${config.issuer}`);
    authorizers.set(config.id, new JwtAuthorizer(config, jwksUrl));
  }
  for (const route of api.routes) {
    if (!options.runtime.find(route.functionArn)) {
      throw new Error(
        `Route ${route.routeKey}: integration function ${route.functionArn} is not in the runtime`,
      );
    }
  }

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const started = Date.now();
    const requestId = newRequestId();
    const url = req.url ?? '/';
    const method = req.method ?? 'GET';
    const reply = (response: HttpResponse, routeKey = '-') => {
      res.writeHead(response.statusCode, {
        ...response.headers,
        'apigw-requestid': requestId,
        'content-length': String(response.body.length),
      });
      // HEAD answers carry the headers of the response but never its body.
      res.end(method === 'HEAD' ? undefined : response.body);
      options.log?.(
        `${method} ${url.split('?')[0]} ${routeKey} ${response.statusCode} ${Date.now() - started}ms`,
      );
    };

    const body = await readBody(req);
    if (body === 'too-large') return reply(message(413, 'Request Entity Too Large'));

    const match = matchRoute(api.routes, method, url.split('?')[0]!);
    if (!match) return reply(message(404, 'Not Found'));
    const { route } = match;

    let jwt: Awaited<ReturnType<JwtAuthorizer['authorize']>> | undefined;
    if (route.authorization.type === 'JWT') {
      const headers: Record<string, string> = {};
      for (const [name, value] of Object.entries(req.headers)) {
        if (typeof value === 'string') headers[name] = value;
      }
      jwt = await authorizers
        .get(route.authorization.authorizer.id)!
        .authorize(headers, route.authorization.scopes);
      if (!jwt.ok) {
        const denied = message(jwt.statusCode, jwt.message);
        denied.headers['www-authenticate'] = jwt.wwwAuthenticate;
        return reply(denied, route.routeKey);
      }
    }

    const event = buildEvent(
      {
        method,
        url,
        rawHeaders: req.rawHeaders,
        body,
        sourceIp: req.socket.remoteAddress?.replace(/^::ffff:/, '') ?? '127.0.0.1',
        serverPort: req.socket.localPort,
        protocol: `HTTP/${req.httpVersion}`,
      },
      match,
      {
        accountId: api.stageArn.split(':')[4]!,
        apiId: api.apiId,
        requestId,
        now: new Date(started),
        ...(jwt?.ok ? { jwt: jwt.jwt } : {}),
      },
    );

    // Without a permission for apigateway.amazonaws.com API Gateway cannot call the integration
    // and answers 500, logging it as an integration error.
    if (options.mayInvoke) {
      const sourceArn = invokeSourceArn(api, route, method);
      if (!(await options.mayInvoke(route.functionArn, sourceArn))) {
        options.log?.(
          `${route.routeKey}: integrationError: API Gateway does not have permission to invoke ${route.functionArn} (source ${sourceArn})`,
        );
        return reply(message(500, 'Internal Server Error'), route.routeKey);
      }
    }

    let result: unknown;
    try {
      result = await withTimeout(options.runtime.invoke(route.functionArn, event), route.timeoutMs);
    } catch (error) {
      if (error instanceof TimeoutError) return reply(message(503, 'Service Unavailable'), route.routeKey);
      options.log?.(
        `${route.routeKey}: function error ${(error as Error).name}: ${(error as Error).message}`,
      );
      return reply(message(500, 'Internal Server Error'), route.routeKey);
    }
    try {
      reply(toHttpResponse(result), route.routeKey);
    } catch (error) {
      if (!(error instanceof MalformedResponse)) throw error;
      options.log?.(`${route.routeKey}: malformed Lambda proxy response: ${error.message}`);
      reply(message(500, 'Internal Server Error'), route.routeKey);
    }
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      options.log?.(`local API: ${String(error)}`);
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ message: 'Internal Server Error' }));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, '127.0.0.1', () => resolve());
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    api,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function pickApi(apis: LocalHttpApi[], logicalId: string | undefined): LocalHttpApi {
  const ids = apis.map((a) => a.logicalId).join(', ') || 'none';
  if (logicalId) {
    const api = apis.find((a) => a.logicalId === logicalId);
    if (!api) throw new Error(`No HTTP API ${logicalId} in the assembly (has: ${ids})`);
    return api;
  }
  if (apis.length !== 1)
    throw new Error(`Expected one HTTP API in the assembly, found: ${ids}; pass apiLogicalId`);
  return apis[0]!;
}

function message(statusCode: number, text: string): HttpResponse {
  return {
    statusCode,
    headers: { 'content-type': 'application/json' },
    body: Buffer.from(JSON.stringify({ message: text })),
  };
}

/** The request body, or 'too-large' past API Gateway's 10 MB (the rest is drained, not kept). */
async function readBody(req: IncomingMessage): Promise<Buffer | 'too-large'> {
  if (Number(req.headers['content-length'] ?? 0) > MAX_BODY_BYTES) {
    req.resume();
    return 'too-large';
  }
  const chunks: Buffer[] = [];
  let size = 0;
  let tooLarge = false;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) tooLarge = true;
    if (!tooLarge) chunks.push(chunk);
  }
  return tooLarge ? 'too-large' : Buffer.concat(chunks);
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new TimeoutError()), ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}
