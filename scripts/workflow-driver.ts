// Drives the update-request workflow against a running local cloud the way people do: an
// employee posts a request, finance closes and answers the batch, the approver opens the
// mailed link, signs in at the issuer's login page as the page's script does (web/sign-in.ts,
// authorization code + PKCE) and sends the decision. Used by the integration tests, `npm run demo`
// and the workflow bench. Talks only HTTP (API, issuer, mail store) and SQS, like the real actors.
import { DeleteMessageCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { Endpoints } from '../cdk/local/cloud.js';
import { mintToken, type TokenShape } from '../cdk/local/issuer/index.js';
import { beginSignIn, completeSignIn, type SignInConfig, type SignInStorage } from '../web/sign-in.js';

export interface Answer {
  status: number;
  body: any;
  headers: Headers;
}

export interface StoredMail {
  messageId: string;
  subject: string;
  destination: { to: string[] };
  body: { html?: string; text?: string };
}

/** How the driver's tokens look: the IdP's shape, and each person's `sub` when it is not their login. */
export interface DriverTokens {
  shape?: TokenShape;
  subjectOf?: (user: string) => string;
  /** The token's e-mail claim ('' for none); default <user>@upman.example. */
  emailOf?: (user: string) => string;
}

export class WorkflowDriver {
  private readonly tokens = new Map<string, string>();
  readonly sqs: SQSClient;

  constructor(
    readonly endpoints: Endpoints,
    private readonly dataDir: string,
    private readonly tokenOptions: DriverTokens = {},
  ) {
    this.sqs = new SQSClient({
      endpoint: endpoints.sqs,
      region: endpoints.region,
      credentials: endpoints.credentials,
    });
  }

  async token(user: string, groups: string[]): Promise<string> {
    const key = `${user}|${groups.join(',')}`;
    let token = this.tokens.get(key);
    if (!token) {
      token = await mintToken({
        dataDir: this.dataDir,
        issuer: this.endpoints.jwtIssuer,
        audience: this.endpoints.audience,
        user,
        groups,
        ...(this.tokenOptions.shape ? { shape: this.tokenOptions.shape } : {}),
        ...(this.tokenOptions.subjectOf ? { subject: this.tokenOptions.subjectOf(user) } : {}),
        ...(this.tokenOptions.emailOf ? { email: this.tokenOptions.emailOf(user) } : {}),
      });
      this.tokens.set(key, token);
    }
    return token;
  }

  async api(
    method: string,
    path: string,
    options: { user: string; groups?: string[]; body?: unknown; headers?: Record<string, string> },
  ): Promise<Answer> {
    const token = await this.token(options.user, options.groups ?? ['employees']);
    const res = await fetch(`${this.endpoints.api}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(options.body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...options.headers,
      },
      ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
    });
    const text = await res.text();
    let body: unknown = text;
    if ((res.headers.get('content-type') ?? '').includes('json') && text) body = JSON.parse(text);
    return { status: res.status, body, headers: res.headers };
  }

  /** A person's key: their token's `sub` under OIDC when it is not their login, else the login. */
  keyOf(login: string): string {
    return this.tokenOptions.shape !== 'cognito' && this.tokenOptions.subjectOf
      ? this.tokenOptions.subjectOf(login)
      : login;
  }

  /** Puts people in the directory as an admin would (login, and the address their tokens carry). */
  async addPeople(logins: string[]): Promise<void> {
    for (const login of new Set(logins)) {
      const a = await this.api('PUT', `/people/${encodeURIComponent(this.keyOf(login))}`, {
        user: 'wf-admin',
        groups: ['admins'],
        body: { login, email: `${login}@upman.example` },
      });
      if (a.status >= 300) throw new Error(`person ${login}: ${a.status} ${JSON.stringify(a.body)}`);
    }
  }

  /**
   * A software, a client for `users`, and each user's approver, through the registry's routes.
   * People are named by login, as people type them; the directory resolves them to keys.
   */
  async setUp(p: {
    software: string;
    clientId: string;
    department: string;
    users: string[];
    approvers: Array<[user: string, approver: string]>;
    delegations?: Array<[approver: string, delegate: string]>;
    price?: number;
  }): Promise<void> {
    const admin = { user: 'wf-admin', groups: ['admins'] };
    await this.addPeople([...p.users, ...p.approvers.flat(), ...(p.delegations ?? []).flat()]);
    const must = (a: Answer, what: string) => {
      if (a.status >= 300) throw new Error(`${what}: ${a.status} ${JSON.stringify(a.body)}`);
    };
    must(
      await this.api('PUT', `/software/${p.software}`, {
        ...admin,
        body: {
          vendor: 'Contoso',
          latestVersion: '3.1',
          latestRevision: 310,
          licencePrice: p.price ?? 150,
          licenceModel: 'per-user',
        },
      }),
      'catalog',
    );
    await this.addClient(p.clientId, p.department, p.users);
    const validFrom = new Date(Date.now() - 86_400_000).toISOString();
    for (const [user, approver] of p.approvers) {
      must(
        await this.api('POST', `/approvers/${user}/periods`, { ...admin, body: { approver, validFrom } }),
        `approver of ${user}`,
      );
    }
    for (const [approver, delegate] of p.delegations ?? []) {
      must(
        await this.api('POST', `/approvers/${approver}/periods`, {
          ...admin,
          body: { delegate, validFrom, validTo: new Date(Date.now() + 30 * 86_400_000).toISOString() },
        }),
        `delegate of ${approver}`,
      );
    }
  }

  /** A client PC of `department` used by `users` (one request per client and software is in flight at a time). */
  async addClient(clientId: string, department: string, users: string[]): Promise<void> {
    const a = await this.api('PUT', `/clients/${clientId}`, {
      user: 'wf-admin',
      groups: ['admins'],
      body: {
        name: `${clientId} desktop`,
        ipAddress: '10.9.0.1',
        osRegistrationId: `OS-${clientId}`,
        department,
        users,
      },
    });
    if (a.status >= 300) throw new Error(`client: ${a.status} ${JSON.stringify(a.body)}`);
  }

  /** Finance sets a department's budget for a period (the ledger). */
  async setBudget(department: string, period: string, amount: number, user = 'wf-finance'): Promise<Answer> {
    return this.api('PUT', `/budgets/${encodeURIComponent(department)}/${period}`, {
      user,
      groups: ['finance'],
      body: { amount },
    });
  }

  /** {amount, reserved, committed, remaining} of a department's budget. */
  async budget(department: string, period: string, user = 'wf-finance'): Promise<Answer> {
    const q = new URLSearchParams({ department, period });
    return this.api('GET', `/budgets?${q}`, { user, groups: ['finance'] });
  }

  /** S501. */
  async submit(user: string, body: Record<string, unknown>, key: string): Promise<Answer> {
    return this.api('POST', '/update-requests', { user, body, headers: { 'idempotency-key': key } });
  }

  async request(user: string, requestId: string, groups?: string[]): Promise<any> {
    const a = await this.api('GET', `/update-requests/${requestId}`, { user, ...(groups ? { groups } : {}) });
    if (a.status !== 200) throw new Error(`GET request: ${a.status} ${JSON.stringify(a.body)}`);
    return a.body;
  }

  /** Polls until `check` holds (or throws after `ms`, generous for a busy machine). */
  async until<T>(what: string, probe: () => Promise<T>, check: (v: T) => boolean, ms = 90_000): Promise<T> {
    const deadline = Date.now() + ms;
    let last: T | undefined;
    while (Date.now() < deadline) {
      last = await probe();
      if (check(last)) return last;
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error(`Timed out waiting for ${what}; last: ${JSON.stringify(last)?.slice(0, 500)}`);
  }

  async untilStatus(user: string, requestId: string, status: string | string[], ms = 90_000) {
    const wanted = Array.isArray(status) ? status : [status];
    return this.until(
      `${requestId} ${wanted.join('|')}`,
      () => this.request(user, requestId),
      (r) => wanted.includes(r.status),
      ms,
    );
  }

  /** Waits until the request's budget line is filed (S502), so a close includes it. */
  async untilStep(user: string, requestId: string, step: string, ms = 90_000) {
    return this.until(
      `${requestId} ${step}`,
      () => this.request(user, requestId),
      (r) => r.steps.some((s: { step: string }) => s.step === step),
      ms,
    );
  }

  async closeNow(user = 'wf-finance'): Promise<Answer> {
    return this.api('POST', '/budget-batches/close', { user, groups: ['finance'] });
  }

  async awaitingBatches(user = 'wf-finance'): Promise<Answer> {
    return this.api('GET', '/budget-batches?status=awaiting-answer&limit=100', { user, groups: ['finance'] });
  }

  async answer(batchId: string, answers: unknown[], user = 'wf-finance'): Promise<Answer> {
    return this.api('POST', `/budget-batches/${batchId}/answers`, {
      user,
      groups: ['finance'],
      body: { answers },
    });
  }

  /** The budget batch that holds the line of `requestId` (read from the finance listing). */
  async lineOf(requestId: string): Promise<{ batchId: string; line: any }> {
    return this.until(
      `the budget line of ${requestId}`,
      async () => {
        const list = await this.awaitingBatches();
        for (const b of list.body.items ?? []) {
          const line = b.lines.find((l: { requestId: string }) => l.requestId === requestId);
          if (line) return { batchId: b.batchId as string, line };
        }
        return undefined;
      },
      (v) => v !== undefined,
    ) as Promise<{ batchId: string; line: any }>;
  }

  async mailbox(): Promise<StoredMail[]> {
    const res = await fetch(`${this.endpoints.mail}/store`);
    return ((await res.json()) as { emails: StoredMail[] }).emails;
  }

  /** Mails to `user` whose subject matches, waiting for at least `count`. */
  async mailsTo(user: string, subject: RegExp, count = 1, ms = 90_000): Promise<StoredMail[]> {
    const address = `${user}@upman.example`;
    return this.until(
      `${count} mail(s) to ${address} matching ${subject}`,
      async () =>
        (await this.mailbox()).filter((m) => m.destination.to.includes(address) && subject.test(m.subject)),
      (mails) => mails.length >= count,
      ms,
    );
  }

  /** The approval link of a mail, from its text (the HTML carries the same). */
  static linkOf(mail: StoredMail): string {
    const m = /(http:\/\/[^\s"<>]+\/approvals\/[A-Za-z0-9_-]+\?k=[A-Za-z0-9_%-]+)/.exec(mail.body.text ?? '');
    if (!m) throw new Error(`No approval link in mail "${mail.subject}"`);
    return m[1]!;
  }

  /** Opens a link as a browser (or a mail scanner) would. */
  async open(url: string, method: 'GET' | 'HEAD' = 'GET'): Promise<{ status: number; html: string }> {
    const res = await fetch(url, { method });
    return { status: res.status, html: await res.text() };
  }

  /**
   * Decides as a person would: signs in (as `as`, by default the person the link is for) and
   * sends the page's secret with the decision and a comment, as the page's script does.
   */
  async decide(
    url: string,
    page: string,
    decision: 'approve' | 'reject',
    comment = '',
    options: { as?: string } = {},
  ): Promise<{ status: number; html: string }> {
    const { approvalId, issuedTo, k, signIn } = WorkflowDriver.pageOf(page);
    const idToken = await this.signIn(signIn, options.as ?? issuedTo);
    return this.sendDecision(url, approvalId, { k, decision, comment }, idToken);
  }

  /** POST /approvals/{id}/decision with a body and (or without) a bearer token. */
  async sendDecision(
    url: string,
    approvalId: string,
    body: Record<string, unknown>,
    idToken?: string,
  ): Promise<{ status: number; html: string }> {
    const res = await fetch(new URL(`${approvalId}/decision`, url).href, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(idToken ? { authorization: `Bearer ${idToken}` } : {}),
      },
      body: JSON.stringify(body),
    });
    const text = await res.text();
    let message = text;
    try {
      message = String((JSON.parse(text) as { message?: unknown }).message ?? text);
    } catch {
      // not JSON: the text as it came
    }
    return { status: res.status, html: message };
  }

  /** What the approval page carries: its link id, whom it is for, the secret, where to sign in. */
  static pageOf(page: string): { approvalId: string; issuedTo: string; k: string; signIn: SignInConfig } {
    const attr = (name: string) => {
      const m = new RegExp(`${name}="([^"]*)"`).exec(page);
      if (!m) throw new Error(`The page has no ${name}`);
      return decodeEntities(m[1]!);
    };
    const k = /<input type="hidden" name="k" value="([^"]*)">/.exec(page);
    if (!k) throw new Error('The page has no secret field');
    return {
      approvalId: attr('data-approval-id'),
      issuedTo: attr('data-issued-to'),
      k: decodeEntities(k[1]!),
      signIn: JSON.parse(attr('data-sign-in')) as SignInConfig,
    };
  }

  private readonly signedIn = new Map<string, string>();

  /**
   * Signs `user` in at the issuer the page names, as a browser would: the sign-in module builds
   * the authorize request (PKCE), the development issuer's login page is answered with the
   * person, the redirect's code is exchanged for an ID token. One sign-in per person.
   */
  async signIn(config: SignInConfig, user: string): Promise<string> {
    const known = this.signedIn.get(user);
    if (known) return known;
    const storage = memoryStorage();
    const authorize = new URL(await beginSignIn(config, { storage, returnTo: config.redirectUri }));
    const form = new URLSearchParams(authorize.searchParams);
    form.set('user', user);
    // The development issuer mints the shape this driver's tokens have (another IdP's claims).
    if (this.tokenOptions.shape) form.set('shape', this.tokenOptions.shape);
    if (this.tokenOptions.subjectOf) form.set('subject', this.tokenOptions.subjectOf(user));
    if (this.tokenOptions.emailOf) form.set('email', this.tokenOptions.emailOf(user));
    const login = await fetch(`${authorize.origin}${authorize.pathname}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: form.toString(),
      redirect: 'manual',
    });
    const back = login.headers.get('location');
    if (login.status !== 302 || !back) throw new Error(`The issuer did not sign ${user} in: ${login.status}`);
    const { idToken } = await completeSignIn(config, { url: back, storage });
    this.signedIn.set(user, idToken);
    return idToken;
  }

  /** Reads (and deletes) messages from a queue until `match` finds one, as finance's reader would. */
  async receive(queueUrl: string, match: (body: any) => boolean, ms = 90_000): Promise<any> {
    const deadline = Date.now() + ms;
    while (Date.now() < deadline) {
      const out = await this.sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: queueUrl,
          MaxNumberOfMessages: 10,
          WaitTimeSeconds: 1,
          VisibilityTimeout: 2,
        }),
      );
      for (const m of out.Messages ?? []) {
        const body = JSON.parse(m.Body ?? '{}');
        if (match(body)) {
          await this.sqs.send(
            new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: m.ReceiptHandle! }),
          );
          return body;
        }
      }
    }
    throw new Error(`No matching message on ${queueUrl}`);
  }

  destroy(): void {
    this.sqs.destroy();
  }
}

/** sessionStorage for a driver that is not a browser. */
export function memoryStorage(): SignInStorage {
  const items = new Map<string, string>();
  return {
    getItem: (key) => items.get(key) ?? null,
    setItem: (key, value) => void items.set(key, value),
    removeItem: (key) => void items.delete(key),
  };
}

function decodeEntities(s: string): string {
  return s
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}
