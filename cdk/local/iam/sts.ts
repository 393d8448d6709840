// The local STS (query protocol, as the SDK, the aws CLI and boto3 speak it): AssumeRole for
// the roles of the templates and GetCallerIdentity. The developer's key pair may assume any
// role ("what may the Conclude function do?"); a role session may assume another only when its
// policies allow sts:AssumeRole on it and the role's trust policy trusts it. The local cloud
// itself gets each function's, state machine's and schedule's credentials through
// credentialsFor(), after the role's trust policy is checked for that AWS service.
import { randomUUID } from 'node:crypto';
import { runSimulation } from '@cloud-copilot/iam-simulate';
import type { AccessRequest, Authorizer, Decision } from './authorizer.js';
import { denialMessage } from './authorizer.js';
import {
  assumedRoleArn,
  type Caller,
  callerArn,
  DEFAULT_SESSION_SECONDS,
  type LocalCredentialStore,
  MIN_SESSION_SECONDS,
  type RoleSession,
} from './credentials.js';
import type { TemplatePolicies } from './policies.js';

const XMLNS = 'https://sts.amazonaws.com/doc/2011-06-15/';
/** A role's MaxSessionDuration default; the templates set none. */
const MAX_SESSION_SECONDS = 3600;

export class StsError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

export class LocalSts {
  constructor(
    private readonly store: LocalCredentialStore,
    private readonly policies: TemplatePolicies,
    private readonly authorizer: Authorizer,
  ) {}

  /** Credentials a service (lambda.amazonaws.com, states.…, scheduler.…) gets for a role it runs with. */
  async credentialsFor(
    servicePrincipal: string,
    roleArn: string,
    sessionName: string,
    durationSeconds = DEFAULT_SESSION_SECONDS,
    /** The resource the service acts for (confused-deputy conditions: aws:SourceArn, aws:SourceAccount). */
    sourceArn?: string,
  ): Promise<RoleSession> {
    const role = this.policies.roles.get(roleArn);
    if (!role) throw new StsError('AccessDenied', `No role ${roleArn} in the templates`, 403);
    const trust = await runSimulation(
      {
        request: {
          principal: servicePrincipal,
          action: 'sts:AssumeRole',
          resource: { resource: roleArn, accountId: roleArn.split(':')[4]! },
          contextVariables: sourceArn
            ? { 'aws:SourceArn': sourceArn, 'aws:SourceAccount': sourceArn.split(':')[4] ?? '' }
            : {},
        },
        identityPolicies: [],
        serviceControlPolicies: [],
        resourceControlPolicies: [],
        resourcePolicy: role.trustPolicy,
      },
      { simulationMode: 'Strict' },
    );
    if (trust.resultType === 'error' || trust.overallResult !== 'Allowed') {
      throw new StsError(
        'AccessDenied',
        `${servicePrincipal} is not authorized to perform: sts:AssumeRole on resource: ${roleArn}`,
        403,
      );
    }
    return this.store.issue(roleArn, sessionName, durationSeconds);
  }

  async assumeRole(caller: Caller, params: URLSearchParams): Promise<RoleSession> {
    const roleArn = params.get('RoleArn');
    const sessionName = params.get('RoleSessionName');
    if (!roleArn) throw validation('RoleArn');
    if (!sessionName || !/^[\w+=,.@-]{2,64}$/.test(sessionName)) throw validation('RoleSessionName');
    const durationText = params.get('DurationSeconds');
    const duration = durationText === null ? DEFAULT_SESSION_SECONDS : Number(durationText);
    if (!Number.isInteger(duration) || duration < MIN_SESSION_SECONDS) throw validation('DurationSeconds');
    if (duration > MAX_SESSION_SECONDS) {
      throw new StsError(
        'ValidationError',
        `The requested DurationSeconds exceeds the MaxSessionDuration set for this role.`,
        400,
      );
    }
    const role = this.policies.roles.get(roleArn);
    if (caller.kind === 'role') {
      const request: AccessRequest = {
        action: 'sts:AssumeRole',
        resource: roleArn,
        resourceAccount: roleArn.split(':')[4] ?? '',
      };
      const identity: Decision = await this.authorizer.authorize(caller, request);
      if (!identity.allowed)
        throw new StsError('AccessDenied', denialMessage(caller, request, identity), 403);
    }
    if (!role) {
      throw new StsError(
        'AccessDenied',
        `User: ${callerArn(caller)} is not authorized to perform: sts:AssumeRole on resource: ${roleArn}`,
        403,
      );
    }
    return this.store.issue(roleArn, sessionName, duration);
  }

  /** Answers a query-protocol request (form body) as STS does. */
  async handle(caller: Caller, body: string): Promise<{ status: number; xml: string }> {
    const params = new URLSearchParams(body);
    const action = params.get('Action');
    const requestId = randomUUID();
    try {
      if (action === 'GetCallerIdentity') {
        const arn = callerArn(caller);
        const account = caller.kind === 'developer' ? caller.account : caller.session.account;
        const userId =
          caller.kind === 'developer'
            ? 'AIDALOCALDEVELOPER'
            : `AROA${roleId(caller.session.roleArn)}:${caller.session.sessionName}`;
        return ok(
          'GetCallerIdentity',
          `<Arn>${esc(arn)}</Arn><UserId>${esc(userId)}</UserId><Account>${account}</Account>`,
          requestId,
        );
      }
      if (action === 'AssumeRole') {
        const s = await this.assumeRole(caller, params);
        return ok(
          'AssumeRole',
          `<AssumedRoleUser><Arn>${esc(assumedRoleArn(s))}</Arn><AssumedRoleId>AROA${roleId(s.roleArn)}:${esc(s.sessionName)}</AssumedRoleId></AssumedRoleUser>` +
            `<Credentials><AccessKeyId>${s.accessKeyId}</AccessKeyId><SecretAccessKey>${esc(s.secretAccessKey)}</SecretAccessKey>` +
            `<SessionToken>${esc(s.sessionToken)}</SessionToken><Expiration>${s.expiration.toISOString()}</Expiration></Credentials>`,
          requestId,
        );
      }
      throw new StsError(
        'InvalidAction',
        `Could not find operation ${action ?? '(none)'} for version 2011-06-15`,
        400,
      );
    } catch (error) {
      if (!(error instanceof StsError)) throw error;
      return { status: error.status, xml: errorXml(error.code, error.message, requestId) };
    }
  }
}

export function errorXml(code: string, message: string, requestId = randomUUID()): string {
  return `<ErrorResponse xmlns="${XMLNS}"><Error><Type>Sender</Type><Code>${code}</Code><Message>${esc(message)}</Message></Error><RequestId>${requestId}</RequestId></ErrorResponse>`;
}

function ok(action: string, result: string, requestId: string) {
  return {
    status: 200,
    xml: `<${action}Response xmlns="${XMLNS}"><${action}Result>${result}</${action}Result><ResponseMetadata><RequestId>${requestId}</RequestId></ResponseMetadata></${action}Response>`,
  };
}

const validation = (field: string) =>
  new StsError(
    'ValidationError',
    `1 validation error detected: Value at '${field.charAt(0).toLowerCase()}${field.slice(1)}' failed to satisfy constraint`,
    400,
  );

/** A stable pseudo role id (AWS's AROA… ids are opaque). */
function roleId(roleArn: string): string {
  let h = 0;
  for (const c of roleArn) h = (h * 31 + c.charCodeAt(0)) >>> 0;
  return h.toString(16).toUpperCase().padStart(16, '0').slice(0, 16);
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
