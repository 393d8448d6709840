// The vendor's release bucket: private, encrypted, versioned, TLS-only, with S3 server access
// logs (the server-side evidence of a completed download, S604/S605). Only the key issuer named
// in props may read it; nobody else can, not even with a presigned URL of their own.
import { Aws, Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';

export interface KeyIssuer {
  /** Account of the organisation that issues keys (presigned URLs). */
  account: string;
  /** Role-name pattern of the key-issuing function's role in that account. */
  roleNamePattern: string;
  /** Role-name pattern of roles that may read manifests (and list them), nothing else. */
  manifestReaderRoleNamePattern?: string;
}

export interface ReleaseBucketProps {
  keyIssuer: KeyIssuer;
  /** Fixed names, when the management stack names the buckets itself (another account or region). */
  names?: { releases: string; accessLogs: string };
  removalPolicy: RemovalPolicy;
}

export class ReleaseBucket extends Construct {
  readonly bucket: s3.Bucket;
  readonly accessLogs: s3.Bucket;

  constructor(scope: Construct, id: string, props: ReleaseBucketProps) {
    super(scope, id);
    const autoDelete = props.removalPolicy === RemovalPolicy.DESTROY;
    this.accessLogs = new s3.Bucket(this, 'AccessLogs', {
      ...(props.names ? { bucketName: props.names.accessLogs } : {}),
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      lifecycleRules: [{ expiration: Duration.days(400) }],
      removalPolicy: props.removalPolicy,
      autoDeleteObjects: autoDelete,
    });
    Validations.of(this.accessLogs).acknowledge({
      id: 'AwsSolutions-S1',
      reason: 'This is the access-log bucket itself; logging it to itself would loop.',
    });
    this.bucket = new s3.Bucket(this, 'Releases', {
      ...(props.names ? { bucketName: props.names.releases } : {}),
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      versioned: true,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      serverAccessLogsBucket: this.accessLogs,
      serverAccessLogsPrefix: 'releases/',
      removalPolicy: props.removalPolicy,
      autoDeleteObjects: autoDelete,
    });
    // The key issuer may read releases (to presign GETs); claim 9: it may sit in another account.
    this.bucket.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'KeyIssuerReadsReleases',
        principals: [new iam.AccountPrincipal(props.keyIssuer.account)],
        actions: ['s3:GetObject'],
        resources: [this.bucket.arnForObjects('*')],
        conditions: {
          ArnLike: {
            'aws:PrincipalArn': `arn:${Aws.PARTITION}:iam::${props.keyIssuer.account}:role/${props.keyIssuer.roleNamePattern}`,
          },
        },
      }),
    );
    const readers = [props.keyIssuer.roleNamePattern, props.keyIssuer.manifestReaderRoleNamePattern]
      .filter((p): p is string => Boolean(p))
      .map((p) => `arn:${Aws.PARTITION}:iam::${props.keyIssuer.account}:role/${p}`);
    // Whether a release is published is a listing of its manifest key (a missing key is 403,
    // not 404, to a caller without s3:ListBucket).
    this.bucket.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'ManifestReadersListManifests',
        principals: [new iam.AccountPrincipal(props.keyIssuer.account)],
        actions: ['s3:ListBucket'],
        resources: [this.bucket.bucketArn],
        conditions: {
          ArnLike: { 'aws:PrincipalArn': readers },
          StringLike: { 's3:prefix': ['*/manifest.json'] },
        },
      }),
    );
    if (props.keyIssuer.manifestReaderRoleNamePattern) {
      this.bucket.addToResourcePolicy(
        new iam.PolicyStatement({
          sid: 'ManifestReadersReadManifests',
          principals: [new iam.AccountPrincipal(props.keyIssuer.account)],
          actions: ['s3:GetObject'],
          resources: [this.bucket.arnForObjects('*/manifest.json')],
          conditions: {
            ArnLike: {
              'aws:PrincipalArn': `arn:${Aws.PARTITION}:iam::${props.keyIssuer.account}:role/${props.keyIssuer.manifestReaderRoleNamePattern}`,
            },
          },
        }),
      );
    }
  }
}
