// The policies of the synthesized templates, resolved to local names: each role's trust policy
// and identity policies (inline and AWS::IAM::Policy attached to it), and the resource policies
// of buckets and queues. The local STS and the authoriser read them from here.
import type { TemplateResolver } from '../template.js';

export interface PolicyDocument {
  Version?: string;
  Statement: unknown[] | unknown;
}

export interface LocalRole {
  arn: string;
  name: string;
  logicalId: string;
  trustPolicy: PolicyDocument | undefined;
  identityPolicies: Array<{ name: string; policy: PolicyDocument }>;
}

export interface TemplatePolicies {
  roles: Map<string, LocalRole>;
  /** Resource policies by resource ARN: buckets (arn:aws:s3:::name), queues and functions. */
  resourcePolicies: Map<string, PolicyDocument>;
  /** Which role a function, state machine or schedule runs with, by its name or ARN. */
  executionRoles: Map<string, string>;
}

export function templatePolicies(resolver: TemplateResolver): TemplatePolicies {
  const roles = new Map<string, LocalRole>();
  const byLogicalId = new Map<string, LocalRole>();
  for (const { stack, logicalId, resource } of resolver.resourcesOfType('AWS::IAM::Role')) {
    const arn = resolver.resolveString(stack, { 'Fn::GetAtt': [logicalId, 'Arn'] });
    const p = resource.Properties ?? {};
    const inline =
      (resolver.resolve(stack, p.Policies ?? []) as Array<{
        PolicyName: string;
        PolicyDocument: PolicyDocument;
      }>) ?? [];
    const role: LocalRole = {
      arn,
      name: arn.split('/').pop()!,
      logicalId: `${stack.artifactId}/${logicalId}`,
      trustPolicy: resolver.resolve(stack, p.AssumeRolePolicyDocument) as PolicyDocument | undefined,
      identityPolicies: inline.map((i) => ({ name: i.PolicyName, policy: i.PolicyDocument })),
    };
    roles.set(arn, role);
    byLogicalId.set(`${stack.artifactId}/${logicalId}`, role);
  }
  for (const { stack, logicalId, resource } of resolver.resourcesOfType('AWS::IAM::Policy')) {
    const p = resource.Properties ?? {};
    const document = resolver.resolve(stack, p.PolicyDocument) as PolicyDocument;
    for (const ref of (p.Roles ?? []) as unknown[]) {
      const refId = (ref as { Ref?: string }).Ref;
      const role = refId ? byLogicalId.get(`${stack.artifactId}/${refId}`) : undefined;
      if (!role)
        throw new Error(`${stack.artifactId}/${logicalId}: attached to a role the templates do not define`);
      role.identityPolicies.push({ name: logicalId, policy: document });
    }
  }

  const resourcePolicies = new Map<string, PolicyDocument>();
  for (const { stack, resource } of resolver.resourcesOfType('AWS::S3::BucketPolicy')) {
    const p = resolver.resolve(stack, resource.Properties ?? {}) as {
      Bucket: string;
      PolicyDocument: PolicyDocument;
    };
    resourcePolicies.set(`arn:aws:s3:::${p.Bucket}`, p.PolicyDocument);
  }
  for (const { stack, resource } of resolver.resourcesOfType('AWS::SQS::QueuePolicy')) {
    const p = resource.Properties ?? {};
    const document = resolver.resolve(stack, p.PolicyDocument) as PolicyDocument;
    for (const ref of (p.Queues ?? []) as unknown[]) {
      const refId = (ref as { Ref?: string }).Ref;
      if (!refId) continue;
      const arn = resolver.resolveString(stack, { 'Fn::GetAtt': [refId, 'Arn'] });
      resourcePolicies.set(arn, document);
    }
  }

  // A function's resource policy is its AWS::Lambda::Permission resources, each one statement
  // as Lambda's AddPermission writes it (SourceArn/SourceAccount become conditions).
  for (const { stack, logicalId, resource } of resolver.resourcesOfType('AWS::Lambda::Permission')) {
    const p = resolver.resolve(stack, resource.Properties ?? {}) as {
      Action: string;
      FunctionName: string;
      Principal: string;
      SourceArn?: string;
      SourceAccount?: string;
    };
    const functionArn = p.FunctionName.startsWith('arn:')
      ? p.FunctionName
      : resolver.arn('lambda', `function:${p.FunctionName}`, stack);
    const condition: Record<string, Record<string, string>> = {};
    if (p.SourceArn) condition.ArnLike = { 'AWS:SourceArn': p.SourceArn };
    if (p.SourceAccount) condition.StringEquals = { 'AWS:SourceAccount': p.SourceAccount };
    const statement = {
      Sid: logicalId,
      Effect: 'Allow',
      Principal: p.Principal.endsWith('.amazonaws.com') ? { Service: p.Principal } : { AWS: p.Principal },
      Action: p.Action,
      Resource: functionArn,
      ...(Object.keys(condition).length > 0 ? { Condition: condition } : {}),
    };
    const existing = resourcePolicies.get(functionArn);
    if (existing) (existing.Statement as unknown[]).push(statement);
    else resourcePolicies.set(functionArn, { Version: '2012-10-17', Statement: [statement] });
  }

  const executionRoles = new Map<string, string>();
  for (const { stack, logicalId, resource } of resolver.resourcesOfType('AWS::Lambda::Function')) {
    const p = resource.Properties ?? {};
    if (p.Role === undefined) continue;
    const arn = resolver.resolveString(stack, { 'Fn::GetAtt': [logicalId, 'Arn'] });
    executionRoles.set(arn, resolver.resolveString(stack, p.Role));
  }
  for (const { stack, logicalId, resource } of resolver.resourcesOfType('AWS::StepFunctions::StateMachine')) {
    const p = resource.Properties ?? {};
    if (p.RoleArn === undefined) continue;
    executionRoles.set(
      resolver.resolveString(stack, { 'Fn::GetAtt': [logicalId, 'Arn'] }),
      resolver.resolveString(stack, p.RoleArn),
    );
  }
  for (const { stack, logicalId, resource } of resolver.resourcesOfType('AWS::Scheduler::Schedule')) {
    const target = (resource.Properties ?? {}).Target as { RoleArn?: unknown } | undefined;
    if (target?.RoleArn === undefined) continue;
    executionRoles.set(`schedule:${logicalId}`, resolver.resolveString(stack, target.RoleArn));
  }
  return { roles, resourcePolicies, executionRoles };
}
