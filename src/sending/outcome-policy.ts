/**
 * What to do with a message after the provider answered (or failed to). Pure: the ledger applies the decision.
 * Only `retryable` outcomes are ever sent again automatically, because only they are certainly not sent.
 */
import type { OutcomeKind, SendOutcome } from '../provider/outcome';

export type Decision =
  | { action: 'sent'; sessionId: string }
  | { action: 'failed'; outcomeClass: OutcomeKind; providerText: string; reason: string }
  | { action: 'unknown'; outcomeClass: OutcomeKind; providerText: string; reason: string }
  /** Not sent; try again at `delayMs` from now. `countAttempt=false` for throttling (the fleet slowed down instead). */
  | { action: 'retry'; outcomeClass: OutcomeKind; providerText: string; delayMs: number; countAttempt: boolean; throttled: boolean }
  /** Not sent; the whole campaign must stop until a human fixes the cause. The message goes back to pending. */
  | { action: 'pause-campaign'; outcomeClass: OutcomeKind; providerText: string }
  /** A packed request was refused for "a" recipient: none was sent, send each one individually. */
  | { action: 'unpack'; outcomeClass: OutcomeKind; providerText: string };

export interface PolicyInput {
  outcome: SendOutcome;
  /** Attempts including the one that produced this outcome. */
  attempts: number;
  maxAttempts: number;
  /** Recipients in the request (packing); >1 changes the meaning of a recipient-level refusal. */
  recipients: number;
  /** 0 ≤ random < 1, injected for deterministic tests. */
  random: number;
}

export interface BackoffOptions {
  baseMs: number;
  maxMs: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { baseMs: 1000, maxMs: 5 * 60_000 };

/** Exponential backoff with "equal jitter": half fixed, half random, so retries of a burst spread out. */
export function backoffMs(attempts: number, random: number, opts: BackoffOptions = DEFAULT_BACKOFF): number {
  const exp = Math.min(opts.maxMs, opts.baseMs * 2 ** Math.max(0, attempts - 1));
  return Math.round(exp / 2 + (exp / 2) * random);
}

export function decide(input: PolicyInput, backoff: BackoffOptions = DEFAULT_BACKOFF): Decision {
  const { outcome } = input;
  if (outcome.kind === 'accepted') return { action: 'sent', sessionId: outcome.sessionId };
  const providerText = outcome.detail;
  switch (outcome.kind) {
    case 'permanent_recipient':
      if (input.recipients > 1) return { action: 'unpack', outcomeClass: outcome.kind, providerText };
      return { action: 'failed', outcomeClass: outcome.kind, providerText, reason: `rejected for this recipient: ${providerText}` };
    case 'permanent_campaign':
    case 'account_fatal':
      return { action: 'pause-campaign', outcomeClass: outcome.kind, providerText };
    case 'ambiguous':
      return {
        action: 'unknown',
        outcomeClass: outcome.kind,
        providerText,
        reason: `the request may have reached the provider: ${providerText}`,
      };
    case 'retryable': {
      // A provider's Retry-After is honoured up to the backoff ceiling: days of it (or a far-future date) would park
      // the message for good, and overflowed the ledger's delay column, failing the whole batch of outcomes.
      const retryAfter = Math.min(outcome.retryAfterMs ?? 0, backoff.maxMs);
      if (outcome.throttled) {
        const delayMs = Math.max(retryAfter, 200 + Math.round(800 * input.random));
        return { action: 'retry', outcomeClass: outcome.kind, providerText, delayMs, countAttempt: false, throttled: true };
      }
      if (input.attempts >= input.maxAttempts) {
        return {
          action: 'failed',
          outcomeClass: outcome.kind,
          providerText,
          reason: `gave up after ${input.attempts} attempts: ${providerText}`,
        };
      }
      const delayMs = Math.max(retryAfter, backoffMs(input.attempts, input.random, backoff));
      return { action: 'retry', outcomeClass: outcome.kind, providerText, delayMs, countAttempt: true, throttled: false };
    }
  }
}
