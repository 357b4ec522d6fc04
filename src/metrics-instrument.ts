/**
 * Metric recording that needs no change inside other domains: a provider decorator (outcome classes and send
 * latency, exactly once per provider call) and an import-result recorder. Wire them where the objects are
 * built, e.g. `startWorker(c, { provider: instrumentProvider(provider) })`.
 */
import type { ImportResult } from './api/deps';
import { importRows, providerOutcomes, sendLatency } from './metrics';
import type { SmsProvider } from './provider/sms-provider';

export function instrumentProvider(provider: SmsProvider, now: () => number = () => performance.now()): SmsProvider {
  return {
    async send(req, signal) {
      const started = now();
      try {
        const outcome = await provider.send(req, signal);
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
    balance: (kind, signal) => provider.balance(kind, signal),
    deliveryReport: (sessionId, signal) => provider.deliveryReport(sessionId, signal),
    close: () => provider.close(),
  };
}

export function recordImport(result: Pick<ImportResult, 'accepted' | 'rejected' | 'duplicates' | 'suppressed'>): void {
  importRows.inc({ result: 'accepted' }, result.accepted);
  importRows.inc({ result: 'rejected' }, result.rejected);
  importRows.inc({ result: 'duplicate' }, result.duplicates);
  importRows.inc({ result: 'suppressed' }, result.suppressed);
}
