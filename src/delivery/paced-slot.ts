/**
 * Adapts the sending engine's account-wide pacer (GCRA reservations in Redis) to the `acquireSlot()` the
 * delivery-report poller needs. A slot we wake up for too late is dropped and a fresh one reserved, for the same
 * reason the send path does it: a late request could land in the next slot's 1 s window and exceed the limit.
 */
export interface SlotReserver {
  reserve(n: number): Promise<{ firstAt: number }>;
}

/** Resolves at local monotonic time `at` (performance.now() ms); never early. */
async function sleepUntil(at: number): Promise<void> {
  for (let delay = at - performance.now(); delay > 0; delay = at - performance.now()) {
    await new Promise((resolve) => setTimeout(resolve, Math.max(1, Math.ceil(delay))));
  }
}

export function pacedSlot(pacer: SlotReserver, opts: { lateToleranceMs?: number; maxTries?: number } = {}): () => Promise<void> {
  const tolerance = opts.lateToleranceMs ?? 3;
  const maxTries = opts.maxTries ?? 20;
  return async () => {
    for (let i = 0; i < maxTries; i++) {
      const { firstAt } = await pacer.reserve(1);
      await sleepUntil(firstAt);
      if (performance.now() - firstAt <= tolerance) return;
    }
    throw new Error(`no on-time request slot after ${maxTries} tries (event loop overloaded?)`);
  };
}
