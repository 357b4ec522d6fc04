/** The account-wide pacer against real Redis: spacing (GCRA), slow start, 429 penalty and sliding-window admission. */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { createPacer } from '../../../src/sending/pacer';
import { deleteKeysWithPrefix } from '../../../src/db/redis';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const prefix = `pacer-test-${randomBytes(4).toString('hex')}`;
const a = new Redis(REDIS_URL);
const b = new Redis(REDIS_URL);
let n = 0;
const freshKey = () => `${prefix}:${n++}`;

afterAll(async () => {
  await deleteKeysWithPrefix(a, prefix);
  a.disconnect();
  b.disconnect();
});

/** Most timestamps (ms) inside any window of `spanMs`. */
function maxInWindow(times: number[], spanMs: number): number {
  const t = [...times].sort((x, y) => x - y);
  let best = 0;
  for (let i = 0, j = 0; i < t.length; i++) {
    while (t[i]! - t[j]! >= spanMs) j++;
    best = Math.max(best, i - j + 1);
  }
  return best;
}

it('admits at most the limit in any sliding second, fleet-wide, and makes the rest wait for the window to slide', async () => {
  const key = freshKey();
  const workers = [createPacer(a, { key, limit: 20 }), createPacer(b, { key, limit: 20 })];
  const t0 = performance.now();
  const admittedAt = await Promise.all(
    Array.from({ length: 50 }, async (_, i) => {
      await workers[i % 2]!.admit();
      return performance.now() - t0;
    }),
  );
  // Redis' own record of admission times (µs), the clock the window is enforced on.
  const log = await a.zrange(`${key}:admitted`, '0', '-1', 'WITHSCORES');
  const scores = log.filter((_, i) => i % 2 === 1).map((s) => Number(s) / 1000);
  expect(maxInWindow(scores, 1000)).toBeLessThanOrEqual(20);
  const sorted = admittedAt.sort((x, y) => x - y);
  expect(sorted[19]!).toBeLessThan(500); // the first 20 go at once
  expect(sorted[20]!).toBeGreaterThanOrEqual(1000); // the 21st waits for the first to leave the window
  expect(sorted[40]!).toBeGreaterThanOrEqual(2000);
  expect(sorted[49]!).toBeLessThan(4000); // and nobody waits much longer than needed
});

it('spaces reserved slots evenly at limit × 1000/(1000 + guard), easing in after an idle fleet', async () => {
  const key = freshKey();
  const pacer = createPacer(a, { key, limit: 100, guardMs: 10 });
  const base = (1000 + 10) / 100; // 10.1 ms
  expect(pacer.intervalMs).toBeCloseTo(base, 2);
  const first = await pacer.reserve(10);
  // Slow start: the first slots after an idle fleet are up to 30 % further apart.
  expect(first.intervalMs).toBeGreaterThan(base * 1.2);
  expect(first.intervalMs).toBeLessThanOrEqual(base * 1.3 + 0.01);
  // The next reservation starts where the first one's 10 slots end, on Redis' clock (local clocks would add
  // round-trip noise): the stored TAT moves by exactly one interval.
  const tatAfterFirst = Number(await a.hget(key, 'tat'));
  const second = await pacer.reserve(1);
  expect(Number(await a.hget(key, 'tat')) - tatAfterFirst).toBeCloseTo(second.intervalMs * 1000, -1);
  expect(second.firstAt).toBeGreaterThan(first.firstAt);
  // Half a second of slots later the ramp is over: plain spacing.
  await pacer.reserve(60);
  const later = await pacer.reserve(1);
  expect(later.intervalMs).toBeCloseTo(base, 1);
});

it('an isolated 429 changes nothing; one soon after another holds and slows the fleet, compounding once per 200 ms', async () => {
  const key = freshKey();
  const one = createPacer(a, { key, limit: 100, guardMs: 0 });
  const other = createPacer(b, { key, limit: 100, guardMs: 0 });
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  await one.reserve(60); // past the slow start, then let the slots run out so nothing is queued ahead
  await sleep(900);
  const before = await one.reserve(1);
  // The first throttle after a calm spell is taken for jitter: no hold, no slow-down (the request is retried).
  await one.penalise(600);
  await one.penalise(600); // a burst of 429s from requests already in flight counts once
  const calm = await other.reserve(1);
  expect(calm.intervalMs / before.intervalMs).toBeCloseTo(1, 2);
  expect(calm.firstAt - performance.now()).toBeLessThan(50);
  // 250 ms later another: heat 0.5^0.25 ≈ 0.84 → a hold of ~0.84 × 600 ms and ~8.4 % slower, for everyone.
  await sleep(250);
  await one.penalise(600);
  const held = await other.reserve(1);
  expect(held.firstAt - performance.now()).toBeGreaterThan(400);
  expect(held.intervalMs / before.intervalMs).toBeGreaterThan(1.07);
  expect(held.intervalMs / before.intervalMs).toBeLessThan(1.095);
  // A third while it is hot: the full 10 % on top (the first step's excess has decayed a little meanwhile).
  await sleep(250);
  await other.penalise(600);
  const hot = await one.reserve(1);
  expect(hot.intervalMs / held.intervalMs).toBeGreaterThan(1.08);
  expect(hot.intervalMs / held.intervalMs).toBeLessThan(1.1);
});

