// Errors carry their HTTP status (DESIGN §9: map by type, never by string compare). A 4xx
// names the field at fault where there is one.
import type { z } from 'zod';
export class AppError extends Error {
  constructor(
    readonly statusCode: number,
    message: string,
    readonly field?: string,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

export class BadRequest extends AppError {
  constructor(message: string, field?: string) {
    super(400, message, field);
  }
}
export class Unauthorized extends AppError {
  constructor(message = 'Not signed in') {
    super(401, message);
  }
}
export class Forbidden extends AppError {
  constructor(message = 'Not allowed', field?: string) {
    super(403, message, field);
  }
}
export class NotFound extends AppError {
  constructor(message: string, field?: string) {
    super(404, message, field);
  }
}
export class Conflict extends AppError {
  constructor(message: string, field?: string) {
    super(409, message, field);
  }
}
export class Gone extends AppError {
  constructor(message: string) {
    super(410, message);
  }
}

/** "items[3].software" for a path [items, 3, software]; parts of the input's own naming. */
export function fieldOf(path: readonly PropertyKey[], prefix = ''): string {
  let field = prefix;
  for (const part of path) {
    if (typeof part === 'number') field += `[${part}]`;
    else field += field === '' || field.endsWith('.') ? String(part) : `.${String(part)}`;
  }
  return field;
}

/** The first issue of a failed parse as a 400 naming its field. */
export function badRequestOf(error: z.ZodError, prefix = '', whole = 'body'): BadRequest {
  const issue = error.issues[0]!;
  const path = issue.code === 'unrecognized_keys' ? [...issue.path, issue.keys[0]!] : issue.path;
  const field = fieldOf(path, prefix) || prefix.replace(/\.$/, '') || whole;
  const message = issue.code === 'unrecognized_keys' ? 'is not a known field' : issue.message;
  return new BadRequest(`${field}: ${message}`, field);
}
