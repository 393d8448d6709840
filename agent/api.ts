// The agent's HTTP client for the upman API: JSON in and out, the Bearer token, and errors an
// employee can act on (not logged in, API unreachable, the server's own message and field).
import { randomUUID } from 'node:crypto';
import type { IssuedKey as ServerIssuedKey } from '../lib/ports/key-issuer.js';
import type { Client } from '../lib/registry/model.js';
import { AgentError, codeOfStatus } from './errors.js';

export interface ApiClientOptions {
  api: string;
  token: string;
  fetchFn?: typeof fetch;
  /** Per request; the API's own limit is 30 s. */
  timeoutMs?: number;
  /** Waits before sending an inventory report again after a 409 (default 1 s, then 3 s). */
  inventoryRetryDelaysMs?: number[];
}

export class ApiError extends AgentError {
  constructor(
    readonly status: number,
    message: string,
    readonly field?: string,
    /** What the server itself said, for callers that add their own advice. */
    readonly said: string = message,
  ) {
    super(codeOfStatus(status), message, { status, ...(field ? { field } : {}) });
  }
}

/** A client as PUT /clients/{clientId} takes and answers it (the registry's own record). */
export type ClientRecord = Pick<
  Client,
  'clientId' | 'name' | 'ipAddress' | 'osRegistrationId' | 'department' | 'users'
>;

export interface InventoryItem {
  software: string;
  version: string;
  revision: number | string;
  installedAt: string;
  updatedAt?: string;
  user: string;
}

export interface RequestView {
  requestId: string;
  status: string;
  statusReason?: string;
  requester: string;
  clientId: string;
  software: string;
  targetVersion: string;
  reason?: string;
  createdAt: string;
  steps: Array<{ step: string; at: string; phase?: string; [detail: string]: unknown }>;
}

/** A fresh key as POST /update-requests/{id}/key answers it (the vendor side's IssuedKey). */
export type IssuedKey = ServerIssuedKey & { version?: string };

export class ApiClient {
  private readonly fetchFn: typeof fetch;

  constructor(private readonly options: ApiClientOptions) {
    this.fetchFn = options.fetchFn ?? fetch;
  }

