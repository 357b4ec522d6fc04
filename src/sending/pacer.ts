/**
 * Account-wide request pacing shared by every worker on every host: GCRA (generic cell rate algorithm) in one
 * Redis Lua script. The key holds the theoretical arrival time (TAT, µs on Redis' own clock);
 * a caller reserves n consecutive slots spaced `interval` apart and sleeps until each. Redis `TIME` is the
 * single clock, and callers receive *delays* rather than absolute times, so host clock skew does not matter.
 *
 * Why spacing instead of a bucket with burst: the provider enforces a sliding 1 s window, so any burst above the
 * even rate can violate it. We pace at `limit × paceFactor` (default 0.993). A request sent at most L late
 * keeps every 1 s window ≤ (1 + L) × 0.993 × limit + 1 ≤ limit for L ≤ 6 ms; a later one is compensated by an
 * empty slot (batch-sender.ts).
 */
import type { Redis } from '../db/redis';

// State (one hash): tat = next free slot (µs), slow = current slow-down factor (≥ 1) after throttling,
// st = when slow was last updated, pt = last penalty. slow decays by 10 % per second without throttling.
const DECAY = `
local function state(now)
  local h = redis.call('HMGET', KEYS[1], 'tat', 'slow', 'st', 'pt')
  local tat = tonumber(h[1] or '0')
  local slow = tonumber(h[2] or '1')
  local st = tonumber(h[3] or '0')
  if slow > 1 then slow = math.max(1, slow * math.pow(0.9, (now - st) / 1000000)) end
  if tat < now then tat = now end
  return tat, slow, tonumber(h[4] or '0')
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
`;

const RESERVE = `${DECAY}
local tat, slow = state(now)
local interval = tonumber(ARGV[1]) * slow
local first = tat
tat = tat + tonumber(ARGV[2]) * interval
redis.call('HSET', KEYS[1], 'tat', string.format('%.0f', tat), 'slow', tostring(slow), 'st', string.format('%.0f', now))
redis.call('PEXPIRE', KEYS[1], math.floor((tat - now) / 1000) + 60000)
return {math.floor(first - now), math.floor(interval)}
`;

/**
 * A throttled answer: nothing goes out before now + penalty (max(), so a burst of 429s from requests already
 * in flight does not stack into minutes of silence), and the fleet-wide rate drops by a third (at most once per
 * 200 ms), recovering by 10 % per second. This finds a provider limit lower than the configured one.
 */
const PENALISE = `${DECAY}
local tat, slow, pt = state(now)
if now - pt > 200000 then
  slow = math.min(50, slow * 1.5)
  pt = now
end
local until_ = now + tonumber(ARGV[1])
if tat < until_ then tat = until_ end
redis.call('HSET', KEYS[1], 'tat', string.format('%.0f', tat), 'slow', tostring(slow), 'st', string.format('%.0f', now), 'pt', string.format('%.0f', pt))
redis.call('PEXPIRE', KEYS[1], math.floor((tat - now) / 1000) + 60000)
return math.floor(slow * 1000)
`;

type PacerRedis = Redis & {
  bulksmsPacerReserve(key: string, intervalUs: number, n: number): Promise<[number, number]>;
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
  /**
   * Local monotonic time (performance.now() ms) of the first slot, computed from when the answer arrived: never
   * earlier than the slot Redis handed out, so sleeping until it cannot send early.
   */
  firstAt: number;
  /**
   * The same slot computed from when the request left: never later than the real slot. Lateness is measured
   * from here, so a slow Redis answer (CPU starvation, network) counts as lateness instead of hiding it.
   */
  earliestAt: number;
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
  const intervalUs = Math.ceil(1_000_000 / (opts.limit * (opts.paceFactor ?? 0.993)));
  return {
    intervalMs: intervalUs / 1000,
    async reserve(n) {
      const asked = performance.now();
      const [delayUs, slotUs] = await r.bulksmsPacerReserve(opts.key, intervalUs, n);
      const delayMs = Number(delayUs) / 1000;
      return { firstAt: performance.now() + delayMs, earliestAt: asked + delayMs, intervalMs: Number(slotUs) / 1000, count: n };
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
