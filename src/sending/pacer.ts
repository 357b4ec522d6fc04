/**
 * Account-wide request pacing shared by every worker on every host, in two Redis Lua scripts:
 *
 * 1. Spacing — GCRA (generic cell rate algorithm). The key holds the theoretical arrival time (TAT, µs on
 *    Redis' own clock); a caller reserves n consecutive slots spaced `interval` apart and sleeps until each.
 *    This makes the traffic smooth and shares the budget fairly between workers, but it is decided ahead of
 *    time: a worker that wakes up late (GC, CPU starvation) sends later than its slot.
 * 2. Admission — a sliding-window log of the moments requests were actually let go. Right before a request
 *    leaves, `admit()` records it if fewer than `limit` requests were admitted in the last `1 s + guard`, and
 *    otherwise says how long to wait. Lateness cannot push any window over the limit, because the log records
 *    real dispatch times, not planned ones; the guard covers the jitter between admission and arrival at the
 *    provider (Redis round trip, HTTP write, network). Admissions asked for in the same event-loop turn go to
 *    Redis in one script call, decided in order as separate calls would be (one round trip instead of one per
 *    request: the largest per-message cost of the worker and of Redis at high rates).
 *
 * Why both: admission alone would let a backlog out in bursts of `limit` every second; spacing alone has to
 * keep a margin for worst-case lateness (measured: p99.9 9 ms, max 20 ms at 200/s on a quiet 2-core box),
 * which costs throughput all the time. Spacing runs a little below what the admission window sustains, so in
 * steady state admission waits only after a stall.
 *
 * Redis `TIME` is the single clock and callers receive *delays*, not absolute times, so host clock skew does
 * not matter. If Redis loses the log mid-stream, admission notices and pauses the fleet for one window (ADMIT).
 */
import type { Redis } from '../db/redis';

// State (one hash): tat = next free slot (µs), slow = current slow-down factor (≥ 1) after throttling,
// st = when slow was last updated, pt = last penalty, rs = start of the current slow start. slow's excess over 1
// decays by 20 % per second without throttling.
const DECAY = `
local function state(now)
  local h = redis.call('HMGET', KEYS[1], 'tat', 'slow', 'st', 'pt')
  local tat = tonumber(h[1] or '0')
  local slow = tonumber(h[2] or '1')
  local st = tonumber(h[3] or '0')
  if slow > 1 then slow = 1 + (slow - 1) * math.pow(0.8, (now - st) / 1000000) end
  if tat < now then tat = now end
  return tat, slow, tonumber(h[4] or '0')
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
`;

/**
 * Slow start: after the fleet was idle for a second, the first RAMP µs run slower (interval × up to 1.3,
 * easing to × 1). Cold starts delay the first requests most (new connections, cold code paths on both sides:
 * measured up to 30 ms at 200/s), and a window opening with those late arrivals would otherwise close on
 * punctual ones. Costs ~0.1 % of a 60 s campaign.
 */
const RESERVE = `${DECAY}
local tat, slow = state(now)
local stored = tonumber(redis.call('HGET', KEYS[1], 'tat') or '0')
local rs = tonumber(redis.call('HGET', KEYS[1], 'rs') or '0')
if stored < now - 1000000 then rs = now end
local ramp = 1 + 0.3 * math.max(0, 1 - (tat - rs) / 500000)
local interval = tonumber(ARGV[1]) * slow * ramp
local first = tat
tat = tat + tonumber(ARGV[2]) * interval
redis.call('HSET', KEYS[1], 'tat', string.format('%.0f', tat), 'slow', tostring(slow), 'st', string.format('%.0f', now), 'rs', string.format('%.0f', rs))
redis.call('PEXPIRE', KEYS[1], math.floor((tat - now) / 1000) + 60000)
return {math.floor(first - now), math.floor(interval)}
`;

