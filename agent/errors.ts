// The CLI's errors: each carries a short machine code (the `--json` error output), a message
// that tells the person what to do next, and an exit status by kind (docs/agent.md):
//   0 ok · 1 failed · 2 usage (bad command line or input) · 3 not signed in or not allowed ·
//   4 not found · 5 conflict (already done, changed meanwhile, not in that state) ·
//   6 server or network (unreachable, 5xx: try again later)
export type AgentErrorCode =
  | 'usage'
  | 'not-logged-in'
  | 'forbidden'
  | 'not-found'
  | 'conflict'
  | 'api-unreachable'
  | 'server-error'
  | 'api-error'
  | 'key-expired'
  | 'checksum-mismatch'
  | 'download-failed'
  | 'install-failed'
  | 'root-unwritable'
  | 'not-approved'
  | 'confirmation-failed'
  | 'metadata-refused';

export const EXIT = {
  ok: 0,
  failed: 1,
  usage: 2,
  notAllowed: 3,
  notFound: 4,
  conflict: 5,
  unavailable: 6,
} as const;

const EXIT_BY_CODE: Partial<Record<AgentErrorCode, number>> = {
  usage: EXIT.usage,
  'not-logged-in': EXIT.notAllowed,
  forbidden: EXIT.notAllowed,
  'not-found': EXIT.notFound,
  conflict: EXIT.conflict,
  'not-approved': EXIT.conflict,
  'api-unreachable': EXIT.unavailable,
  'server-error': EXIT.unavailable,
};

export class AgentError extends Error {
  constructor(
    readonly code: AgentErrorCode,
    message: string,
    readonly detail: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'AgentError';
  }

  get exitCode(): number {
    return EXIT_BY_CODE[this.code] ?? EXIT.failed;
  }
}

/** The error kind of an HTTP status the API answered with. */
export function codeOfStatus(status: number): AgentErrorCode {
  if (status === 400 || status === 422) return 'usage';
  if (status === 401 || status === 403) return status === 401 ? 'not-logged-in' : 'forbidden';
  if (status === 404) return 'not-found';
  if (status === 409 || status === 410 || status === 412) return 'conflict';
  if (status >= 500 || status === 429) return 'server-error';
  return 'api-error';
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
