/** HTTP-only error kinds (the shared ones live in src/errors.ts, the access ones, 401 and 403, in src/access/errors.ts). */
import { AppError } from '../errors';

export class PayloadTooLargeError extends AppError {
  constructor(message: string) {
    super(message, 'payload_too_large', 2, 413);
  }
}

/** The client stopped sending its request body (stalled or gone): nothing was imported. */
export class RequestTimeoutError extends AppError {
  constructor(message: string) {
    super(message, 'request_timeout', 2, 408);
  }
}

/** Too many requests of one kind at once; retry later. */
export class TooManyRequestsError extends AppError {
  constructor(message: string) {
    super(message, 'too_many_requests', 1, 429);
  }
}