/**
 * A throttled answer. A 429 now and then is jitter, not a wrong limit: the provider's clock bunched a few of
 * our evenly spaced requests (traced at 2000/s: every burst of 429s followed a pause of the provider's
 * process). Holding the fleet 100 ms and slowing it 10 % for every such burst cost ~1,000 requests each at
 * 2000/s — most of what the bench lost. So the reaction scales with `heat`, the recent throttles (each adds 1,
 * halving every second): the first after a calm second changes nothing (its requests are retried anyway);
 * one within a second or two of another holds the fleet for up to `penalty` (max(), so holds do not stack)
 * and slows it by up to 10 %, compounding at most once per 200 ms (a burst of 429s from requests already in
 * flight counts once), the excess decaying by 20 % per second. A provider limit lower than the configured one
 * throttles continuously, so it is found as before, one 200 ms step later.
 */
const PENALISE = `${DECAY}
local tat, slow, pt = state(now)
if now - pt <= 200000 then return math.floor(slow * 1000) end
local hv = redis.call('HMGET', KEYS[1], 'heat', 'ht')
local heat = tonumber(hv[1] or '0') * math.pow(0.5, (now - tonumber(hv[2] or '0')) / 1000000)
local reaction = math.min(1, heat)
slow = math.min(50, slow * (1 + 0.1 * reaction))
local until_ = now + tonumber(ARGV[1]) * reaction
if tat < until_ then tat = until_ end
redis.call('HSET', KEYS[1], 'tat', string.format('%.0f', tat), 'slow', tostring(slow), 'st', string.format('%.0f', now),
  'pt', string.format('%.0f', now), 'heat', tostring(heat + 1), 'ht', string.format('%.0f', now))
redis.call('PEXPIRE', KEYS[1], math.floor((tat - now) / 1000) + 60000)
return math.floor(slow * 1000)
`;

/**
 * Sliding-window admission: KEYS[1] is a sorted set of admitted requests scored by admission time (µs), KEYS[2]
 * the spacing state (RESERVE's hash).
 * ARGV: window µs, limit, `expected`, the furthest ahead (µs) an admission may be booked, then one (member unique to
 * the request, force) pair per request, force '1' to record without checking: a late request's entry moved to its
 * real dispatch time (see Pacer.dispatched; ZADD of an existing member only changes its score, so the request still
 * counts once). Requests are decided in order, exactly as separate calls run back to back would be. For each:
 * 0 when recorded now; -d when booked d µs from now (the caller sends then); +d when not recorded (ask again in d µs);
 * then 1 if the log was rebuilt (below), else 0. One call carries every admission asked for in the same event-loop
 * turn (slots 0.5 ms apart share a timer tick at 2000/s).
 *
 * Admissions are appended in time order: a request goes at the earliest moment x, not before the newest entry,
 * at which the window ending at x holds fewer than `limit` entries — x ≥ (the limit-th newest entry) + window. When
 * x is near (≤ the booking horizon) it is booked right away, at exactly x: a request that must wait a moment (its
 * slot came a little early relative to the one a second before it) then loses nothing to timer granularity and a
 * second round trip. Waiting and asking again, each such wait added 1–2 ms to the chain of requests a second apart,
 * and the next second's request had to wait for that too: with little slack between spacing and window, ~70 % of
 * requests waited and the lateness accumulated. A far wait (a full window after a burst) is not booked: requests
 * move an entry only within a second of its admission (Pacer.dispatched), so no booking may be decided that long
 * before its time.
 *
 * `expected` is the caller's latest admission if it was asked for well within the last window (else ''): it must
 * still be in the log. When it is not, Redis lost the log (FLUSHALL, a restart or failover without persistence)
 * while the provider still counts the last second — an empty log would admit up to twice the limit in the next
 * one (measured: 428 at a limit of 400 in the chaos suite's Redis row). How the lost second was spread is unknown:
 * a uniform guess still let 6–11 too many through. So the fleet pauses one window, inside this same script: the
 * log is refilled with `limit` entries spread over the *next* window (nothing is admitted until the first one
 * expires, one window from now, then admissions resume smoothly at the limit), and the spacing state (KEYS[2])
 * hands out no slot before then, so no backlog of waiting requests builds up. About one second of sending per
 * loss, against any burst. Judged per caller by its own member, this holds whoever wrote to the emptied log first,
 * and admissions already on their way cannot slip through an empty log between the loss and a separate repair
 * call (22 over the limit when the repair waited for the next slot reservation). A repeated rebuild replaces the
 * same members. After a rebuild the caller expects the rebuilt log's newest entry (`lost:<limit>`).
 *
 * A caller whose latest admission is older than that has nothing of its own to check (it may have expired from the
 * log honestly) — a caller that waited out a full window and then wrote first into the emptied log let 47–53
 * requests into a window at a limit of 40. So the log also has an epoch (KEYS[3], ARGV[5] the one the caller last
 * saw, '' if none within the last 55 minutes): created `n:<time>` when missing, `r:<time>` by a rebuild, and kept for
 * an hour after the fleet's last admission. An epoch the caller saw that is gone, or replaced by a new `n:` one (only
 * a vanished epoch is re-created so), can only mean lost data: the same rebuild. A rebuild's `r:` epoch is adopted.
 * The answer ends with the current epoch.
 */
