// A stage config that puts the vendor's download site in an account of its own, for trying
// claim 9 locally (`npm start -- --two-accounts`, test/integration/two-accounts.test.ts). The
// organisation's account is the local cloud's own (fauxqs names every queue in it); the vendor
// site's buckets, their policies and roles get 222222222222, so the bucket policy's grants to the
// organisation's roles are evaluated cross-account, as on AWS.
import { LOCAL_ACCOUNT } from './template.js';

export const VENDOR_LOCAL_ACCOUNT = '222222222222';

export const TWO_ACCOUNT_STAGE_CONFIG = {
  env: { account: LOCAL_ACCOUNT, region: 'us-east-1' },
  vendorEnv: { account: VENDOR_LOCAL_ACCOUNT, region: 'us-east-1' },
};
