// Decides whether a caller may perform an action on a resource, as IAM does: the role's
// identity policies and the resource's policy (bucket, queue) evaluated by
// @cloud-copilot/iam-simulate. This file only assembles the request (principal, action,
// resource ARN, context keys); the evaluation is the library's. Decisions are cached per
// (principal, action, resource, context): the policies come from the templates and do not
// change while the local cloud runs.
import { runSimulation, runUnsafeSimulation, type Simulation } from '@cloud-copilot/iam-simulate';
import { assumedRoleArn, type Caller } from './credentials.js';
import type { PolicyDocument, TemplatePolicies } from './policies.js';

export interface AccessRequest {
  action: string;
  /** The resource ARN, or "*" for actions that take none (ListQueues, GetCallerIdentity). */
  resource: string;
  /** Account that owns the resource (for cross-account evaluation). */
  resourceAccount: string;
  /** Service-specific condition keys (s3:prefix, …); the global ones are added here. */
  context?: Record<string, string | string[]>;
  /**
   * AWS checks this action against the resource although the service reference lists no
   * resource type for it (states:SendTask* against the token's state machine), so the
   * library's validation, which would demand "*", is skipped for it.
   */
  resourceNotInReference?: boolean;
}

export type Decision =
  | { allowed: true }
  | {
      allowed: false;
      /** "explicit" when a Deny statement matched, else "implicit" (nothing allowed it). */
      denial: 'explicit' | 'implicit';
      /** Whose policy decided: identity-based or resource-based (for the AWS-style message). */
      policyType: 'identity-based' | 'resource-based';
    };

export interface Authorizer {
  authorize(caller: Caller, request: AccessRequest): Promise<Decision>;
  /** The bench's baseline: every check answers allowed without evaluating anything. */
  readonly enforcing: boolean;
}

export class PolicyAuthorizer implements Authorizer {
  private readonly cache = new Map<string, Promise<Decision>>();
  private readonly serviceCache = new Map<string, Promise<boolean>>();
  readonly enforcing: boolean;

  constructor(
    private readonly policies: TemplatePolicies,
    private readonly options: {
      region: string;
      enforce?: boolean;
      /** Resource policies kept by an emulator rather than the templates (the local KMS's key policies). */
      serviceResourcePolicy?: (resourceArn: string) => PolicyDocument | undefined;
    },
  ) {
    this.enforcing = options.enforce ?? true;
  }

  authorize(caller: Caller, request: AccessRequest): Promise<Decision> {
    // The developer's key pair is the account's administrator: never evaluated.
    if (caller.kind === 'developer' || !this.enforcing) return Promise.resolve({ allowed: true });
    const context: Record<string, string | string[]> = {
      'aws:PrincipalArn': caller.session.roleArn,
      'aws:PrincipalAccount': caller.session.account,
      'aws:PrincipalType': 'AssumedRole',
      'aws:userid': `${caller.session.accessKeyId}:${caller.session.sessionName}`,
      // The local cloud speaks HTTP on loopback; requests count as TLS (documented deviation).
      'aws:SecureTransport': 'true',
      'aws:RequestedRegion': this.options.region,
      ...request.context,
    };
    const key = JSON.stringify([
      caller.session.roleArn,
      request.action,
      request.resource,
      request.resourceAccount,
      context,
    ]);
    let decision = this.cache.get(key);
    if (!decision) {
      decision = this.evaluate(caller.session.roleArn, assumedRoleArn(caller.session), request, context);
      this.cache.set(key, decision);
      // A failed evaluation is not a decision: the next request tries again.
      decision.catch(() => this.cache.delete(key));
    }
    return decision;
  }

