// The S3 access-log format lives in lib/vendor/access-log.ts: the download processor (a Lambda)
// parses logs with it, and handlers must not import cdk/local. One implementation, used here too.
export * from '../../../lib/vendor/access-log.js';
