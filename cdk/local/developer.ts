// What the local cloud and npm start share before anything heavy loads (npm start spawns DynamoDB
// Local's JVM first): the developer's key pair and the default region.

/**
 * The developer's key pair: all-powerful in the local cloud (no policy is evaluated for it), like
 * an account administrator. For seeding and the CLIs; never what a test about permissions uses —
 * `aws sts assume-role` with it gives a function's view.
 */
export const DEVELOPER_CREDENTIALS = {
  accessKeyId: 'LOCALDEVELOPERALLPOWERFUL',
  secretAccessKey: 'upman-local-developer-secret-not-for-aws',
};
/** @deprecated the name says less than DEVELOPER_CREDENTIALS */
export const LOCAL_CREDENTIALS = DEVELOPER_CREDENTIALS;

export const DEFAULT_REGION = 'us-east-1';
