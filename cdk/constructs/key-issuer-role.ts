// Names a function's role "<stack>-KeyIssuer-<name>", the pattern the vendor's release bucket
// trusts (cdk/app.ts keyIssuer.roleNamePattern). A presigned URL acts with the signer's role,
// so when the vendor site is in another account (claim 9) S3 checks that role against the
// bucket policy: only roles named this way can issue working keys or read manifests.
import { Aws, Stack, Validations } from 'aws-cdk-lib';
import type * as iam from 'aws-cdk-lib/aws-iam';
import type { IConstruct } from 'constructs';
import type { AppFunction } from './app-function.js';

export const KEY_ISSUER_ROLE_INFIX = 'KeyIssuer-';

/** The role-name pattern to trust for a management stack name. */
export const keyIssuerRolePattern = (managementStackName: string) =>
  `${managementStackName}-${KEY_ISSUER_ROLE_INFIX}*`;

/**
 * Names the role, and records why it may read every object of the release bucket (cdk-nag
 * IAM5: keys are for any artifact, and the manifest is read per software).
 */
export function nameAsKeyIssuer(fn: AppFunction, name: string, releaseBucketName?: string): string {
  if (!/^[A-Za-z0-9]{1,20}$/.test(name))
    throw new Error(`Key issuer role name "${name}" must be 1-20 letters or digits`);
  const roleName = `${Stack.of(fn).stackName}-${KEY_ISSUER_ROLE_INFIX}${name}`;
  if (roleName.length > 64) throw new Error(`Role name ${roleName} is longer than IAM's 64 characters`);
  // From the stack's own name at deploy time (a reference, not a hard-coded name).
  (fn.role!.node.defaultChild as iam.CfnRole).roleName = `${Aws.STACK_NAME}-${KEY_ISSUER_ROLE_INFIX}${name}`;
  if (releaseBucketName) {
    acknowledgeBucketObjects(
      fn.role!,
      releaseBucketName,
      '*',
      'Issues keys for, and reads the manifest of, any release in the vendor bucket.',
    );
  }
  return roleName;
}

/** cdk-nag's rendering of a bucket name in a finding id (a literal, an import, or a Ref). */
export function nagName(scope: IConstruct, value: string): string {
  const r = Stack.of(scope).resolve(value) as unknown;
  if (typeof r === 'string') return r;
  const o = r as Record<string, unknown>;
  if (typeof o['Fn::ImportValue'] === 'string') return o['Fn::ImportValue'];
  if (typeof o.Ref === 'string') return `<${o.Ref}>`;
  return JSON.stringify(r);
}

export function acknowledgeBucketObjects(
  role: IConstruct,
  bucketName: string,
  keyPattern: string,
  reason: string,
) {
  Validations.of(role).acknowledge({
    id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::${nagName(role, bucketName)}/${keyPattern}]`,
    reason,
  });
}