it('a request that leaves well after its admission is re-stamped at its departure (counted once), a punctual one is not', async () => {
  const key = freshKey();
  const pacer = createPacer(a, { key, limit: 100, guardMs: 12 }); // re-stamped when later than 2 ms (guard / 6)
  const punctual = await pacer.admit();
  const late = await pacer.admit();
  const stamp = async (member: string) => Number(await a.zscore(`${key}:admitted`, member));
  const admittedAt = await stamp(late.member);
  // Judged from when the admission was asked for (not from the Redis answer, whose delay varies with load).
  expect(pacer.dispatched({ ...punctual, askedAt: performance.now() - 0.5 })).toBe(false);
  expect(pacer.dispatched({ ...punctual, askedAt: performance.now() - 2.5 })).toBe(true);
  await new Promise((r) => setTimeout(r, 30));
  // A busy event loop or a connection set-up of 20 ms between admission and the HTTP write:
  expect(pacer.dispatched({ ...late, askedAt: performance.now() - 20 })).toBe(true);
  await new Promise((r) => setTimeout(r, 50));
  // Still 2 entries (a second entry per late request filled the log with requests that never left), and the
  // late one now carries its departure time, so every window its real departure falls into counts it.
  expect(await a.zcard(`${key}:admitted`)).toBe(2);
  expect((await stamp(late.member)) - admittedAt).toBeGreaterThanOrEqual(25_000);
});

it('a full window still refuses a request while a late one is re-stamped, and lets it go once the window slides', async () => {
  const key = freshKey();
  const pacer = createPacer(a, { key, limit: 3, guardMs: 0 });
  const firstAsked = performance.now();
  const admitted = [await pacer.admit(), await pacer.admit(), await pacer.admit()];
  pacer.dispatched({ ...admitted[2]!, askedAt: performance.now() - 50 });
  await new Promise((r) => setTimeout(r, 20));
  expect(await a.zcard(`${key}:admitted`)).toBe(3);
  const fourth = await pacer.admit();
  // It waited for the oldest entry to leave the 1 s window: not let go before a second after the first admission
  // (judged on Redis' clock, so allow a little). Counted from when the first was asked, not from when the fourth
  // was: on a loaded machine the first three admissions alone took over 100 ms, and the fourth's wait was that shorter.
  expect(fourth.waitedMs).toBeGreaterThan(0);
  expect(performance.now() - firstAsked).toBeGreaterThan(990);
});

it('books a request whose window frees within the horizon at exactly that moment, in order, and sends it then', async () => {
  const key = freshKey();
  const pacer = createPacer(a, { key, limit: 2, guardMs: 0 }); // window 1 s
  const [first, second] = [await pacer.admit(), await pacer.admit()];
  const score = async (member: string) => Number(await a.zscore(`${key}:admitted`, member));
  const [s1, s2] = [await score(first.member), await score(second.member)];
  // Until ~25 ms before the first entry leaves the window (judged on this clock; Redis' runs within a ms of it).
  await new Promise((r) => setTimeout(r, 975 - (s2 - s1) / 1000));
  const asked = performance.now();
  const [third, fourth] = await Promise.all([pacer.admit(), pacer.admit()]);
  // Booked at the exact moments the window lets them in, each a second after the entry it replaces: no timer
  // granularity or second round trip added (asking again after the wait recorded them 1–2 ms later).
  expect((await score(third.member)) - s1).toBe(1_000_000);
  expect((await score(fourth.member)) - s2).toBe(1_000_000);
  // And admit() returned no earlier than its booking (never sends early), within the horizon.
  expect(performance.now() - asked).toBeGreaterThan(10);
  expect(third.waitedMs).toBeGreaterThan(10);
  expect(third.waitedMs).toBeLessThan(60);
  expect(await a.zcard(`${key}:admitted`)).toBe(4);
});