  /**
   * Whether an AWS service (apigateway.amazonaws.com) may act on a resource: services have no
   * identity policies here, so the resource's policy alone decides, with the confused-deputy keys
   * aws:SourceArn and aws:SourceAccount of the resource it acts for.
   */
  authorizeService(servicePrincipal: string, request: AccessRequest, sourceArn: string): Promise<boolean> {
    if (!this.enforcing) return Promise.resolve(true);
    const key = JSON.stringify([servicePrincipal, request.action, request.resource, sourceArn]);
    let decision = this.serviceCache.get(key);
    if (!decision) {
      const resourcePolicy = this.resourcePolicyFor(request.resource);
      decision = runSimulation(
        {
          request: {
            principal: servicePrincipal,
            action: request.action,
            resource: { resource: request.resource, accountId: request.resourceAccount },
            contextVariables: {
              'aws:SourceArn': sourceArn,
              'aws:SourceAccount': sourceArn.split(':')[4] ?? '',
              'aws:SecureTransport': 'true',
            },
          },
          identityPolicies: [],
          serviceControlPolicies: [],
          resourceControlPolicies: [],
          ...(resourcePolicy ? { resourcePolicy } : {}),
        },
        { simulationMode: 'Strict' },
      ).then((result) => {
        if (result.resultType === 'error')
          throw new Error(
            `IAM evaluation of ${request.action} by ${servicePrincipal} failed: ${JSON.stringify(result.errors)}`,
          );
        return result.overallResult === 'Allowed';
      });
      this.serviceCache.set(key, decision);
      decision.catch(() => this.serviceCache.delete(key));
    }
    return decision;
  }

  private async evaluate(
    roleArn: string,
    principal: string,
    request: AccessRequest,
    context: Record<string, string | string[]>,
  ): Promise<Decision> {
    const role = this.policies.roles.get(roleArn);
    const resourcePolicy = this.resourcePolicyFor(request.resource);
    const simulation: Simulation = {
      request: {
        principal,
        action: request.action,
        resource: { resource: request.resource, accountId: request.resourceAccount },
        contextVariables: context,
      },
      identityPolicies: role?.identityPolicies ?? [],
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      ...(resourcePolicy ? { resourcePolicy } : {}),
    };
    if (request.resourceNotInReference) {
      const overall = runUnsafeSimulation(simulation, { simulationMode: 'Strict' });
      if (overall === 'Allowed') return { allowed: true };
      return {
        allowed: false,
        denial: overall === 'ExplicitlyDenied' ? 'explicit' : 'implicit',
        policyType: 'identity-based',
      };
    }
    const result = await runSimulation(simulation, { simulationMode: 'Strict' });
    if (result.resultType === 'error') {
      throw new Error(
        `IAM evaluation of ${request.action} on ${request.resource} failed: ${result.errors.message} ${JSON.stringify(result.errors)}`,
      );
    }
    const overall = result.overallResult;
    if (overall === 'Allowed') return { allowed: true };
    const analysis = result.resultType === 'single' ? result.result.analysis : result.results[0]?.analysis;
    const resourceDenied =
      (analysis?.resourceAnalysis?.denyStatements?.length ?? 0) > 0 ||
      (overall === 'ExplicitlyDenied' && (analysis?.identityAnalysis?.denyStatements?.length ?? 0) === 0);
    return {
      allowed: false,
      denial: overall === 'ExplicitlyDenied' ? 'explicit' : 'implicit',
      policyType: resourceDenied ? 'resource-based' : 'identity-based',
    };
  }

  private resourcePolicyFor(resource: string): PolicyDocument | undefined {
    if (resource.startsWith('arn:aws:s3:::')) {
      const bucket = resource.slice('arn:aws:s3:::'.length).split('/')[0]!;
      return this.policies.resourcePolicies.get(`arn:aws:s3:::${bucket}`);
    }
    return this.policies.resourcePolicies.get(resource) ?? this.options.serviceResourcePolicy?.(resource);
  }
}

/** "User: <arn> is not authorized to perform: <action> on resource: <arn> because …", as AWS words it. */
export function denialMessage(caller: Caller, request: AccessRequest, decision: Decision): string {
  const who = caller.kind === 'developer' ? caller.arn : assumedRoleArn(caller.session);
  if (decision.allowed) return '';
  const because =
    decision.denial === 'explicit'
      ? `with an explicit deny in a ${decision.policyType} policy`
      : `because no ${decision.policyType} policy allows the ${request.action} action`;
  return `User: ${who} is not authorized to perform: ${request.action} on resource: ${request.resource} ${because}`;
}
