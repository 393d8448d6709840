// Names a function's role "<stack>-KeyIssuer-<name>", the pattern the vendor's release bucket
// trusts (cdk/app.ts keyIssuer.roleNamePattern). A presigned URL acts with the signer's role,
// so when the vendor site is in another account (claim 9) S3 checks that role against the
// bucket policy: only roles named this way can issue working keys or read manifests.
import { Aws, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { IConstruct } from 'constructs';
import type { AppFunction } from './app-function.js';

export const KEY_ISSUER_ROLE_INFIX = 'KeyIssuer-';
/** Roles that read release manifests and nothing else (the announcements' module filter). */
export const MANIFEST_READER_ROLE_INFIX = 'ManifestReader-';
/** Manifests are <software>/manifest.json (lib/vendor/layout.ts). */
export const MANIFEST_KEY_PATTERN = '*/manifest.json';

/** The role-name pattern to trust for a management stack name. */
export const keyIssuerRolePattern = (managementStackName: string) =>
  `${managementStackName}-${KEY_ISSUER_ROLE_INFIX}*`;
export const manifestReaderRolePattern = (managementStackName: string) =>
  `${managementStackName}-${MANIFEST_READER_ROLE_INFIX}*`;

/**
 * Lets the role list the release bucket for manifest keys only: whether a release is published
 * is then a listing (absent = not yet), not a GetObject that S3 answers 403 for a missing key
 * to a caller without s3:ListBucket.
 */
export function grantManifestListing(fn: AppFunction, releaseBucketName: string): void {
  fn.addToRolePolicy(
    new iam.PolicyStatement({
      actions: ['s3:ListBucket'],
      resources: [`arn:${Aws.PARTITION}:s3:::${releaseBucketName}`],
      conditions: { StringLike: { 's3:prefix': [MANIFEST_KEY_PATTERN] } },
    }),
  );
}

/** Names the role "<stack>-ManifestReader-<name>": the bucket policy lets it read manifests only. */
export function nameAsManifestReader(fn: AppFunction, name: string, releaseBucketName: string): string {
  if (!/^[A-Za-z0-9]{1,20}$/.test(name))
    throw new Error(`Manifest reader role name "${name}" must be 1-20 letters or digits`);
  const roleName = `${Stack.of(fn).stackName}-${MANIFEST_READER_ROLE_INFIX}${name}`;
  if (roleName.length > 64) throw new Error(`Role name ${roleName} is longer than IAM's 64 characters`);
  (fn.role!.node.defaultChild as iam.CfnRole).roleName =
    `${Aws.STACK_NAME}-${MANIFEST_READER_ROLE_INFIX}${name}`;
  fn.addToRolePolicy(
    new iam.PolicyStatement({
      actions: ['s3:GetObject'],
      resources: [`arn:${Aws.PARTITION}:s3:::${releaseBucketName}/${MANIFEST_KEY_PATTERN}`],
    }),
  );
  grantManifestListing(fn, releaseBucketName);
  acknowledgeBucketObjects(
    fn.role!,
    releaseBucketName,
    MANIFEST_KEY_PATTERN,
    'Reads the release manifest of whichever software it is asked about; only manifests, no artifacts.',
  );
  return roleName;
}

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
    grantManifestListing(fn, releaseBucketName);
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
