// Who may call the local cloud: the developer's all-powerful key pair (for seeding and the
// CLIs, like an account's administrator), and temporary role sessions issued by the local STS
// (AssumeRole): key, secret, session token and expiry, as AWS gives them to a Lambda function,
// a state machine or a schedule. Sessions are kept in dataDir so a presigned URL signed before a
// restart still verifies until its session ends, as on AWS.
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface KeyPair {
  accessKeyId: string;
  secretAccessKey: string;
}

export interface RoleSession extends KeyPair {
  sessionToken: string;
  /** When the credentials stop working. */
  expiration: Date;
  /** arn:aws:iam::<account>:role/<name> */
  roleArn: string;
  sessionName: string;
  account: string;
}

export type Caller =
  /** The developer's key pair: not evaluated against any policy (an administrator's view). */
  | { kind: 'developer'; arn: string; account: string; secretAccessKey: string }
  | { kind: 'role'; session: RoleSession };

/** Lambda's default; AWS allows 900 s to the role's MaxSessionDuration (1 h by default). */
export const DEFAULT_SESSION_SECONDS = 3600;
export const MIN_SESSION_SECONDS = 900;

export class LocalCredentialStore {
  private readonly sessions = new Map<string, RoleSession>();
  private readonly file: string | undefined;

  constructor(
    readonly developer: KeyPair & { arn: string; account: string },
    private readonly options: { dataDir?: string; now?: () => Date } = {},
  ) {
    this.file = options.dataDir ? join(options.dataDir, 'sts-sessions.json') : undefined;
    if (this.file && existsSync(this.file)) {
      const stored = JSON.parse(readFileSync(this.file, 'utf8')) as Array<
        Omit<RoleSession, 'expiration'> & { expiration: string }
      >;
      for (const s of stored) {
        const session = { ...s, expiration: new Date(s.expiration) };
        if (session.expiration > this.now()) this.sessions.set(s.accessKeyId, session);
      }
    }
  }

  private now(): Date {
    return this.options.now?.() ?? new Date();
  }

  /** New temporary credentials for the role (the local STS has already checked who may ask). */
  issue(roleArn: string, sessionName: string, durationSeconds: number): RoleSession {
    const account = roleArn.split(':')[4] ?? '';
    const session: RoleSession = {
      accessKeyId: `ASIA${randomBytes(10).toString('hex').toUpperCase().slice(0, 16)}`,
      secretAccessKey: randomBytes(30).toString('base64'),
      sessionToken: randomBytes(96).toString('base64'),
      expiration: new Date(this.now().getTime() + durationSeconds * 1000),
      roleArn,
      sessionName,
      account,
    };
    this.sessions.set(session.accessKeyId, session);
    this.save();
    return session;
  }

  /** The caller a key id belongs to; an expired session is still found (so it can be refused as expired). */
  lookup(accessKeyId: string): Caller | undefined {
    if (accessKeyId === this.developer.accessKeyId) {
      return {
        kind: 'developer',
        arn: this.developer.arn,
        account: this.developer.account,
        secretAccessKey: this.developer.secretAccessKey,
      };
    }
    const session = this.sessions.get(accessKeyId);
    return session ? { kind: 'role', session } : undefined;
  }

  isExpired(session: RoleSession, at = this.now()): boolean {
    return session.expiration.getTime() <= at.getTime();
  }

  private save(): void {
    if (!this.file) return;
    const now = this.now();
    const live = [...this.sessions.values()].filter((s) => s.expiration > now);
    const tmp = `${this.file}.tmp`;
    writeFileSync(tmp, JSON.stringify(live));
    renameSync(tmp, this.file);
  }
}

/** The ARN a role session acts as (what GetCallerIdentity answers, what policies see as the principal). */
export function assumedRoleArn(session: RoleSession): string {
  const roleName = session.roleArn.split('/').pop();
  const partition = session.roleArn.split(':')[1] ?? 'aws';
  return `arn:${partition}:sts::${session.account}:assumed-role/${roleName}/${session.sessionName}`;
}

export function callerArn(caller: Caller): string {
  return caller.kind === 'developer' ? caller.arn : assumedRoleArn(caller.session);
}

export function secretOf(caller: Caller): string {
  return caller.kind === 'developer' ? caller.secretAccessKey : caller.session.secretAccessKey;
}
