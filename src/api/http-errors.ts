/** HTTP-only error kinds (the shared ones live in src/errors.ts). */
import { AppError } from '../errors';

export class PayloadTooLargeError extends AppError {
  constructor(message: string) {
    super(message, 'payload_too_large', 2, 413);
  }
}

export class UnauthorizedError extends AppError {
  constructor(message = 'missing or invalid bearer token') {
    super(message, 'unauthorized', 2, 401);
  }
}
