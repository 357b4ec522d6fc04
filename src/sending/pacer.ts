/**
 * Account-wide request pacing shared by every worker on every host: GCRA (generic cell rate algorithm) in one
 * Redis Lua script. The key holds the theoretical arrival time (TAT, µs since the epoch of Redis' own clock);
 * a caller reserves n consecutive slots spaced `interval` apart and sleeps until each. Redis `TIME` is the
 * single clock, and callers receive *delays* rather than absolute times, so host clock skew does not matter.
 *
 * Why spacing instead of a bucket with burst: the provider enforces a sliding 1 s window, so any burst above the
 * even rate can violate it. We pace at `limit × paceFactor` (default 0.995) and callers drop a slot they woke up
 * for too late (see `lateToleranceMs`): with lateness ≤ L, any 1 s window holds ≤ (1 + L) × 0.995 × limit + 1
 * requests, which stays ≤ limit for L < 5 ms.
 */
import type { Redis } from '../db/redis';

const RESERVE = `
local interval = tonumber(ARGV[1])
local n = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local nextTat = tat + n * interval
redis.call('SET', KEYS[1], string.format('%.0f', nextTat), 'PX', math.floor((nextTat - now) / 1000) + 60000)
return tat - now
`;

/**
 * Pushes the TAT to at least now + penalty (never backwards): a throttled answer pauses the whole fleet briefly.
 * max() rather than +=, so a storm of 429s from in-flight requests does not stack into minutes of silence.
 */
const PENALISE = `
local penalty = tonumber(ARGV[1])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
local nextTat = now + penalty
if tat > nextTat then nextTat = tat end
redis.call('SET', KEYS[1], string.format('%.0f', nextTat), 'PX', math.floor((nextTat - now) / 1000) + 60000)
return nextTat - now
`;

type PacerRedis = Redis & {
  bulksmsPacerReserve(key: string, intervalUs: number, n: number): Promise<number>;
  bulksmsPacerPenalise(key: string, penaltyUs: number): Promise<number>;
};

export interface PacerOptions {
  key: string;
  /** Requests per second for the whole account. */
  limit: number;
  /** Fraction of the limit actually used, leaving room for jitter. */
  paceFactor?: number;
}

export interface Reservation {
  /** Local monotonic time (performance.now() ms) of the first slot. */
  firstAt: number;
  /** Milliseconds between consecutive slots. */
  intervalMs: number;
  count: number;
}

export interface Pacer {
  /** Reserves n consecutive slots. */
  reserve(n: number): Promise<Reservation>;
  /** Slows the fleet down by `ms` (e.g. after a 429). */
  penalise(ms: number): Promise<void>;
  readonly intervalMs: number;
}

export function createPacer(redis: Redis, opts: PacerOptions): Pacer {
  const r = redis as PacerRedis;
  if (typeof r.bulksmsPacerReserve !== 'function') {
    redis.defineCommand('bulksmsPacerReserve', { numberOfKeys: 1, lua: RESERVE });
    redis.defineCommand('bulksmsPacerPenalise', { numberOfKeys: 1, lua: PENALISE });
  }
  const intervalUs = Math.ceil(1_000_000 / (opts.limit * (opts.paceFactor ?? 0.995)));
  return {
    intervalMs: intervalUs / 1000,
    async reserve(n) {
      const delayUs = Number(await r.bulksmsPacerReserve(opts.key, intervalUs, n));
      // Measured from when the answer arrived: the slot can only be later than Redis meant, never earlier.
      return { firstAt: performance.now() + delayUs / 1000, intervalMs: intervalUs / 1000, count: n };
    },
    async penalise(ms) {
      await r.bulksmsPacerPenalise(opts.key, Math.round(ms * 1000));
    },
  };
}

/** Resolves at local monotonic time `at` (ms, performance.now() clock). */
export async function sleepUntil(at: number): Promise<void> {
  // Node timers start from the loop's cached clock and can fire up to ~1 ms early: never send before the slot.
  for (let delay = at - performance.now(); delay > 0; delay = at - performance.now()) {
    await new Promise((resolve) => setTimeout(resolve, Math.max(1, Math.ceil(delay))));
  }
}
