// Typed stage configuration. Every value the stacks need comes from here, validated once,
// so a wrong setting fails at synth time with a message naming it.
import {
  DEFAULT_ROLE_GROUPS,
  IDENTITY_PRESETS,
  type IdentityConfig,
  IdentityConfigSchema,
  type IdentityPreset,
} from '../lib/http/identity.js';
import { type SignInSettings, SignInSettingsSchema } from '../lib/http/sign-in.js';
import { MAX_KEY_TTL_SECONDS } from '../lib/vendor/grants.js';
import { DEFAULT_POLICY, type PolicyConfig, parsePolicyConfig } from '../lib/workflow/policy.js';

export type BudgetBatchSchedule = 'immediate' | 'daily' | 'weekly';

export interface StageConfig {
  /** Short stage name, used as a prefix for stack names. */
  stage: string;
  /** Where the organisation's stack goes; undefined means the CLI's default account/region. */
  env?: { account?: string; region?: string };
  /** Where the vendor's download site goes (claim 9: it may be another account). */
  vendorEnv?: { account?: string; region?: string };
  auth: {
    /** OIDC issuer whose tokens the HTTP API accepts (Cognito user pool URL or the organisation's IdP). */
    issuer: string;
    /** Accepted `aud` (or Cognito `client_id`) values. */
    audience: string[];
    /**
     * Signing in from a browser (the approval page; the console later): authorization code +
     * PKCE as a public client (docs/identity.md). Cognito: the hosted UI's
     * `https://<domain>/oauth2/authorize` and `/oauth2/token` and the app client id (no secret);
     * register `<API URL>/signed-in` as its callback URL (stack output SignInRedirectUri).
     * Default: the issuer's `/oauth2/authorize` and `/oauth2/token`, the first audience.
     */
    signIn?: Partial<SignInSettings>;
  };
  /**
   * Which token claims say who the caller is (docs/identity.md): a preset (`cognito` or `oidc`),
   * any claim overridden (Entra: `{"preset":"oidc","claims":{"key":"oid"}}`), and for each role
   * the IdP group names that grant it.
   */
  identity: {
    preset: IdentityPreset;
    claims?: Partial<IdentityConfig['claims']>;
    roleGroups?: Partial<IdentityConfig['roleGroups']>;
  };
  mail: {
    /** Sender address of every mail; its domain is the SES identity. */
    sender: string;
    /** Where replies go (e.g. a help desk), instead of the sender. */
    replyTo?: string[];
    /**
     * The account has left the SES sandbox (production access). Locally, false keeps the sandbox
     * rule: only verified addresses receive mail.
     */
    productionAccess?: boolean;
    /**
     * An existing SES configuration set to send through (the organisation's event destinations or
     * dedicated IPs). Unset: the stack creates one that requires TLS and suppresses bounces.
     */
    configurationSet?: string;
    /**
     * The admins told when someone keeps trying wrong approval-link secrets (with the link's
     * approver). Default: admins@ the sender's domain.
     */
    adminAlerts?: string[];
  };
  budgetBatch: { schedule: BudgetBatchSchedule };
  /** The approval's clock (S505/S506) and how long a request waits for finance (S503). */
  approval: {
    /** No decision this long after the mail: a reminder. */
    reminderSeconds: number;
    /** No decision this long after the reminder: escalation to the next approver. */
    escalationSeconds: number;
    /** No decision this long after the escalation: EXPIRED. */
    expirySeconds: number;
    /** No budget answer this long after the line was filed: EXPIRED. */
    budgetAnswerSeconds: number;
  };
  /** The purchase policy and the budget ledger's settings (lib/workflow/policy.ts). */
  policy: PolicyConfig;
  /** How long a download key (presigned URL) lives: at most 15 minutes, the revocation delay. */
  keyTtlSeconds: number;
  logRetentionDays: number;
  /** Keep data stores on stack deletion (production), or destroy them (dev). */
  retainData: boolean;
}

