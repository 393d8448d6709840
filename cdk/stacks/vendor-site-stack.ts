// The vendor's download site (software update server 20): a private release bucket that only
// the organisation's key issuer can read. Deployable to another account (claim 9).
import { CfnOutput, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import type { StageConfig } from '../config.js';
import { type KeyIssuer, ReleaseBucket } from '../constructs/release-bucket.js';
import { ReleaseMetadataRefresh } from '../constructs/release-metadata-refresh.js';
import { RELEASE_ACCESS_LOG_PREFIX, VendorLogAccess } from '../constructs/vendor-log-access.js';
import { suppressLambdaBaseline } from './update-management-stack.js';

export interface VendorSiteStackProps extends StackProps {
  config: StageConfig;
  keyIssuer: KeyIssuer;
  /** The organisation's download-evidence processor, which reads the access logs (S604/S605). */
  logReader?: KeyIssuer;
  /** Fixed bucket names (the vendor site in another account or region: no exports are used). */
  bucketNames?: { releases: string; accessLogs: string };
}

export class VendorSiteStack extends Stack {
  readonly releases: ReleaseBucket;
  readonly metadataRefresh: ReleaseMetadataRefresh;
  readonly releaseBucketExport: string;
  readonly accessLogBucketExport: string;

  constructor(scope: Construct, id: string, props: VendorSiteStackProps) {
    super(scope, id, props);
    const removalPolicy = props.config.retainData ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;
    this.releases = new ReleaseBucket(this, 'ReleaseSite', {
      keyIssuer: props.keyIssuer,
      removalPolicy,
      ...(props.bucketNames ? { names: props.bucketNames } : {}),
    });
    // The online TUF keys (snapshot, timestamp) and the schedule that renews them before expiry.
    this.metadataRefresh = new ReleaseMetadataRefresh(this, 'ReleaseMetadata', {
      releases: this.releases.bucket,
      logRetentionDays: props.config.logRetentionDays,
      removalPolicy,
    });
    if (props.logReader) {
      new VendorLogAccess(this, 'LogAccess', {
        accessLogs: this.releases.accessLogs,
        prefix: RELEASE_ACCESS_LOG_PREFIX,
        reader: props.logReader,
      });
    }
    // Exported under fixed names: the management stack imports them by name, so its IAM
    // statements (and their cdk-nag findings) name the same string at synth time.
    this.releaseBucketExport = `${this.stackName}-ReleaseBucketName`;
    this.accessLogBucketExport = `${this.stackName}-AccessLogBucketName`;
    new CfnOutput(this, 'ReleaseBucketName', {
      value: this.releases.bucket.bucketName,
      exportName: this.releaseBucketExport,
    });
    // What `upman vendor tuf init --site-keys` puts in the root for the snapshot and timestamp roles.
    new CfnOutput(this, 'TufSnapshotKeyArn', { value: this.metadataRefresh.snapshotKey.keyArn });
    new CfnOutput(this, 'TufTimestampKeyArn', { value: this.metadataRefresh.timestampKey.keyArn });
    new CfnOutput(this, 'AccessLogBucketName', {
      value: this.releases.accessLogs.bucketName,
      exportName: this.accessLogBucketExport,
    });
    suppressLambdaBaseline(this);
  }
}
