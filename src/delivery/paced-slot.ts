/**
 * Adapts the sending engine's account-wide pacer to the `acquireSlot()` the delivery-report poller and the
 * balance checks need: wait for a spaced slot, then for admission into the fleet-wide sliding window (which
 * records the real dispatch time, so waking up late cannot push the provider over its limit).
 */
import { sleepUntil } from '../sending/pacer';

export interface SlotReserver {
  reserve(n: number): Promise<{ firstAt: number }>;
  admit(): Promise<unknown>;
}

/**
 * Resolves when the caller may send. The lag between admission and the request is not re-checked here (the
 * caller sends at once and these requests are a small share of the budget); the guard absorbs it.
 */
/** A balance source whose every lookup first takes a slot (balance checks spend the same request budget). */
export function pacedBalance<K>(acquireSlot: () => Promise<void>, source: { balance(kind: K): Promise<number> }): { balance(kind: K): Promise<number> } {
  return {
    balance: async (kind: K) => {
      await acquireSlot();
      return source.balance(kind);
    },
  };
}

export function pacedSlot(pacer: SlotReserver): () => Promise<void> {
  return async () => {
    const { firstAt } = await pacer.reserve(1);
    await sleepUntil(firstAt);
    await pacer.admit();
  };
}
