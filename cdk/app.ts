// The CDK app: the vendor's download site and the organisation's update management, with
// cdk-nag's AwsSolutions checks over everything.
import { pathToFileURL } from 'node:url';
import { App, Aws, Fn, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { loadConfig, type StageConfig } from './config.js';
import { keyIssuerRolePattern, manifestReaderRolePattern } from './constructs/key-issuer-role.js';
import { RELEASE_ACCESS_LOG_PREFIX } from './constructs/vendor-log-access.js';
import { UpdateManagementStack } from './stacks/update-management-stack.js';
import { VendorSiteStack } from './stacks/vendor-site-stack.js';

export interface UpmanApp {
  app: App;
  config: StageConfig;
  management: UpdateManagementStack;
  vendor: VendorSiteStack;
}

export function buildApp(app: App = new App()): UpmanApp {
  const config = loadConfig({
    stage: app.node.tryGetContext('stage'),
    config: app.node.tryGetContext('config'),
  });
  const prefix = `upman-${config.stage}`;
  // Claim 9: a vendor site in another account or region cannot be imported from (exports do not
  // cross either), so both stacks take its bucket names from the stage config.
  const separate =
    config.vendorEnv !== undefined &&
    (config.vendorEnv.account !== config.env?.account || config.vendorEnv.region !== config.env?.region);
  const bucketNames = separate ? vendorBucketNames(prefix, config.vendorEnv!) : undefined;
  const vendor = new VendorSiteStack(app, 'VendorSiteStack', {
    stackName: `${prefix}-vendor-site`,
    description: 'upman: the vendor download site (releases, deltas, manifest)',
    env: config.vendorEnv ?? config.env,
    config,
    keyIssuer: {
      account: config.env?.account ?? Aws.ACCOUNT_ID,
      // Only the functions that issue keys or read releases (cdk/constructs/key-issuer-role.ts).
      roleNamePattern: keyIssuerRolePattern(`${prefix}-management`),
      manifestReaderRoleNamePattern: manifestReaderRolePattern(`${prefix}-management`),
    },
    logReader: {
      account: config.env?.account ?? Aws.ACCOUNT_ID,
      roleNamePattern: `${prefix}-management-KeyIssuer-Evidence`,
    },
    ...(bucketNames ? { bucketNames } : {}),
  });
  const management = new UpdateManagementStack(app, 'UpdateManagementStack', {
    stackName: `${prefix}-management`,
    description: 'upman: registry, update-request workflow, HTTP API',
    env: config.env,
    config,
    releaseBucketName: bucketNames?.releases ?? Fn.importValue(vendor.releaseBucketExport),
    releaseBucketRegion: config.vendorEnv?.region ?? config.env?.region ?? Aws.REGION,
    accessLogBucketName: bucketNames?.accessLogs ?? Fn.importValue(vendor.accessLogBucketExport),
    accessLogPrefix: RELEASE_ACCESS_LOG_PREFIX,
  });
  management.addStackDependency(vendor);
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
  return { app, config, management, vendor };
}

/** The vendor site's bucket names, fixed from the stage and its account and region (globally unique). */
export function vendorBucketNames(prefix: string, vendorEnv: { account?: string; region?: string }) {
  const suffix = `${vendorEnv.account}-${vendorEnv.region}`;
  return { releases: `${prefix}-releases-${suffix}`, accessLogs: `${prefix}-release-logs-${suffix}` };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  buildApp().app.synth();
}
