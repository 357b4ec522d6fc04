/**
 * Prometheus metrics (prom-client), in a registry of our own so nothing else in the process leaks into
 * `/metrics`. Other domains import and increment these directly:
 *
 *   providerOutcomes.inc({ outcome: 'accepted' })            sending: one per provider answer (OutcomeKind)
 *   messageOutcomes.inc({ status: 'sent' }, n)                sending: messages per status an outcome write left
 *   deliveryReports.inc({ status: 'delivered' }, n)           delivery: messages a report made final
 *   providerRequests.inc({ kind: 'send' })                    every provider request (send, balance, report)
 *   sendLatency.observe({ outcome }, seconds)                 sending: provider round-trip
 *   rateLimitWaits.inc(); rateLimitWaitSeconds.observe(s)     sending: each time the pacer makes a send wait
 *   importRows.inc({ result: 'accepted' }, n)                 import: rows by result
 *
 * Gauges that mirror state (messages by status, queue depth) are refreshed by the API on each scrape.
 * Label values are closed sets (statuses, outcome kinds, queue names): never the API key, a phone or free text.
 * Counters are per process: `bulksms worker` processes count their own sends.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export const metricsRegistry = new Registry();
// The event-loop lag histogram samples every 100 ms, not prom-client's 10: its timer woke every process that
// imports this module 100 times a second (an idle worker: 2.4 % of a core in all; lag percentiles need no more).
collectDefaultMetrics({ register: metricsRegistry, prefix: 'bulksms_', eventLoopMonitoringPrecision: 100 });

export const messagesByStatus = new Gauge({
  name: 'bulksms_messages',
  help: 'Messages of unfinished campaign runs by status (from PostgreSQL, refreshed on scrape)',
  labelNames: ['status'] as const,
  registers: [metricsRegistry],
});

export const providerOutcomes = new Counter({
  name: 'bulksms_provider_outcomes_total',
  help: 'Provider answers by outcome class (accepted, permanent_recipient, permanent_campaign, account_fatal, retryable, ambiguous)',
  labelNames: ['outcome'] as const,
  registers: [metricsRegistry],
});

/**
 * Per message, where providerOutcomes is per request: a packed request (`--pack`) carries up to 100 messages, so
 * only this one adds up to the ledger's counts. Counted as each write commits (send outcomes, suppressed at claim
 * time, crash recovery's `unknown`), once per attempt: the database's conditional write decides, so an outcome
 * written again changes nothing and counts nothing, and an `unknown` whose late answer then lands is not counted a
 * second time (unknownResolved counts those answers).
 */
export const MESSAGE_OUTCOME_STATUSES = ['sent', 'failed', 'unknown', 'pending', 'cancelled', 'suppressed'] as const;
export const messageOutcomes = new Counter({
  name: 'bulksms_message_outcomes_total',
  help: 'Messages by the status a send outcome left them in (sent, failed, unknown, pending = to send again, cancelled, suppressed at send time)',
  labelNames: ['status'] as const,
  registers: [metricsRegistry],
});
// Every status from the start at 0, so a rate over it has a series before its first message.
for (const status of MESSAGE_OUTCOME_STATUSES) messageOutcomes.labels({ status });

/**
 * Messages counted `unknown` (crash recovery: their worker's lease ran out) whose answer then landed after all, by
 * the status it left them in (sent, failed). Not counted again in messageOutcomes: the database's `unknown` is
 * messageOutcomes{unknown} minus these, its `sent` messageOutcomes{sent} plus these{sent} minus deliveryReports.
 */
export const unknownResolved = new Counter({
  name: 'bulksms_unknown_resolved_total',
  help: 'Messages counted unknown whose late provider answer then landed, by the status it left them in (sent, failed; cancelled when handed back under a cancelled campaign)',
  labelNames: ['status'] as const,
  registers: [metricsRegistry],
});

/**
 * Messages a delivery report (pushed, polled, or parked until its session was recorded) made final, by the status it
 * left them in. Counted as the conditional write decides: a repeated report, or one for a message already final,
 * counts nothing. So the database's `delivered` is this{delivered}, its `failed` messageOutcomes{failed} +
 * unknownResolved{failed} + this{failed}, and each of these messages left `sent`. Without it nothing said how many
 * messages were delivered: reports move messages after their run has ended, where the bulksms_messages gauge no
 * longer looks.
 */
export const DELIVERY_REPORT_STATUSES = ['delivered', 'failed'] as const;
export const deliveryReports = new Counter({
  name: 'bulksms_delivery_reports_total',
  help: 'Messages a delivery report made final (from sent), by the status it left them in (delivered, failed); repeats count nothing',
  labelNames: ['status'] as const,
  registers: [metricsRegistry],
});
for (const status of DELIVERY_REPORT_STATUSES) deliveryReports.labels({ status });

export const providerRequests = new Counter({
  name: 'bulksms_provider_requests_total',
  help: 'Requests made to the provider by kind (send, balance, report)',
  labelNames: ['kind'] as const,
  registers: [metricsRegistry],
});

export const sendLatency = new Histogram({
  name: 'bulksms_send_latency_seconds',
  help: 'Provider send request latency by outcome class',
  labelNames: ['outcome'] as const,
  buckets: [0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1, 2, 5, 10, 30],
  registers: [metricsRegistry],
});

export const rateLimitWaits = new Counter({
  name: 'bulksms_rate_limit_waits_total',
  help: 'Times a send had to wait for the shared rate limiter',
  registers: [metricsRegistry],
});

export const rateLimitWaitSeconds = new Histogram({
  name: 'bulksms_rate_limit_wait_seconds',
  help: 'Time sends spent waiting for the shared rate limiter',
  buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5],
  registers: [metricsRegistry],
});

export const queueDepth = new Gauge({
  name: 'bulksms_queue_depth',
  help: 'BullMQ jobs by queue and state (refreshed on scrape)',
  labelNames: ['queue', 'state'] as const,
  registers: [metricsRegistry],
});

export const importRows = new Counter({
  name: 'bulksms_import_rows_total',
  help: 'Imported CSV rows by result (accepted, rejected, duplicate, suppressed)',
  labelNames: ['result'] as const,
  registers: [metricsRegistry],
});

/** Replaces the message gauge with fresh counts; statuses absent from `counts` are set to 0. */
export function setMessageCounts(counts: Readonly<Record<string, number>>, statuses: readonly string[]): void {
  for (const status of statuses) messagesByStatus.set({ status }, counts[status] ?? 0);
}
