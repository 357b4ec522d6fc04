/**
 * Adapts the sending engine's account-wide pacer to the `acquireSlot()` the delivery-report poller and the
 * balance checks need: wait for a spaced slot, then for admission into the fleet-wide sliding window.
 */
import type { Container } from '../container';
import { sendingKeys } from '../sending/keys';
import { createPacer, sleepUntil, THROTTLE_PENALTY_MS, type Admission } from '../sending/pacer';
import { ServiceError, coerceError } from '../errors';
import { isThrottledError } from '../provider/sms-provider';

export interface SlotReserver {
  reserve(n: number): Promise<{ firstAt: number }>;
  admit(): Promise<Admission>;
  dispatched(admission: Admission): boolean;
  penalise(ms: number): Promise<void>;
}

/** A slot taken: pass `onWrite` to the request so its admission is judged where it is really written. */
export interface Slot {
  /**
   * Right before the request is written to a connection. Written later than the pacer's lag threshold after its
   * admission, its entry in the window moves to now, exactly as for sends: these requests count against the
   * same limit at the provider, and un-judged they put 401–428 requests into one second at a limit of 400 in
   * the chaos suite once its provider view counted them.
   */
  onWrite(): void;
  /**
   * The provider answered this request 429: slows the account-wide pacer exactly as a throttled send does
   * (batch-sender.ts). These requests spend the same budget, and one refused for it says the fleet as a whole is
   * going too fast, sends included. Never throws: a Redis that cannot be told must not fail the caller's handling.
   */
  throttled(): Promise<void>;
}

/**
 * One provider call in a slot of the account-wide budget: `call` gets the slot's onWrite for its request; a 429 for it
 * slows the fleet as a throttled send does (Slot.throttled), then is the caller's to handle like any other error.
 */
export async function inSlot<T>(acquireSlot: () => Promise<Slot | void>, call: (onWrite?: () => void) => Promise<T>): Promise<T> {
  const slot = await acquireSlot();
  try {
    return await call(slot ? slot.onWrite : undefined);
  } catch (err) {
    if (slot && isThrottledError(err)) await slot.throttled();
    throw err;
  }
}

/** A balance source whose every lookup first takes a slot (balance checks spend the same request budget). */
export function pacedBalance<K>(
  acquireSlot: () => Promise<Slot | void>,
  source: { balance(kind: K, signal?: AbortSignal, onWrite?: () => void): Promise<number> },
): { balance(kind: K): Promise<number> } {
  return { balance: (kind: K) => inSlot(acquireSlot, (onWrite) => source.balance(kind, undefined, onWrite)) };
}

/**
 * The account-wide budget (in Redis) could not be asked: the request was not made, so the provider is not to
 * blame — a failed balance check said "could not read the balance from the provider" when Redis was down.
 */
export class RateLimiterUnavailableError extends ServiceError {
  constructor(cause: unknown) {
    super(`the account-wide rate limiter in Redis did not answer (${coerceError(cause).message}); nothing was sent to the provider`, { cause });
  }
}

/** Resolves when the caller may make one provider request, with the slot to judge its write by. */
export function pacedSlot(pacer: SlotReserver): () => Promise<Slot> {
  return async () => {
    let admission: Admission;
    try {
      const { firstAt } = await pacer.reserve(1);
      await sleepUntil(firstAt);
      admission = await pacer.admit();
    } catch (err) {
      throw new RateLimiterUnavailableError(err);
    }
    let judged = false;
    return {
      onWrite: () => {
        if (judged) return;
        judged = true;
        pacer.dispatched(admission);
      },
      throttled: () => pacer.penalise(THROTTLE_PENALTY_MS).catch(() => undefined),
    };
  };
}

/**
 * Slots of the account-wide budget for a process's own few provider calls (the API's OTP and health probe, a
 * one-shot balance check): the same pacer state as the workers', from the configured limit.
 */
export function accountSlots(deps: Pick<Container, 'redis' | 'config'>): () => Promise<Slot> {
  const { config } = deps;
  return pacedSlot(createPacer(deps.redis, { key: sendingKeys(config.QUEUE_PREFIX).pacer, limit: config.SMS_RATE_LIMIT, guardMs: config.SMS_RATE_GUARD_MS }));
}
