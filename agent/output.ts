// How commands answer: one JSON document on stdout with --json, readable lines otherwise.
// Errors: a message on stderr (and {"error": …} on stdout with --json), exit status by kind
// (errors.ts: 2 usage, 3 not allowed, 4 not found, 5 conflict, 6 server or network, else 1).
import { AppError } from '../lib/errors.js';
import { AgentError, codeOfStatus, EXIT } from './errors.js';

export interface Out {
  json: boolean;
  /** The command's result: printed as JSON, or as the given lines. */
  result(value: unknown, lines: string[]): void;
  /** Progress and notes: stderr, never with --json (stdout stays one document). */
  note(line: string): void;
}

export function makeOut(json: boolean, stdout = process.stdout, stderr = process.stderr): Out {
  return {
    json,
    result(value, lines) {
      stdout.write(json ? `${JSON.stringify(value, null, 2)}\n` : lines.map((l) => `${l}\n`).join(''));
    },
    note(line) {
      if (!json) stderr.write(`${line}\n`);
    },
  };
}

export function reportError(
  error: unknown,
  json: boolean,
  stdout = process.stdout,
  stderr = process.stderr,
): void {
  const agent =
    error instanceof AgentError
      ? error
      : error instanceof AppError // a use case's refusal (vendor publish runs them in-process)
        ? new AgentError(
            codeOfStatus(error.statusCode),
            error.message,
            error.field ? { field: error.field } : {},
          )
        : undefined;
  const message = agent ? agent.message : `unexpected error: ${(error as Error)?.message ?? String(error)}`;
  stderr.write(`upman: ${message}\n`);
  if (json) {
    stdout.write(
      `${JSON.stringify({ error: { code: agent?.code ?? 'internal', message, ...(agent?.detail ?? {}) } }, null, 2)}\n`,
    );
  }
  process.exitCode = agent?.exitCode ?? EXIT.failed;
}
