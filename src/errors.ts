/** Application error base: a stable code, an exit code for the CLI and an HTTP status for the API. */
export class AppError extends Error {
  constructor(
    message: string,
    readonly code: string,
    readonly exitCode: 1 | 2,
    readonly httpStatus: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = this.constructor.name;
    Object.setPrototypeOf(this, new.target.prototype);
  }
}

/** Bad usage or bad input: CLI exit 2, HTTP 400. The message says what and where. */
export class ValidationError extends AppError {
  constructor(message: string, readonly field?: string, options?: { cause?: unknown }) {
    super(message, 'validation', 2, 400, options);
  }
}

export class NotFoundError extends AppError {
  constructor(message: string) {
    super(message, 'not_found', 2, 404);
  }
}

/** The operation conflicts with current state (e.g. resuming a completed campaign). */
export class ConflictError extends AppError {
  constructor(message: string) {
    super(message, 'conflict', 2, 409);
  }
}

/** A dependency failed (services down, provider unreachable): CLI exit 1, HTTP 503. */
export class ServiceError extends AppError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, 'service', 1, 503, options);
  }
}

export function coerceError(err: unknown): Error {
  if (err instanceof Error) return err;
  return new Error(typeof err === 'string' ? err : JSON.stringify(err));
}