const ADMIT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local window = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
local horizon = tonumber(ARGV[4])
local seen = ARGV[5]
local epoch = redis.call('GET', KEYS[3])
local rebuilt = 0
local epochLost = seen ~= '' and ((not epoch) or (epoch ~= seen and string.sub(epoch, 1, 2) == 'n:'))
if epochLost or (ARGV[3] ~= '' and not redis.call('ZSCORE', KEYS[1], ARGV[3])) then
  for i = 1, limit do
    redis.call('ZADD', KEYS[1], string.format('%.0f', now + (i - 1) * window / limit), 'lost:' .. i)
  end
  local tat = tonumber(redis.call('HGET', KEYS[2], 'tat') or '0')
  if tat < now + window then
    redis.call('HSET', KEYS[2], 'tat', string.format('%.0f', now + window))
    redis.call('PEXPIRE', KEYS[2], math.floor(window / 1000) + 60000)
  end
  rebuilt = 1
  epoch = 'r:' .. string.format('%.0f', now)
end
if not epoch then epoch = 'n:' .. string.format('%.0f', now) end
redis.call('SET', KEYS[3], epoch, 'PX', 3600000)
local stamp = string.format('%.0f', now)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', string.format('%.0f', now - window))
local count = redis.call('ZCARD', KEYS[1])
local out = {}
-- The newest entry's time, kept up to date below rather than read again for every request of the call.
local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
local newest = tonumber(last[2] or '0')
for i = 6, #ARGV, 2 do
  if ARGV[i + 1] == '1' then
    count = count + redis.call('ZADD', KEYS[1], stamp, ARGV[i])
    if now > newest then newest = now end
    out[#out + 1] = 0
  else
    local at = now
    if newest > at then at = newest end
    if count >= limit then
      local nth = redis.call('ZRANGE', KEYS[1], -limit, -limit, 'WITHSCORES')
      local free = tonumber(nth[2]) + window
      if free > at then at = free end
    end
    if at - now <= horizon then
      count = count + redis.call('ZADD', KEYS[1], string.format('%.0f', at), ARGV[i])
      newest = at
      out[#out + 1] = -math.floor(at - now)
    else
      out[#out + 1] = math.floor(at - now) + 1
    end
  end
end
redis.call('PEXPIRE', KEYS[1], math.floor(window / 1000) + 1000)
out[#out + 1] = rebuilt
out[#out + 1] = epoch
return out
`;

/**
 * How long a throttled answer (429) may hold the fleet (`penalise`), for sends and delivery-report polls alike: the
 * hold scales with how recently the fleet was throttled before (PENALISE).
 */
export const THROTTLE_PENALTY_MS = 100;

/** An epoch seen this recently cannot have expired on its own (kept an hour after the fleet's last admission). */
const EPOCH_TRUST_MS = 55 * 60_000;

/** How far ahead an admission may be booked (see ADMIT): far below the second within which entries move. */
const BOOKING_HORIZON_US = 50_000;

type PacerRedis = Redis & {
  bulksmsPacerReserve(key: string, intervalUs: number, n: number): Promise<[number, number]>;
  bulksmsPacerPenalise(key: string, penaltyUs: number): Promise<number>;
  bulksmsPacerAdmitMany(
    key: string, spacingKey: string, epochKey: string, windowUs: number, limit: number, expected: string, horizonUs: number, epochSeen: string,
    ...memberForcePairs: string[]
  ): Promise<(number | string)[]>;
};

export interface PacerOptions {
  key: string;
  /** Requests per second for the whole account. */
  limit: number;
  /**
   * Jitter budget. Admission window = 1 s + ¾ guardMs, which covers the jitter between admission and arrival
   * at the provider; spacing runs at limit × 1000 / (1000 + guardMs). Default 12 ms (98.8 % of the limit).
   */
  guardMs?: number;
  /**
   * Admission-to-dispatch lag above which the admission is re-stamped at dispatch (default guard / 6, 2 ms at
   * the default guard). The window's ¾ guard is shared between this lag and the provider-side jitter (its
   * clock's pauses): at ½ guard our own lag took 6 of the 9 ms, and full-GC pauses of the provider's process
   * of 5–7 ms were enough for 429 bursts. Re-stamping costs one batched Redis call per late request.
   */
  maxLagMs?: number;
  /** Called when this caller found the admission log lost and paused the fleet for a window (ADMIT). */
  onLostLog?: () => void;
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

export interface Admission {
  /** Milliseconds spent waiting for the window to slide. */
  waitedMs: number;
  /** Local monotonic time the successful admission was asked for: the recorded time is not earlier. */
  askedAt: number;
  /** The request's entry in the fleet-wide log. */
  member: string;
}

export interface Pacer {
  /** Reserves n consecutive slots. */
  reserve(n: number): Promise<Reservation>;
  /**
   * Call right before a request leaves: resolves once it is admitted (recorded in the fleet-wide sliding
   * window), after waiting if the window is full.
   */
  admit(): Promise<Admission>;
  /**
   * Call right after the request was handed to the HTTP client. If more than `maxLagMs` passed since the
   * admission was asked for (slow Redis answer, busy event loop), the request may leave that much later than
   * the time the window recorded, so its entry is moved to now: every window that could contain the late
   * arrival then counts it. It is moved, not doubled: a second entry per late request (~10 per second at
   * 200/s with a busy event loop) filled the log with requests that never happened and cost ~5 % of the
   * limit. Moving it later is safe: every admission decided after the move sees it, and none decided
   * before the move could have been decided in a window the move adds it to (those start ≥ 1 s after
   * its admission). Returns true when it moved it.
   */
  dispatched(admission: Admission): boolean;
  /** A throttled answer (429): holds the fleet up to `ms` and slows it, scaled by how recently it was throttled before. */
  penalise(ms: number): Promise<void>;
  readonly intervalMs: number;
}

export function createPacer(redis: Redis, opts: PacerOptions): Pacer {
  const r = redis as PacerRedis;
  if (typeof r.bulksmsPacerReserve !== 'function') {
    redis.defineCommand('bulksmsPacerReserve', { numberOfKeys: 1, lua: RESERVE });
    redis.defineCommand('bulksmsPacerPenalise', { numberOfKeys: 1, lua: PENALISE });
    redis.defineCommand('bulksmsPacerAdmitMany', { numberOfKeys: 3, lua: ADMIT });
  }
  const guardMs = opts.guardMs ?? 12;
  // Spacing leaves a quarter of the guard as slack over the admission window, so a slot that is only a little
  // late relative to the one a second before it is admitted without waiting (a wait makes the next second late
  // too). Measured: spacing at 0.8 × guard made ~70 % of requests wait at 200/s and gained only 0.2 %.
  const intervalUs = Math.ceil(((1000 + guardMs) * 1000) / opts.limit);
  const windowUs = Math.round((1000 + guardMs * 0.75) * 1000);
  const admittedKey = `${opts.key}:admitted`;
  const epochKey = `${opts.key}:epoch`;
  const maxLagMs = opts.maxLagMs ?? guardMs / 6;
  const memberPrefix = `${process.pid}-${Math.random().toString(36).slice(2, 8)}-`;
  let seq = 0;
  // This process's latest recorded admission and when it was asked for: while it is well within the window, the
  // log must still hold it (see ADMIT).
  let latest: { member: string; askedAt: number } | null = null;
  // The log's epoch as this process last saw it (see ADMIT); sent while well inside the epoch's hour.
  let epochSeen: { value: string; at: number } | null = null;
  const lossCheckMs = windowUs / 1000 - 50;
  // Admissions asked for in this event-loop turn, sent together once the turn's timers and I/O callbacks ran.
  let batch: { member: string; force: boolean; done: (waitUs: number) => void; fail: (err: unknown) => void }[] = [];
  const flush = (): void => {
    const asks = batch;
    batch = [];
    const askedAt = performance.now();
    // Every call checks (not only the first after an answer): a call that skipped the check and wrote into an
    // emptied log would make its own entry the one expected next, and the loss would go unnoticed.
    const expected = latest && askedAt - latest.askedAt < lossCheckMs ? latest.member : '';
    const args = asks.flatMap((a) => [a.member, a.force ? '1' : '0']);
    const seen = epochSeen && askedAt - epochSeen.at < EPOCH_TRUST_MS ? epochSeen.value : '';
    r.bulksmsPacerAdmitMany(admittedKey, opts.key, epochKey, windowUs, opts.limit, expected, BOOKING_HORIZON_US, seen, ...args).then(
      (waits) => {
        epochSeen = { value: String(waits[asks.length + 1]), at: askedAt };
        // A rebuilt log no longer holds the member checked: expect its newest entry instead, or every call
        // would rebuild it again.
        if (Number(waits[asks.length]) === 1) {
          latest = { member: `lost:${opts.limit}`, askedAt };
          opts.onLostLog?.();
        }
        asks.forEach((a, i) => {
          // Booked ahead: the entry is in the log as well (its time still to come).
          if (Number(waits[i]) <= 0) latest = { member: a.member, askedAt };
          a.done(Number(waits[i]));
        });
      },
      (err: unknown) => asks.forEach((a) => a.fail(err)),
    );
  };
  const ask = (member: string, force: boolean): Promise<number> =>
    new Promise((done, fail) => {
      if (!batch.length) setImmediate(flush);
      batch.push({ member, force, done, fail });
    });
  return {
    intervalMs: intervalUs / 1000,
    async admit() {
      const started = performance.now();
      const member = memberPrefix + (seq++).toString(36);
      for (;;) {
        // Lag is judged from here, so the wait for the batch counts as lateness (never hides it).
        const askedAt = performance.now();
        const answer = await ask(member, false);
        if (answer <= 0) {
          // Booked `-answer` µs after Redis decided, which was after askedAt and before now: sleeping from now never
          // sends early, and lag judged from askedAt + booking never hides lateness.
          const bookedMs = -answer / 1000;
          if (bookedMs > 0) await sleepUntil(performance.now() + bookedMs);
          return { waitedMs: askedAt + bookedMs - started, askedAt: askedAt + bookedMs, member };
        }
        await sleepUntil(performance.now() + answer / 1000);
      }
    },
    dispatched(admission) {
      if (performance.now() - admission.askedAt <= maxLagMs) return false;
      void ask(admission.member, true).catch(() => undefined);
      return true;
    },
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
