import { isUnreached, OutageWatch } from '../../../src/sending/outage-watch';
import type { SendOutcome } from '../../../src/provider/outcome';

const accepted: SendOutcome = { kind: 'accepted', sessionId: 's-1' };
const refusedRecipient: SendOutcome = { kind: 'permanent_recipient', detail: 'Invalid Phone Number', httpStatus: 200 };
const unknownFate: SendOutcome = { kind: 'ambiguous', detail: 'HTTP 502', httpStatus: 502 };
const refusedConnection: SendOutcome = { kind: 'retryable', detail: 'not sent: ECONNREFUSED: connect ECONNREFUSED 127.0.0.1:9' };
const throttled: SendOutcome = { kind: 'retryable', detail: 'HTTP 429', httpStatus: 429, throttled: true };
const timeout408: SendOutcome = { kind: 'retryable', detail: 'HTTP 408', httpStatus: 408 };
const accountFatal: SendOutcome = { kind: 'account_fatal', detail: 'Invalid API Key', httpStatus: 200 };

/** Feeds the answers to a fresh watch (limit 3) and returns what each one returned. */
function watch(outcomes: readonly SendOutcome[], limit = 3): (string | undefined)[] {
  const w = new OutageWatch(limit);
  return outcomes.map((o) => w.observe('c1', o));
}

describe('isUnreached', () => {
  it.each([
    ['a refused connection (no HTTP status)', true, refusedConnection],
    ['a 429', false, throttled],
    ['a 408 answer (the provider answered)', false, timeout408],
    ['an answer of unknown fate', false, unknownFate],
    ['an accepted answer', false, accepted],
  ])('%s → %s', (_name, expected, outcome) => {
    expect(isUnreached(outcome)).toBe(expected);
  });
});

describe('OutageWatch', () => {
  it('pauses on the limit-th refused connection in a row, naming the network and the base URL', () => {
    const seen = watch([refusedConnection, refusedConnection, refusedConnection]);
    expect(seen.slice(0, 2)).toEqual([undefined, undefined]);
    expect(seen[2]).toBe(
      '3 requests in a row could not reach 2Factor, none was sent (last: not sent: ECONNREFUSED: connect ECONNREFUSED 127.0.0.1:9); check the network and TWOFACTOR_BASE_URL, then resume',
    );
  });

  it('pauses on answers of unknown fate with the wording operators already know', () => {
    expect(watch([unknownFate, unknownFate, unknownFate])[2]).toBe('3 provider answers in a row of unknown fate (last: HTTP 502); check 2Factor, then resume');
  });

  it('counts both kinds in one run and says how many of each', () => {
    expect(watch([unknownFate, refusedConnection, refusedConnection])[2]).toBe(
      '3 requests in a row failed at 2Factor: 1 of unknown fate, 2 not sent (last: not sent: ECONNREFUSED: connect ECONNREFUSED 127.0.0.1:9); check 2Factor, then resume',
    );
  });

  it.each([
    ['an accepted answer', accepted],
    ['a refusal of one recipient', refusedRecipient],
  ])('%s proves the provider works and starts the count afresh', (_name, proof) => {
    expect(watch([refusedConnection, unknownFate, proof, refusedConnection, unknownFate])).toEqual([undefined, undefined, undefined, undefined, undefined]);
  });

  it.each([
    ['a 429', throttled],
    ['a 408', timeout408],
    ['an account refusal', accountFatal],
  ])('%s neither counts nor resets', (_name, neutral) => {
    const seen = watch([refusedConnection, neutral, refusedConnection, neutral, refusedConnection]);
    expect(seen.slice(0, 4)).toEqual([undefined, undefined, undefined, undefined]);
    expect(seen[4]).toMatch(/^3 requests in a row could not reach 2Factor/);
  });

  it('keeps one count per campaign and starts afresh after a pause', () => {
    const w = new OutageWatch(2);
    expect(w.observe('a', refusedConnection)).toBeUndefined();
    expect(w.observe('b', refusedConnection)).toBeUndefined();
    expect(w.observe('a', refusedConnection)).toMatch(/^2 requests/);
    expect(w.observe('a', refusedConnection)).toBeUndefined();
    expect(w.observe('b', unknownFate)).toMatch(/^2 requests in a row failed at 2Factor: 1 of unknown fate, 1 not sent/);
  });
});
