// Errors carry their HTTP status (DESIGN §9: map by type, never by string compare). A 4xx
// names the field at fault where there is one.
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
