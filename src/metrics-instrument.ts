/**
 * Metric recording that needs no change inside other domains: a provider decorator (requests, outcome classes
 * and send latency, exactly once per provider call), a pacer decorator (rate-limit waits) and an import-result
 * recorder. `startWorker(c, { metrics: true })` wires the first two (`bulksms worker --metrics-port`).
 */
import type { ImportResult } from './api/deps';
import { importRows, providerOutcomes, providerRequests, rateLimitWaits, rateLimitWaitSeconds, sendLatency } from './metrics';
import type { SmsProvider } from './provider/sms-provider';
import type { Pacer } from './sending/pacer';

export function instrumentProvider(provider: SmsProvider, now: () => number = () => performance.now()): SmsProvider {
  return {
    async send(req, signal, onWrite) {
      providerRequests.inc({ kind: 'send' });
      const started = now();
      try {
        const outcome = await provider.send(req, signal, onWrite);
        providerOutcomes.inc({ outcome: outcome.kind });
        sendLatency.observe({ outcome: outcome.kind }, (now() - started) / 1000);
        return outcome;
      } catch (err) {
        // The port promises outcomes, not throws; a throw is a bug or an abort: count it as ambiguous.
        providerOutcomes.inc({ outcome: 'ambiguous' });
        sendLatency.observe({ outcome: 'ambiguous' }, (now() - started) / 1000);
        throw err;
      }
    },
    balance: (kind, signal, onWrite) => {
      providerRequests.inc({ kind: 'balance' });
      return provider.balance(kind, signal, onWrite);
    },
    deliveryReport: (sessionId, signal, onWrite) => {
      providerRequests.inc({ kind: 'report' });
      return provider.deliveryReport(sessionId, signal, onWrite);
    },
    close: () => provider.close(),
  };
}

/**
 * Counts the slots the shared limiter handed out in the future (the request had to wait) and how long: slot i
 * of a reservation waits `first + i × interval`. Waits under `minWaitMs` (timer granularity) are not waits.
 * Waits for admission into the sliding window (after a stall bunched requests together) count as waits too.
 */
export function instrumentPacer(pacer: Pacer, minWaitMs = 1): Pacer {
  return {
    get intervalMs() {
      return pacer.intervalMs;
    },
    penalise: (ms) => pacer.penalise(ms),
    dispatched: (admission) => pacer.dispatched(admission),
    async admit() {
      const a = await pacer.admit();
      if (a.waitedMs >= minWaitMs) {
        rateLimitWaits.inc();
        rateLimitWaitSeconds.observe(a.waitedMs / 1000);
      }
      return a;
    },
    async reserve(n) {
      const r = await pacer.reserve(n);
      const first = r.firstAt - performance.now();
      for (let i = 0; i < r.count; i++) {
        const wait = first + i * r.intervalMs;
        if (wait < minWaitMs) continue;
        rateLimitWaits.inc();
        rateLimitWaitSeconds.observe(wait / 1000);
      }
      return r;
    },
  };
}

export function recordImport(result: Pick<ImportResult, 'accepted' | 'rejected' | 'duplicates' | 'suppressed'>): void {
  importRows.inc({ result: 'accepted' }, result.accepted);
  importRows.inc({ result: 'rejected' }, result.rejected);
  importRows.inc({ result: 'duplicate' }, result.duplicates);
  importRows.inc({ result: 'suppressed' }, result.suppressed);
}
