// The vendor's download site (software update server 20): a private release bucket that only
// the organisation's key issuer can read. Deployable to another account (claim 9).
import { CfnOutput, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import type { StageConfig } from '../config.js';
import { type KeyIssuer, ReleaseBucket } from '../constructs/release-bucket.js';

export interface VendorSiteStackProps extends StackProps {
  config: StageConfig;
  keyIssuer: KeyIssuer;
}

export class VendorSiteStack extends Stack {
  readonly releases: ReleaseBucket;

  constructor(scope: Construct, id: string, props: VendorSiteStackProps) {
    super(scope, id, props);
    const removalPolicy = props.config.retainData ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;
    this.releases = new ReleaseBucket(this, 'ReleaseSite', { keyIssuer: props.keyIssuer, removalPolicy });
    new CfnOutput(this, 'ReleaseBucketName', { value: this.releases.bucket.bucketName });
  }
}
