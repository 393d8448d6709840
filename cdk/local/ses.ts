// SES: aws-ses-v2-local, whose web viewer is the local mailbox (GET / shows it, GET /store
// lists the mails as JSON), behind a front that refuses what SES refuses (docs/local-cloud.md):
// - the sender must be a verified identity: the templates' EmailIdentity resources (as if their
//   DNS records were published), or one created through CreateEmailIdentity;
// - in the sandbox (the default, like a new account) every recipient must be verified too; the
//   stage config's mail.productionAccess turns the sandbox off;
// - at most 50 recipients per message;
// - a configuration set that the templates do not define is NotFoundException.
// CreateEmailIdentity verifies at once (the recipient is taken to click the link); identities
// survive a restart. The mailbox is in memory, written to dataDir on stop and loaded on start.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, request, type Server, type ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';

interface StoreModule {
  saveEmail(email: unknown): void;
  getStoreReadonly(): { emails: unknown[] };
}

const require = createRequire(import.meta.url);
// The same module instance the server uses (the package is CommonJS).
const store = require('aws-ses-v2-local/dist/store.js') as StoreModule;
const { default: server } = require('aws-ses-v2-local') as {
  default: (config?: { host?: string; port?: number }) => Promise<Server>;
};

/** SES's limit on recipients (To, Cc and Bcc together) of one message. */
export const MAX_RECIPIENTS = 50;

export interface SesRules {
  /** Verified identities: e-mail addresses and domains (lower-case). */
  identities: string[];
  /** Configuration sets that exist. */
  configurationSets: string[];
  /** In the sandbox only verified addresses receive mail. */
  sandbox: boolean;
  region?: string;
}

export interface LocalSesOptions {
  port: number;
  dataDir?: string;
  rules?: SesRules;
}

export interface LocalSes {
  url: string;
  stop(): Promise<void>;
}

export class SesRefusal extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

interface OutboundEmail {
  FromEmailAddress?: string;
  Destination?: { ToAddresses?: string[]; CcAddresses?: string[]; BccAddresses?: string[] };
  ConfigurationSetName?: string;
}

/** The address inside "Name <a@b>" or a bare address, lower-cased. */
export function addressOf(value: string): string {
  const m = /<([^>]+)>\s*$/.exec(value);
  return (m ? m[1]! : value).trim().toLowerCase();
}

export class SesIdentities {
  private readonly verified: Set<string>;

  constructor(
    identities: string[],
    private readonly file?: string,
  ) {
    this.verified = new Set(identities.map((i) => i.toLowerCase()));
    if (file && existsSync(file)) {
      for (const i of JSON.parse(readFileSync(file, 'utf8')) as string[]) this.verified.add(i);
    }
  }

  /** An address is verified itself or through its domain. */
  isVerified(address: string): boolean {
    const a = addressOf(address);
    return this.verified.has(a) || this.verified.has(a.slice(a.lastIndexOf('@') + 1));
  }

  has(identity: string): boolean {
    return this.verified.has(identity.toLowerCase());
  }

  add(identity: string): void {
    this.verified.add(identity.toLowerCase());
    if (this.file) {
      mkdirSync(dirname(this.file), { recursive: true });
      writeFileSync(this.file, JSON.stringify([...this.verified]));
    }
  }

  list(): string[] {
    return [...this.verified].sort();
  }
}

/** What SES answers to SendEmail, rule by rule; undefined when it accepts. */
export function checkOutbound(email: OutboundEmail, rules: SesRules, identities: SesIdentities): void {
  const region = (rules.region ?? 'us-east-1').toUpperCase();
  const from = email.FromEmailAddress;
  if (!from) throw new SesRefusal(400, 'BadRequestException', 'FromEmailAddress is required');
  if (
    email.ConfigurationSetName !== undefined &&
    !rules.configurationSets.includes(email.ConfigurationSetName)
  ) {
    throw new SesRefusal(
      404,
      'NotFoundException',
      `Configuration set <${email.ConfigurationSetName}> does not exist.`,
    );
  }
  if (!identities.isVerified(from)) {
    throw new SesRefusal(
      400,
      'MessageRejected',
      `Email address is not verified. The following identities failed the check in region ${region}: ${from}`,
    );
  }
  const d = email.Destination ?? {};
  const recipients = [...(d.ToAddresses ?? []), ...(d.CcAddresses ?? []), ...(d.BccAddresses ?? [])];
  if (recipients.length === 0)
    throw new SesRefusal(400, 'BadRequestException', 'Destination has no recipients');
  if (recipients.length > MAX_RECIPIENTS) {
    throw new SesRefusal(400, 'MessageRejected', `Recipient count exceeds ${MAX_RECIPIENTS}.`);
  }
  if (rules.sandbox) {
    const unverified = recipients.filter((r) => !identities.isVerified(r));
    if (unverified.length > 0) {
      throw new SesRefusal(
        400,
        'MessageRejected',
        `Email address is not verified. The following identities failed the check in region ${region}: ${unverified.join(', ')}`,
      );
    }
  }
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function sendJson(res: ServerResponse, status: number, body: unknown, errorType?: string): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    ...(errorType ? { 'x-amzn-errortype': errorType } : {}),
  });
  res.end(text);
}

