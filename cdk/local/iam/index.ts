// The local cloud's IAM: the templates' roles and policies, the local STS, the credential store
// and the authoriser, and the helpers the other parts use to run as a role and check a role.
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@smithy/types';
import type { S3Access } from '../s3/action.js';
import type { KnownKey } from '../s3/verify.js';
import { accountOf, type TemplateResolver } from '../template.js';
import { type AccessRequest, denialMessage, PolicyAuthorizer } from './authorizer.js';
import {
  type Caller,
  callerArn,
  DEFAULT_SESSION_SECONDS,
  type KeyPair,
  LocalCredentialStore,
  type RoleSession,
} from './credentials.js';
import { type PolicyDocument, type TemplatePolicies, templatePolicies } from './policies.js';
import { LocalSts } from './sts.js';

export { DEFAULT_SESSION_SECONDS } from './credentials.js';

export interface LocalIamOptions {
  resolver: TemplateResolver;
  region: string;
  account: string;
  developer: KeyPair;
  dataDir?: string;
  /** Length of the sessions the local cloud gives functions, the state machine and schedules. */
  sessionSeconds?: number;
  /** false only for the bench's baseline: every check allows. */
  enforce?: boolean;
  /** Resource policies an emulator keeps (the local KMS's key policies), by resource ARN. */
  serviceResourcePolicy?: (resourceArn: string) => PolicyDocument | undefined;
}

export class AccessDeniedError extends Error {
  override name = 'AccessDeniedException';
}

export class LocalIam {
  readonly store: LocalCredentialStore;
  readonly policies: TemplatePolicies;
  readonly authorizer: PolicyAuthorizer;
  readonly sts: LocalSts;
  readonly sessionSeconds: number;
  private readonly bucketAccounts = new Map<string, string>();

  constructor(private readonly options: LocalIamOptions) {
    this.sessionSeconds = options.sessionSeconds ?? DEFAULT_SESSION_SECONDS;
    this.store = new LocalCredentialStore(
      {
        ...options.developer,
        account: options.account,
        arn: `arn:aws:iam::${options.account}:user/local-developer-all-powerful`,
      },
      options.dataDir ? { dataDir: options.dataDir } : {},
    );
    this.policies = templatePolicies(options.resolver);
    this.authorizer = new PolicyAuthorizer(this.policies, {
      region: options.region,
      enforce: options.enforce ?? true,
      ...(options.serviceResourcePolicy ? { serviceResourcePolicy: options.serviceResourcePolicy } : {}),
    });
    this.sts = new LocalSts(this.store, this.policies, this.authorizer);
    for (const { stack, logicalId } of options.resolver.resourcesOfType('AWS::S3::Bucket')) {
      this.bucketAccounts.set(options.resolver.resolveString(stack, { Ref: logicalId }), accountOf(stack));
    }
  }

  /** The role a function (by ARN), state machine (by ARN) or schedule ("schedule:<id>") runs with. */
  executionRole(resourceArn: string): string | undefined {
    return this.policies.executionRoles.get(resourceArn);
  }

  /** Credentials for a role as the service gets them, renewed before they end (as the SDK's providers do). */
  roleCredentials(
    servicePrincipal: string,
    roleArn: string,
    sessionName: string,
    sourceArn?: string,
  ): AwsCredentialIdentityProvider {
    let current: RoleSession | undefined;
    let pending: Promise<RoleSession> | undefined;
    return async (): Promise<AwsCredentialIdentity> => {
      const margin = Math.min(300, this.sessionSeconds / 4) * 1000;
      if (!current || current.expiration.getTime() - Date.now() < margin) {
        pending ??= this.sts
          .credentialsFor(servicePrincipal, roleArn, sessionName, this.sessionSeconds, sourceArn)
          .finally(() => {
            pending = undefined;
          });
        current = await pending;
      }
      return {
        accessKeyId: current.accessKeyId,
        secretAccessKey: current.secretAccessKey,
        sessionToken: current.sessionToken,
        expiration: current.expiration,
      };
    };
  }

  /** Checks a request a service makes as a role (the state machine invoking a function). */
  async authorizeAs(roleArn: string, request: AccessRequest): Promise<void> {
    const caller: Caller = {
      kind: 'role',
      session: {
        accessKeyId: 'service',
        secretAccessKey: '',
        sessionToken: '',
        expiration: new Date(8.64e15),
        roleArn,
        sessionName: 'local-service',
        account: roleArn.split(':')[4] ?? this.options.account,
      },
    };
    const decision = await this.authorizer.authorize(caller, request);
    if (!decision.allowed) throw new AccessDeniedError(denialMessage(caller, request, decision));
  }

  /** API Gateway's invoke of a function, under the function's resource policy. */
  mayInvokeFromApi(functionArn: string, sourceArn: string): Promise<boolean> {
    return this.authorizer.authorizeService(
      'apigateway.amazonaws.com',
      {
        action: 'lambda:InvokeFunction',
        resource: functionArn,
        resourceAccount: functionArn.split(':')[4] ?? this.options.account,
      },
      sourceArn,
    );
  }

  /** The S3 verifier's view of a key. */
  s3Key = (accessKeyId: string): KnownKey | undefined => {
    const caller = this.store.lookup(accessKeyId);
    if (!caller) return undefined;
    if (caller.kind === 'developer') return { secretAccessKey: caller.secretAccessKey };
    const { secretAccessKey, sessionToken, expiration } = caller.session;
    return { secretAccessKey, sessionToken, expiration };
  };

  s3Requester = (accessKeyId: string): string => {
    const caller = this.store.lookup(accessKeyId);
    return caller ? callerArn(caller) : 'unknown';
  };

  /** The local S3's authorisation: a denial message, or undefined when allowed. */
  s3Authorize = async (
    accessKeyId: string,
    accesses: S3Access[] | undefined,
  ): Promise<string | undefined> => {
    const caller = this.store.lookup(accessKeyId);
    if (!caller) return 'Access Denied';
    if (caller.kind === 'developer' || !this.authorizer.enforcing) return undefined;
    if (!accesses) return 'The local S3 does not authorise this request type for a role session';
    for (const access of accesses) {
      const bucket = access.resource.startsWith('arn:aws:s3:::')
        ? access.resource.slice(13).split('/')[0]
        : undefined;
      const request: AccessRequest = {
        action: access.action,
        resource: access.resource,
        resourceAccount: bucket ? this.bucketAccount(bucket) : this.options.account,
        context: access.context,
      };
      const decision = await this.authorizer.authorize(caller, request);
      if (!decision.allowed) return denialMessage(caller, request, decision);
    }
    return undefined;
  };

  /** A bucket belongs to its stack's account (the vendor site's may be another one). */
  private bucketAccount(bucket: string): string {
    return this.bucketAccounts.get(bucket) ?? this.options.account;
  }
}
