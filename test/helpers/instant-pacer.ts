/** A Pacer for batch-sender tests: every slot is now, 1 ms apart; admission is the test's own (default: at once). */
import type { Pacer } from '../../src/sending/pacer';

export function instantPacer(admit: Pacer['admit'] = async () => ({ waitedMs: 0, askedAt: performance.now(), member: 'm' })): Pacer {
  return {
    intervalMs: 1,
    reserve: async (n) => {
      const now = performance.now();
      return { firstAt: now, earliestAt: now, intervalMs: 1, count: n };
    },
    admit,
    dispatched: () => false,
    penalise: async () => undefined,
  };
}
