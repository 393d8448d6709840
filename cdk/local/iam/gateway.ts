// The authorising front of an emulator (DynamoDB Local, fauxqs, aws-ses-v2-local, the local
// SFN): it verifies the request's SigV4 signature against the local STS's credentials, maps the
// request to the IAM actions and resources AWS would check (services.ts), asks the authoriser,
// and forwards what is allowed, unchanged, to the emulator on its internal port. A denial is
// answered in the service's own error shape. The emulators never see an unchecked request.
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type AccessRequest, type Authorizer, denialMessage } from './authorizer.js';
import type { Caller, LocalCredentialStore } from './credentials.js';
import { SignatureError, verifySignature } from './sigv4.js';

export interface GatewayRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingMessage['headers'];
  body: Buffer;
}

export interface ErrorReply {
  status: number;
  headers?: Record<string, string>;
  body: string;
}

export interface ServiceMapping {
  /** The signing name in the credential scope (dynamodb, sqs, ses, states, sts). */
  signingName: string;
  /** Requests that need no signature (the SES mailbox viewer). */
  isUnauthenticated?(req: GatewayRequest): boolean;
  /** The checks AWS makes for this request; a malformed request throws a MappingError. */
  accessRequests(req: GatewayRequest, caller: Caller): AccessRequest[];
  accessDenied(message: string): ErrorReply;
  signatureFault(error: SignatureError): ErrorReply;
  malformed(message: string): ErrorReply;
}

export class MappingError extends Error {}

export interface AuthorisingGateway {
  url: string;
  stop(): Promise<void>;
}

const MAX_BODY_BYTES = 16 * 1024 * 1024;

export async function startAuthorisingGateway(options: {
  port: number;
  /** The emulator, or a handler that answers itself (the STS). */
  upstream: { port: number } | ((caller: Caller, req: GatewayRequest) => Promise<ErrorReply>);
  mapping: ServiceMapping;
  store: LocalCredentialStore;
  authorizer: Authorizer;
}): Promise<AuthorisingGateway> {
  const { mapping, store, authorizer, upstream } = options;
  const agent = new http.Agent({ keepAlive: true });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req) {
      size += (chunk as Buffer).length;
      if (size > MAX_BODY_BYTES) return reply(res, mapping.malformed('Request body is too large'));
      chunks.push(chunk as Buffer);
    }
    const body = Buffer.concat(chunks);
    const target = req.url ?? '/';
    const q = target.indexOf('?');
    const request: GatewayRequest = {
      method: req.method ?? 'GET',
      path: q === -1 ? target : target.slice(0, q),
      query: new URLSearchParams(q === -1 ? '' : target.slice(q + 1)),
      headers: req.headers,
      body,
    };
    let caller: Caller | undefined;
    if (!mapping.isUnauthenticated?.(request)) {
      try {
        caller = await verifySignature(
          { method: request.method, url: target, headers: req.headers, body },
          store,
          mapping.signingName,
        );
      } catch (error) {
        if (error instanceof SignatureError) return reply(res, mapping.signatureFault(error));
        throw error;
      }
      let checks: AccessRequest[];
      try {
        checks = mapping.accessRequests(request, caller);
      } catch (error) {
        if (error instanceof MappingError) return reply(res, mapping.malformed(error.message));
        throw error;
      }
      for (const check of checks) {
        const decision = await authorizer.authorize(caller, check);
        if (!decision.allowed)
          return reply(res, mapping.accessDenied(denialMessage(caller, check, decision)));
      }
    }
    if (typeof upstream === 'function') {
      if (!caller) throw new Error('a self-answering gateway needs a signed caller');
      return reply(res, await upstream(caller, request));
    }
    await forward(req, res, body, upstream.port);
  }

  function forward(req: IncomingMessage, res: ServerResponse, body: Buffer, port: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const headers = { ...req.headers, 'content-length': String(body.length) };
      delete headers['transfer-encoding'];
      const out = http.request(
        { host: '127.0.0.1', port, method: req.method, path: req.url, headers, agent },
        (upstreamRes) => {
          res.writeHead(upstreamRes.statusCode ?? 502, upstreamRes.headers);
          upstreamRes.pipe(res);
          upstreamRes.on('end', resolve);
          upstreamRes.on('error', reject);
        },
      );
      out.on('error', reject);
      out.end(body);
    });
  }

  const server = http.createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      console.error(`[${mapping.signingName} gateway]`, error);
      if (!res.headersSent)
        reply(res, {
          status: 500,
          body: JSON.stringify({ __type: 'InternalFailure', message: String(error) }),
        });
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
        agent.destroy();
      }),
  };
}

function reply(res: ServerResponse, r: ErrorReply): void {
  res.writeHead(r.status, { 'content-length': String(Buffer.byteLength(r.body)), ...r.headers });
  res.end(r.body);
}
