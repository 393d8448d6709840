// The agent's errors: each carries a short machine code (the `--json` error output) and a
// message that tells the employee what to do next. Exit status is 1 for all of them.
export type AgentErrorCode =
  | 'usage'
  | 'not-logged-in'
  | 'api-unreachable'
  | 'api-error'
  | 'key-expired'
  | 'checksum-mismatch'
  | 'download-failed'
  | 'install-failed'
  | 'root-unwritable'
  | 'not-approved'
  | 'confirmation-failed'
  | 'metadata-refused';

export class AgentError extends Error {
  constructor(
    readonly code: AgentErrorCode,
    message: string,
    readonly detail: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'AgentError';
  }
}

/** S606: the key (presigned URL) is expired or not valid; a fresh one comes from the grant. */
export class KeyExpired extends AgentError {
  constructor(reason: string, requestId?: string) {
    super(
      'key-expired',
      `S606: the download key is not valid (${reason}). Your approval still stands: ` +
        (requestId
          ? `run "upman download ${requestId}" again to get a fresh key.`
          : 'run "upman download <requestId>" again to get a fresh key.'),
      { reason },
    );
  }
}