const DEFAULTS: Omit<StageConfig, 'stage'> = {
  auth: { issuer: 'https://issuer.upman.local/dev', audience: ['upman'] },
  identity: { preset: 'oidc' },
  mail: { sender: 'upman@upman.example' },
  budgetBatch: { schedule: 'daily' },
  approval: {
    reminderSeconds: 2 * 86_400,
    escalationSeconds: 2 * 86_400,
    expirySeconds: 3 * 86_400,
    budgetAnswerSeconds: 14 * 86_400,
  },
  policy: DEFAULT_POLICY,
  keyTtlSeconds: MAX_KEY_TTL_SECONDS,
  logRetentionDays: 30,
  retainData: false,
};

const STAGES: Record<string, Partial<StageConfig>> = {
  // A per-department override to try: Research's approvers may approve past finance's "no".
  dev: { policy: { ...DEFAULT_POLICY, departments: { Research: { approverMayOverrideBudget: true } } } },
  prod: { retainData: true, logRetentionDays: 365, budgetBatch: { schedule: 'weekly' } },
};

/** Reads the stage from context (`-c stage=prod`) plus optional JSON overrides (`-c config='{...}'`). */
export function loadConfig(context: { stage?: unknown; config?: unknown }): StageConfig {
  const stage = typeof context.stage === 'string' && context.stage ? context.stage : 'dev';
  const base = STAGES[stage];
  if (!base) throw new Error(`Unknown stage "${stage}" (known: ${Object.keys(STAGES).join(', ')})`);
  const overrides =
    typeof context.config === 'string' ? (JSON.parse(context.config) as Partial<StageConfig>) : {};
  const config: StageConfig = { ...DEFAULTS, ...base, ...overrides, stage };
  // The policy merges field by field, so an override of one field keeps the stage's others.
  config.policy = { ...DEFAULTS.policy, ...base.policy, ...overrides.policy };
  validate(config);
  return config;
}

function validate(config: StageConfig): void {
  const fail = (field: string, why: string) => {
    throw new Error(`Invalid stage config "${config.stage}": ${field} ${why}`);
  };
  if (!/^[a-z][a-z0-9-]{0,15}$/.test(config.stage))
    fail('stage', 'must be lower-case letters, digits, dashes');
  if (!/^https:\/\/[^\s]+$/.test(config.auth.issuer)) fail('auth.issuer', 'must be an https URL');
  if (config.auth.audience.length === 0) fail('auth.audience', 'must name at least one audience');
  identityOf(config);
  signInOf(config);
  // Only dev may keep the development issuer and the placeholder sender: on AWS the first makes
  // every route 401 and the second mails from a domain nobody owns.
  if (config.stage !== 'dev') {
    if (config.auth.issuer === DEFAULTS.auth.issuer) {
      fail(
        'auth.issuer',
        'is the development issuer: set your Cognito user pool or OIDC issuer (README, Deploying)',
      );
    }
    if (config.mail.sender === DEFAULTS.mail.sender) {
      fail('mail.sender', 'is the placeholder sender: set an address at a domain you verify in SES');
    }
  }
  if (!/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(config.mail.sender))
    fail('mail.sender', 'must be an e-mail address');
  for (const [i, address] of (config.mail.adminAlerts ?? []).entries()) {
    if (!/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(address))
      fail(`mail.adminAlerts[${i}]`, 'must be an e-mail address');
  }
  for (const [i, address] of (config.mail.replyTo ?? []).entries()) {
    if (!/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(address)) fail(`mail.replyTo[${i}]`, 'must be an e-mail address');
  }
  const configurationSet = config.mail.configurationSet;
  if (configurationSet !== undefined && !/^[A-Za-z0-9_-]{1,64}$/.test(configurationSet))
    fail('mail.configurationSet', 'must be an SES configuration set name: 1-64 letters, digits, _ or -');
  if (!['immediate', 'daily', 'weekly'].includes(config.budgetBatch.schedule)) {
    fail('budgetBatch.schedule', 'must be immediate, daily or weekly');
  }
  for (const field of [
    'reminderSeconds',
    'escalationSeconds',
    'expirySeconds',
    'budgetAnswerSeconds',
  ] as const) {
    const v = config.approval?.[field];
    if (!Number.isInteger(v) || v < 60 || v > 365 * 86_400) {
      fail(`approval.${field}`, 'must be an integer number of seconds from 60 to 31536000 (one year)');
    }
  }
  try {
    parsePolicyConfig(config.policy);
  } catch (e) {
    fail('policy', (e as Error).message);
  }
  if (config.vendorEnv) {
    // The vendor bucket's policy names the organisation's account, and the management stack
    // names the vendor's buckets (no export crosses accounts or regions): both must be known.
    if (!config.env?.account)
      fail('env.account', 'must be set when vendorEnv is set (the vendor bucket policy trusts it)');
    if (!config.env?.region) fail('env.region', 'must be set when vendorEnv is set');
    if (!config.vendorEnv.account) fail('vendorEnv.account', "must be set (the vendor site's account)");
    if (!config.vendorEnv.region) fail('vendorEnv.region', "must be set (the vendor site's region)");
  }
  for (const [field, account] of [
    ['env.account', config.env?.account],
    ['vendorEnv.account', config.vendorEnv?.account],
  ] as const) {
    if (account !== undefined && !/^\d{12}$/.test(account)) fail(field, 'must be a 12-digit AWS account id');
  }
  if (
    !Number.isInteger(config.keyTtlSeconds) ||
    config.keyTtlSeconds < 60 ||
    config.keyTtlSeconds > MAX_KEY_TTL_SECONDS
  ) {
    fail(
      'keyTtlSeconds',
      `must be an integer between 60 and ${MAX_KEY_TTL_SECONDS} (a revoked grant's keys die within it; the agent renews keys while it downloads)`,
    );
  }
}

