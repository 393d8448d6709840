// Key design of the vendor side's items on the registry table. Every prefix here is the vendor
// side's own (GRANT…, DLLOG…), so the registry's and the workflow's queries never see them.
/** A grant: pk GRANT#<grantId>, sk GRANT. */
export const grantPk = (grantId: string) => `GRANT#${grantId}`;
export const GRANT_SK = 'GRANT';
/** The pointer from a request to its one grant (idempotent issue): pk GRANTREQ#<requestId>. */
export const grantOfRequestPk = (requestId: string) => `GRANTREQ#${requestId}`;
/** One access-log object processed for one grant (so re-reading a log never counts twice). */
export const logSeenPk = (logKey: string) => `DLLOG#${logKey}`;
export const logSeenSk = (grantId: string) => `GRANT#${grantId}`;
/** Where the access-log processor stopped listing: pk DLLOG#CURSOR, sk <bucket>/<prefix>. */
export const LOG_CURSOR_PK = 'DLLOG#CURSOR';
