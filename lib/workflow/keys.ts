// Keys of the workflow's own items on the registry table (docs/workflow.md has the map). The
// request item itself uses the registry's requestItemKeys(); everything here has its own
// prefix, so the overloaded indexes never mix workflow and registry items.

/** GSI1: a requester's own requests, newest last in key order. */
export const requesterPk = (user: string) => `REQUESTER#${user}`;
export const requesterSk = (createdAt: string, requestId: string) => `${createdAt}#${requestId}`;

/** A budget line (S502): pk LINE#<lineId>. Its task token is an attribute, never sent out. */
export const linePk = (lineId: string) => `LINE#${lineId}`;
export const LINE_SK = 'LINE';
/** GSI1 partition of the lines waiting for the next batch to close. */
export const OPEN_LINES_PK = 'LINES#OPEN';
export const openLineSk = (createdAt: string, lineId: string) => `${createdAt}#${lineId}`;
/** GSI1 partition of the lines of one closed batch. */
export const batchLinesPk = (batchId: string) => `LINES#${batchId}`;

export const batchPk = (batchId: string) => `BATCH#${batchId}`;
export const BATCH_SK = 'BATCH';
/** GSI1 partition of the batches in one status (closing, awaiting-answer). */
export const batchesPk = (status: string) => `BATCHES#${status}`;
export const batchesSk = (closedAt: string, batchId: string) => `${closedAt}#${batchId}`;

/** An approval link (S505): pk APPROVAL#<approvalId>. */
export const approvalPk = (approvalId: string) => `APPROVAL#${approvalId}`;
export const APPROVAL_LINK_SK = 'LINK';
/** The request's approval wait (token, deciders, the one decision): on the request's partition. */
export const APPROVAL_WAIT_SK = 'APPROVAL';
/** The second approval's wait (above the cost threshold), beside the first. */
export const approvalWaitSk = (step?: 2) => (step === 2 ? 'APPROVAL#2' : APPROVAL_WAIT_SK);
/** Wrong secrets presented for a link from one source (a hash of its address), beside the link. */
export const secretMissSk = (source: string) => `MISS#${source}`;
/** GSI1 partition of the waits nobody but the requester could decide (the admins' queue). */
export const UNASSIGNED_WAITS_PK = 'APPROVALS#UNASSIGNED';
/** GSI2 partition of the decisions recorded but not yet known to have reached their execution. */
export const UNRESUMED_DECISIONS_PK = 'DECISIONS#UNRESUMED';
/** The sort key of a wait on both: since when, which request, which step. */
export const waitIndexSk = (at: string, requestId: string, step?: 2) => `${at}#${requestId}#${step ?? 1}`;
/** The grant recorded on approval (S508) when no vendor KeyIssuer is wired: on the request's partition. */
export const GRANT_SK = 'GRANT';

/** The one request of a client and software in flight: pk REQLOCK#<clientId>#<software>, holds its id. */
export const inFlightLockPk = (clientId: string, software: string) => `REQLOCK#${clientId}#${software}`;
export const IN_FLIGHT_LOCK_SK = 'LOCK';