const IDENTITY = /^(?:[^@\s]+@)?[a-z0-9-]+(?:\.[a-z0-9-]+)+$/i;

export async function startLocalSes(options: LocalSesOptions): Promise<LocalSes> {
  const file = options.dataDir ? join(options.dataDir, 'mail.json') : undefined;
  if (file && existsSync(file) && store.getStoreReadonly().emails.length === 0) {
    for (const email of JSON.parse(readFileSync(file, 'utf8')) as unknown[]) store.saveEmail(email);
  }
  const rules: SesRules = options.rules ?? { identities: [], configurationSets: [], sandbox: true };
  const identities = new SesIdentities(
    rules.identities,
    options.dataDir ? join(options.dataDir, 'ses-identities.json') : undefined,
  );
  const mailbox: Server = await server({ host: '127.0.0.1', port: 0 });
  const inner = (mailbox.address() as AddressInfo).port;

  const forward = (req: IncomingMessage, res: ServerResponse, body: Buffer) => {
    const upstream = request(
      { host: '127.0.0.1', port: inner, method: req.method, path: req.url, headers: req.headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on('error', () => sendJson(res, 502, { message: 'local SES mailbox unavailable' }));
    upstream.end(body);
  };

  const front = createServer(async (req, res) => {
    try {
      const body = await readBody(req);
      const path = new URL(req.url ?? '/', 'http://localhost').pathname;
      const json = () =>
        body.length > 0 ? (JSON.parse(body.toString('utf8')) as Record<string, unknown>) : {};
      if (req.method === 'POST' && path === '/v2/email/outbound-emails') {
        checkOutbound(json() as OutboundEmail, rules, identities);
      } else if (req.method === 'POST' && path === '/v2/email/outbound-bulk-emails') {
        const bulk = json() as OutboundEmail & {
          BulkEmailEntries?: Array<{ Destination?: OutboundEmail['Destination'] }>;
        };
        for (const entry of bulk.BulkEmailEntries ?? [])
          checkOutbound({ ...bulk, Destination: entry.Destination ?? {} }, rules, identities);
      } else if (req.method === 'POST' && path === '/v2/email/identities') {
        const identity = String(json().EmailIdentity ?? '');
        if (!IDENTITY.test(identity))
          throw new SesRefusal(400, 'BadRequestException', `Invalid identity ${identity}`);
        if (identities.has(identity))
          throw new SesRefusal(409, 'AlreadyExistsException', `Email identity ${identity} already exist.`);
        identities.add(identity);
        return sendJson(res, 200, {
          IdentityType: identity.includes('@') ? 'EMAIL_ADDRESS' : 'DOMAIN',
          VerifiedForSendingStatus: true,
        });
      } else if (req.method === 'GET' && path === '/v2/email/identities') {
        return sendJson(res, 200, {
          EmailIdentities: identities.list().map((i) => ({
            IdentityType: i.includes('@') ? 'EMAIL_ADDRESS' : 'DOMAIN',
            IdentityName: i,
            SendingEnabled: true,
            VerificationStatus: 'SUCCESS',
          })),
        });
      } else if (req.method === 'GET' && path.startsWith('/v2/email/identities/')) {
        const identity = decodeURIComponent(path.slice('/v2/email/identities/'.length));
        if (!identities.has(identity))
          throw new SesRefusal(404, 'NotFoundException', `Email identity ${identity} does not exist.`);
        return sendJson(res, 200, {
          IdentityType: identity.includes('@') ? 'EMAIL_ADDRESS' : 'DOMAIN',
          VerifiedForSendingStatus: true,
          VerificationStatus: 'SUCCESS',
        });
      } else if (req.method === 'GET' && path === '/v2/email/account') {
        return sendJson(res, 200, {
          ProductionAccessEnabled: !rules.sandbox,
          SendingEnabled: true,
          EnforcementStatus: 'HEALTHY',
          SendQuota: {
            Max24HourSend: rules.sandbox ? 200 : 50_000,
            MaxSendRate: rules.sandbox ? 1 : 14,
            SentLast24Hours: 0,
          },
        });
      }
      forward(req, res, body);
    } catch (error) {
      if (error instanceof SesRefusal)
        return sendJson(res, error.status, { message: error.message }, error.code);
      sendJson(
        res,
        400,
        { message: `Malformed request: ${(error as Error).message}` },
        'BadRequestException',
      );
    }
  });
  await new Promise<void>((resolve, reject) => {
    front.once('error', reject);
    front.listen(options.port, '127.0.0.1', () => resolve());
  });
  const port = (front.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    stop: async () => {
      if (file) writeFileSync(file, JSON.stringify(store.getStoreReadonly().emails));
      front.closeAllConnections();
      await new Promise<void>((resolve) => front.close(() => resolve()));
      await new Promise<void>((resolve) => mailbox.close(() => resolve()));
    },
  };
}
