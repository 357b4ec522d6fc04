import { DEFAULT_BACKOFF, backoffMs, decide, type PolicyInput } from '../../../src/sending/outcome-policy';
import type { SendOutcome } from '../../../src/provider/outcome';

const input = (outcome: SendOutcome, over: Partial<PolicyInput> = {}): PolicyInput => ({
  outcome,
  attempts: 1,
  maxAttempts: 3,
  recipients: 1,
  random: 0.5,
  ...over,
});

describe('outcome policy', () => {
  it.each([
    [{ kind: 'accepted', sessionId: 's1' }, 'sent'],
    [{ kind: 'permanent_recipient', detail: 'Invalid Phone Number' }, 'failed'],
    [{ kind: 'permanent_campaign', detail: 'Incorrect sender id' }, 'pause-campaign'],
    [{ kind: 'account_fatal', detail: 'Invalid API Key' }, 'pause-campaign'],
    [{ kind: 'ambiguous', detail: 'timeout' }, 'unknown'],
    [{ kind: 'retryable', detail: 'connection refused' }, 'retry'],
    [{ kind: 'retryable', detail: 'Too many requests', throttled: true }, 'retry'],
  ] as [SendOutcome, string][])('%j → %s', (outcome, action) => {
    expect(decide(input(outcome)).action).toBe(action);
  });

  it('keeps the session id of an accepted request', () => {
    expect(decide(input({ kind: 'accepted', sessionId: 'abc' }))).toEqual({ action: 'sent', sessionId: 'abc' });
  });

  it('gives up on retryable failures after the configured attempts, with the provider text', () => {
    const d = decide(input({ kind: 'retryable', detail: 'busy' }, { attempts: 3, maxAttempts: 3 }));
    expect(d).toEqual({ action: 'failed', outcomeClass: 'retryable', providerText: 'busy', reason: 'gave up after 3 attempts: busy' });
  });

  it('does not count throttling as an attempt, even past the maximum', () => {
    const d = decide(input({ kind: 'retryable', detail: '429', throttled: true }, { attempts: 9, maxAttempts: 3 }));
    expect(d).toMatchObject({ action: 'retry', countAttempt: false, throttled: true });
  });

  it('honours Retry-After when longer than the backoff', () => {
    const d = decide(input({ kind: 'retryable', detail: 'x', retryAfterMs: 60_000 }));
    expect(d).toMatchObject({ action: 'retry', delayMs: 60_000, countAttempt: true });
  });

  it('caps a huge Retry-After at the backoff ceiling (a throttle or an error alike)', () => {
    const days = 3_000_000_000;
    expect(decide(input({ kind: 'retryable', detail: '429', throttled: true, retryAfterMs: days }))).toMatchObject({ action: 'retry', delayMs: DEFAULT_BACKOFF.maxMs });
    expect(decide(input({ kind: 'retryable', detail: '503', retryAfterMs: days }))).toMatchObject({ action: 'retry', delayMs: DEFAULT_BACKOFF.maxMs });
  });

  it('re-sends a packed request individually when one recipient is refused', () => {
    expect(decide(input({ kind: 'permanent_recipient', detail: 'Invalid Phone Number' }, { recipients: 3 })).action).toBe('unpack');
  });

  it('never retries an ambiguous outcome automatically', () => {
    const d = decide(input({ kind: 'ambiguous', detail: 'socket hang up' }, { attempts: 1, maxAttempts: 10 }));
    expect(d).toMatchObject({ action: 'unknown', outcomeClass: 'ambiguous', providerText: 'socket hang up' });
  });
});

describe('backoff', () => {
  it('grows exponentially with equal jitter and is capped', () => {
    const opts = { baseMs: 1000, maxMs: 8000 };
    expect(backoffMs(1, 0, opts)).toBe(500);
    expect(backoffMs(1, 1, opts)).toBe(1000);
    expect(backoffMs(3, 0, opts)).toBe(2000);
    expect(backoffMs(3, 0.999999, opts)).toBe(4000);
    expect(backoffMs(20, 1, opts)).toBe(8000);
  });
});
