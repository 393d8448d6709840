// The approval page's script (web/approval-page.ts), built for the browser and put into this
// bundle as a constant by cdk/constructs/function-bundles.ts.
declare const UPMAN_APPROVAL_PAGE_SCRIPT: string | undefined;

/** Empty only where this module runs unbundled (unit tests); the page then cannot sign in. */
export const approvalPageScript: string =
  typeof UPMAN_APPROVAL_PAGE_SCRIPT === 'string' ? UPMAN_APPROVAL_PAGE_SCRIPT : '';
