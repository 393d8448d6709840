// Lets the organisation's download-evidence processor read the release bucket's server access
// logs (and nothing else of the log bucket), by role name, so it works from another account
// (claim 9). The vendor stack adds it to its access-log bucket.
import { Aws } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import type { KeyIssuer } from './release-bucket.js';

/** The prefix the release bucket's access logs are delivered under (release-bucket.ts). */
export const RELEASE_ACCESS_LOG_PREFIX = 'releases/';

export interface VendorLogAccessProps {
  accessLogs: s3.IBucket;
  prefix: string;
  /** The processor's account and role-name pattern. */
  reader: KeyIssuer;
}

export class VendorLogAccess extends Construct {
  constructor(scope: Construct, id: string, props: VendorLogAccessProps) {
    super(scope, id);
    const { account, roleNamePattern } = props.reader;
    const principalArn = `arn:${Aws.PARTITION}:iam::${account}:role/${roleNamePattern}`;
    props.accessLogs.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'DownloadEvidenceReadsLogs',
        principals: [new iam.AccountPrincipal(account)],
        actions: ['s3:GetObject'],
        resources: [props.accessLogs.arnForObjects(`${props.prefix}*`)],
        conditions: { ArnLike: { 'aws:PrincipalArn': principalArn } },
      }),
    );
    props.accessLogs.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'DownloadEvidenceListsLogs',
        principals: [new iam.AccountPrincipal(account)],
        actions: ['s3:ListBucket'],
        resources: [props.accessLogs.bucketArn],
        conditions: {
          ArnLike: { 'aws:PrincipalArn': principalArn },
          StringLike: { 's3:prefix': [`${props.prefix}*`] },
        },
      }),
    );
  }
}