  async call<T>(
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<T> {
    const text = await this.send(method, path, body, { accept: 'application/json', ...headers });
    try {
      return (text ? JSON.parse(text) : undefined) as T;
    } catch {
      return undefined as T;
    }
  }

  /** The answer as text (a CSV report, say), refused the same way as `call`. */
  text(method: string, path: string, accept: string): Promise<string> {
    return this.send(method, path, undefined, { accept });
  }

  private async send(
    method: string,
    path: string,
    body: unknown,
    headers: Record<string, string>,
  ): Promise<string> {
    const url = `${this.options.api}${path}`;
    let res: Response;
    try {
      res = await this.fetchFn(url, {
        method,
        headers: {
          authorization: `Bearer ${this.options.token}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          ...headers,
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(this.options.timeoutMs ?? 30_000),
      });
    } catch (error) {
      const cause = (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).message;
      throw new AgentError(
        'api-unreachable',
        `The API at ${this.options.api} is unreachable (${cause}): if it is the local cloud, start it (npm start); otherwise check --api/UPMAN_API and your network, then try again.`,
        { api: this.options.api },
      );
    }
    const text = await res.text();
    if (!res.ok) {
      let json: unknown;
      try {
        json = text ? JSON.parse(text) : undefined;
      } catch {
        json = undefined;
      }
      const b = (json ?? {}) as { message?: unknown; field?: unknown };
      const message = typeof b.message === 'string' ? b.message : text.slice(0, 200) || res.statusText;
      const field = typeof b.field === 'string' ? b.field : undefined;
      throw new ApiError(res.status, explain(res.status, message, field), field, message);
    }
    return text;
  }

  getClient(clientId: string): Promise<ClientRecord | undefined> {
    return this.call<ClientRecord>('GET', `/clients/${enc(clientId)}`).catch((error: unknown) => {
      if (error instanceof ApiError && error.status === 404) return undefined;
      throw error;
    });
  }

  putClient(clientId: string, body: Omit<ClientRecord, 'clientId'>) {
    return this.call<{ client?: ClientRecord } & Record<string, unknown>>(
      'PUT',
      `/clients/${enc(clientId)}`,
      body,
    );
  }

  /**
   * A full report replaces the set, so a 409 (another change of this client won the race, or is
   * still being written) is answered by sending the same report again, a few times.
   */
  async putInventory(clientId: string, items: InventoryItem[]) {
    const delays = this.options.inventoryRetryDelaysMs ?? [1000, 3000];
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.call<Record<string, unknown>>('PUT', `/clients/${enc(clientId)}/software`, {
          items,
        });
      } catch (error) {
        if (!(error instanceof ApiError) || error.status !== 409 || attempt >= delays.length) throw error;
        await new Promise((r) => setTimeout(r, delays[attempt]));
      }
    }
  }

  getInventory(clientId: string) {
    return this.call<{ items: InventoryItem[]; cursor?: string }>(
      'GET',
      `/clients/${enc(clientId)}/software`,
    );
  }

  submitRequest(
    body: { clientId: string; software: string; targetVersion?: string; reason: string },
    idempotencyKey: string = randomUUID(),
  ) {
    return this.call<{ requestId: string; status?: string }>('POST', '/update-requests', body, {
      'idempotency-key': idempotencyKey,
    });
  }

  /** Every software name in the catalog (GET /software, page by page). */
  async catalogNames(): Promise<string[]> {
    const names: string[] = [];
    let cursor: string | undefined;
    do {
      const q = cursor ? `?cursor=${encodeURIComponent(cursor)}` : '';
      const page = await this.call<{ items: Array<{ name: string }>; cursor?: string }>(
        'GET',
        `/software${q}`,
      );
      names.push(...page.items.map((i) => i.name));
      cursor = page.cursor;
    } while (cursor && names.length < 10_000);
    return names;
  }

  getRequest(requestId: string) {
    return this.call<RequestView>('GET', `/update-requests/${enc(requestId)}`);
  }

  listRequests(cursor?: string) {
    const q = cursor ? `?cursor=${encodeURIComponent(cursor)}` : '';
    return this.call<{ items: RequestView[]; cursor?: string }>('GET', `/update-requests${q}`);
  }

  /** The vendor root the organisation pinned (GET /vendor-root); undefined while it has none. */
  vendorRoot(): Promise<{ root: Record<string, unknown>; version: number; sha256: string } | undefined> {
    return this.call<{ root: Record<string, unknown>; version: number; sha256: string }>(
      'GET',
      '/vendor-root',
    ).catch((error: unknown) => {
      if (error instanceof ApiError && error.status === 404) return undefined;
      throw error;
    });
  }

  requestKey(
    requestId: string,
    body: { clientId: string; currentRevision: number | null; trustedRootVersion?: number },
  ) {
    return this.call<IssuedKey>('POST', `/update-requests/${enc(requestId)}/key`, body);
  }

  confirm(grantId: string, sha256: string) {
    return this.call<Record<string, unknown>>('POST', `/grants/${enc(grantId)}/confirmation`, { sha256 });
  }
}

const enc = encodeURIComponent;

/** The server's refusal as something a person can act on (the HTTP call itself is beside the point). */
export function explain(status: number, message: string, field?: string): string {
  const said = `${message}${field ? ` [field: ${field}]` : ''}`;
  switch (codeOfStatus(status)) {
    case 'usage':
      return `${said}: correct it and run the command again (--help lists the options)`;
    case 'not-logged-in':
      return `Your login was refused (${message}): run "upman login" again`;
    case 'forbidden':
      return `Not allowed: ${said}. Log in as someone with that role ("upman login"), or ask an admin`;
    case 'not-found':
      return `Not found: ${said}. Check the name or id ("upman status" lists your requests)`;
    case 'conflict':
      return `${said}. It changed meanwhile or is already done: look at its state and run the command again if still needed`;
    case 'server-error':
      return `The server could not answer (${status}: ${message}): try again in a moment; if it persists, tell IT`;
    default:
      return `The server refused (${status}): ${said}`;
  }
}
