/** Access errors: HTTP 401/403 for the API; exit 2 for the CLI (bad input, not a runtime failure). */
import { AppError } from '../errors';

export class UnauthorizedError extends AppError {
  constructor(message = 'missing or invalid API token') {
    super(message, 'unauthorized', 2, 401);
  }
}

export class ForbiddenError extends AppError {
  constructor(message: string, code: 'forbidden' | 'otp_required' | 'ip_not_allowed' = 'forbidden') {
    super(message, code, 2, 403);
  }
}

export type OtpFailure = 'otp_mismatch' | 'otp_expired' | 'otp_used' | 'otp_unknown';

/** A second-factor verification that did not succeed; the code says why (never the OTP itself). */
export class OtpError extends AppError {
  constructor(readonly failure: OtpFailure, message: string) {
    super(message, failure, 2, 400);
  }
}

export class OtpRateLimitError extends AppError {
  constructor(message = 'too many OTP requests for this token; wait a few minutes') {
    super(message, 'otp_rate_limited', 2, 429);
  }
}

/** The server cannot send or check an SMS OTP: it has no 2Factor key. */
export class OtpUnavailableError extends AppError {
  constructor() {
    super(
      'the SMS OTP is not available on this server: TWOFACTOR_API_KEY is not set (the OTP goes through 2Factor); set it and restart `bulksms serve`',
      'otp_unavailable',
      1,
      503,
    );
  }
}