/** Admits 20 at once and returns when each was admitted (ms from the call). */
async function admitTwenty(pacer: ReturnType<typeof createPacer>): Promise<number[]> {
  const t0 = performance.now();
  const admittedAt = await Promise.all(
    Array.from({ length: 20 }, async () => {
      await pacer.admit();
      return performance.now() - t0;
    }),
  );
  return admittedAt.sort((x, y) => x - y);
}

it('pauses a window when Redis loses the log mid-stream, then admits at the limit: the next second cannot exceed it', async () => {
  const key = freshKey();
  let lost = 0;
  const pacer = createPacer(a, { key, limit: 20, guardMs: 0, onLostLog: () => lost++ });
  await pacer.reserve(1);
  await Promise.all(Array.from({ length: 20 }, () => pacer.admit())); // the provider saw 20 just now
  expect(lost).toBe(0);
  await a.del(key, `${key}:admitted`); // Redis lost its data
  // No reservation in between: admissions already on their way must not slip through the emptied log.
  const admittedAt = await admitTwenty(pacer);
  // Rebuilt as 20 entries over the next second: nothing for a window, then one every 50 ms as they expire.
  expect(admittedAt[0]!).toBeGreaterThanOrEqual(950);
  expect(admittedAt[19]!).toBeGreaterThanOrEqual(1850);
  expect(admittedAt[19]!).toBeLessThan(3000);
  expect(lost).toBe(1); // reported once, not at every admission that waited for the rebuilt log
});

it('pauses even when another worker, with nothing of its own to miss, wrote to the emptied log first', async () => {
  const key = freshKey();
  const busy = createPacer(a, { key, limit: 20, guardMs: 0 });
  const fresh = createPacer(b, { key, limit: 20, guardMs: 0 });
  await Promise.all(Array.from({ length: 20 }, () => busy.admit()));
  await a.del(key, `${key}:admitted`);
  await fresh.admit(); // recreates the log with one entry: nothing tells this worker anything was lost
  const admittedAt = await admitTwenty(busy);
  // Its own latest admission is missing: rebuilt, so nothing more is admitted for a window.
  expect(admittedAt[0]!).toBeGreaterThanOrEqual(950);
});

it('pauses too when the first to write after the loss is a worker that waited out a full window (nothing recent to miss)', async () => {
  const key = freshKey();
  const waiter = createPacer(a, { key, limit: 5, guardMs: 0 });
  const other = createPacer(b, { key, limit: 5, guardMs: 0 });
  const t0 = performance.now();
  const sentAt: number[] = [];
  const send = async (pacer: ReturnType<typeof createPacer>) => {
    await pacer.admit();
    sentAt.push(performance.now() - t0);
  };
  await Promise.all([send(waiter), send(waiter)]);
  await new Promise((r) => setTimeout(r, 400));
  await Promise.all([send(other), send(other), send(other)]); // the window is full now
  // The waiter's next requests wait for its own first ones to leave the window (~1 s after them).
  const waiting = Promise.all(Array.from({ length: 5 }, () => send(waiter)));
  await new Promise((r) => setTimeout(r, 300));
  await deleteKeysWithPrefix(a, key); // Redis lost everything, while the provider still counts the last second
  await waiting;
  // The waiter's latest admission is a full window old when it asks again: its own entry may have expired honestly,
  // so it is not checked — the epoch it saw is gone, and that pauses the fleet a window as any loss does.
  const sorted = sentAt.sort((x, y) => x - y);
  expect(sorted).toHaveLength(10);
  expect(maxInWindow(sorted, 1000)).toBeLessThanOrEqual(5);
});

it('pauses the spacing for a window after a rebuild, so no backlog of slots waits for admission', async () => {
  const key = freshKey();
  const pacer = createPacer(a, { key, limit: 20, guardMs: 0 });
  await Promise.all(Array.from({ length: 20 }, () => pacer.admit()));
  await a.del(key, `${key}:admitted`);
  const rebuilding = pacer.admit(); // finds the log lost and rebuilds it
  await new Promise((r) => setTimeout(r, 50));
  const asked = performance.now();
  const { firstAt } = await pacer.reserve(1);
  expect(firstAt - asked).toBeGreaterThanOrEqual(900);
  await rebuilding;
});

it('does not rebuild the window when the log merely expired after a quiet spell', async () => {
  const key = freshKey();
  let lost = 0;
  const pacer = createPacer(a, { key, limit: 20, guardMs: 0, onLostLog: () => lost++ });
  await Promise.all(Array.from({ length: 20 }, () => pacer.admit()));
  await new Promise((r) => setTimeout(r, 1100)); // longer than the window: nothing of ours is still counted
  await a.del(key, `${key}:admitted`);
  const admittedAt = await admitTwenty(pacer);
  expect(admittedAt[19]!).toBeLessThan(300);
  expect(lost).toBe(0);
});