/** The identity configuration the API functions get (UPMAN_IDENTITY): preset, overrides, role groups. */
export function identityOf(config: StageConfig): IdentityConfig {
  const fail = (field: string, why: string): never => {
    throw new Error(`Invalid stage config "${config.stage}": ${field} ${why}`);
  };
  const identity = config.identity;
  if (!identity || !(identity.preset in IDENTITY_PRESETS)) {
    fail('identity.preset', `must be one of ${Object.keys(IDENTITY_PRESETS).join(', ')}`);
  }
  const result = IdentityConfigSchema.safeParse({
    claims: { ...IDENTITY_PRESETS[identity.preset], ...identity.claims },
    roleGroups: { ...DEFAULT_ROLE_GROUPS, ...identity.roleGroups },
  });
  if (!result.success) {
    const issue = result.error.issues[0]!;
    const [section, ...rest] = issue.path.map(String);
    fail(`identity.${[section, ...rest].join('.')}`, issue.message);
  }
  return result.data!;
}

/** Metadata key on the sender identity: the account has production access (the local SES reads it). */
export const SES_PRODUCTION_ACCESS = 'upman:sesProductionAccess';

/** The sender's domain, which SES must have verified. */
export function senderDomain(config: StageConfig): string {
  return config.mail.sender.split('@')[1]!;
}

/** The sign-in settings the approval page gets (SIGN_IN): the stage's, or the issuer's defaults. */
export function signInOf(config: StageConfig): SignInSettings {
  const issuer = config.auth.issuer.replace(/\/$/, '');
  const result = SignInSettingsSchema.safeParse({
    authorizeUrl: `${issuer}/oauth2/authorize`,
    tokenUrl: `${issuer}/oauth2/token`,
    clientId: config.auth.audience[0],
    scope: 'openid email profile',
    ...config.auth.signIn,
  });
  if (!result.success) {
    const issue = result.error.issues[0]!;
    throw new Error(
      `Invalid stage config "${config.stage}": auth.signIn.${issue.path.join('.')} ${issue.message}`,
    );
  }
  for (const field of ['authorizeUrl', 'tokenUrl'] as const) {
    if (!result.data[field].startsWith('https://')) {
      throw new Error(`Invalid stage config "${config.stage}": auth.signIn.${field} must be an https URL`);
    }
  }
  // The ID token the page sends carries the client id as its audience: the API must accept it.
  if (!config.auth.audience.includes(result.data.clientId)) {
    throw new Error(
      `Invalid stage config "${config.stage}": auth.signIn.clientId must be one of auth.audience (the API accepts its ID tokens)`,
    );
  }
  return result.data;
}

/** Who is told about wrong approval-link secrets besides the approver (mail.adminAlerts). */
export function adminAlertsOf(config: StageConfig): string[] {
  return config.mail.adminAlerts ?? [`admins@${config.mail.sender.split('@')[1]}`];
}
