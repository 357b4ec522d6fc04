import { ServiceError } from '../../errors';
import type { FailureOutcome } from '../outcome';

/**
 * A 2Factor call other than send failed (balance, delivery report, OTP). Carries the outcome class so callers
 * can tell "account is broken" from "try later". The message never contains the API key.
 */
export class TwoFactorError extends ServiceError {
  readonly kind: FailureOutcome['kind'];
  readonly detail: string;
  /** HTTP status of the provider's answer, when there was one (httpStatus is our own API status). */
  readonly providerStatus?: number;
  /** 2Factor throttled the call (HTTP 429 or a throttle text): the caller should slow the account-wide pacer. */
  readonly throttled: boolean;
  /** The provider's suggested wait (Retry-After), when it gave one. */
  readonly retryAfterMs?: number;

  constructor(operation: string, outcome: FailureOutcome) {
    super(`2Factor ${operation} failed: ${outcome.detail}`);
    this.kind = outcome.kind;
    this.detail = outcome.detail;
    if (outcome.httpStatus !== undefined) this.providerStatus = outcome.httpStatus;
    this.throttled = outcome.throttled === true;
    if (outcome.retryAfterMs !== undefined) this.retryAfterMs = outcome.retryAfterMs;
  }
}
