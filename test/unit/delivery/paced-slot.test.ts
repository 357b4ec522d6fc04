import { pacedBalance, pacedSlot, RateLimiterUnavailableError, type SlotReserver } from '../../../src/delivery/paced-slot';
import { THROTTLE_PENALTY_MS } from '../../../src/sending/pacer';

describe('pacedSlot', () => {
  it('waits for the reserved slot, never goes early, and is admitted only after the slot', async () => {
    const events: string[] = [];
    let slotAt = 0;
    const slot = pacedSlot({
      reserve: async () => {
        slotAt = performance.now() + 30;
        events.push('reserve');
        return { firstAt: slotAt };
      },
      admit: async () => {
        events.push(performance.now() >= slotAt ? 'admit-after-slot' : 'admit-early');
        return { waitedMs: 0, askedAt: performance.now(), member: 'm1' };
      },
      dispatched: () => false,
      penalise: async () => undefined,
    });
    await slot();
    expect(events).toEqual(['reserve', 'admit-after-slot']);
    expect(performance.now()).toBeGreaterThanOrEqual(slotAt);
  });

  it('does not resolve before admission does', async () => {
    let admitted = false;
    const slot = pacedSlot({
      reserve: async () => ({ firstAt: performance.now() - 50 }),
      admit: async () => {
        await new Promise((r) => setTimeout(r, 20));
        admitted = true;
        return { waitedMs: 20, askedAt: performance.now(), member: 'm2' };
      },
      dispatched: () => false,
      penalise: async () => undefined,
    });
    await slot();
    expect(admitted).toBe(true);
  });

  it("judges the request's write against its admission, once (a late write moves its entry in the window)", async () => {
    const judged: string[] = [];
    const slot = await pacedSlot({
      reserve: async () => ({ firstAt: performance.now() }),
      admit: async () => ({ waitedMs: 0, askedAt: performance.now(), member: 'poll-7' }),
      dispatched: (a) => (judged.push(a.member), true),
      penalise: async () => undefined,
    })();
    expect(judged).toEqual([]);
    slot.onWrite();
    slot.onWrite();
    expect(judged).toEqual(['poll-7']);
  });

  it('a throttled slot penalises the pacer as a throttled send does, and never throws', async () => {
    const penalties: number[] = [];
    const reserver = (penalise: (ms: number) => Promise<void>): SlotReserver => ({
      reserve: async () => ({ firstAt: performance.now() }),
      admit: async () => ({ waitedMs: 0, askedAt: performance.now(), member: 'poll-8' }),
      dispatched: () => false,
      penalise,
    });
    await (await pacedSlot(reserver(async (ms) => void penalties.push(ms)))()).throttled();
    expect(penalties).toEqual([THROTTLE_PENALTY_MS]);
    await expect((await pacedSlot(reserver(() => Promise.reject(new Error('Redis down'))))()).throttled()).resolves.toBeUndefined();
  });

  it('pacedBalance passes the slot to the lookup as its onWrite', async () => {
    const written: string[] = [];
    const balances = pacedBalance(
      async () => ({ onWrite: () => void written.push('judged'), throttled: async () => undefined }),
      {
        balance: async (_kind: string, _signal?: AbortSignal, onWrite?: () => void) => {
          onWrite?.();
          return 7;
        },
      },
    );
    expect(await balances.balance('TRANSACTIONAL_SMS')).toBe(7);
    expect(written).toEqual(['judged']);
  });

  it('pacedBalance takes a slot before every lookup', async () => {
    const events: string[] = [];
    const balances = pacedBalance(
      async () => void events.push('slot'),
      { balance: async (kind: string) => (events.push(`lookup ${kind}`), 42) },
    );
    expect(await balances.balance('TRANSACTIONAL_SMS')).toBe(42);
    await balances.balance('PROMOTIONAL_SMS');
    expect(events).toEqual(['slot', 'lookup TRANSACTIONAL_SMS', 'slot', 'lookup PROMOTIONAL_SMS']);
  });

  it('Redis refusing the slot is the rate limiter’s failure, and the provider is never asked', async () => {
    const redisDown: SlotReserver = {
      reserve: () => Promise.reject(new Error('Reached the max retries per request limit (which is 1)')),
      admit: () => Promise.reject(new Error('unreachable')),
      dispatched: () => false,
      penalise: async () => undefined,
    };
    let asked = 0;
    const balances = pacedBalance(pacedSlot(redisDown), { balance: async () => ++asked });
    await expect(balances.balance('TRANSACTIONAL_SMS')).rejects.toThrow(RateLimiterUnavailableError);
    await expect(balances.balance('TRANSACTIONAL_SMS')).rejects.toThrow(/rate limiter in Redis did not answer \(Reached the max retries/);
    expect(asked).toBe(0);
  });
});
