// Key design of the vendor side's items on the registry table. Every prefix here is the vendor
// side's own (GRANT…, DLLOG…), so the registry's and the workflow's queries never see them.
/** A grant: pk GRANT#<grantId>, sk GRANT. */
export const grantPk = (grantId: string) => `GRANT#${grantId}`;
export const GRANT_SK = 'GRANT';
/** The pointer from a request to its one grant (idempotent issue): pk GRANTREQ#<requestId>. */
export const grantOfRequestPk = (requestId: string) => `GRANTREQ#${requestId}`;
/** Audit evidence of one access-log object about one grant's artifact: pk GRANT#<grantId>. */
export const logEvidenceSk = (logObject: string, artifactKey: string) => `LOG#${logObject}#${artifactKey}`;
/** Where the access-log processor stopped listing: pk DLLOG#CURSOR, sk <bucket>/<prefix>. */
export const LOG_CURSOR_PK = 'DLLOG#CURSOR';
