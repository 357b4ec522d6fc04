/** Operations endpoints: /health (public, for load balancers) and /metrics (Prometheus; token-protected). */
import type { FastifyInstance } from 'fastify';
import type { Queue } from 'bullmq';
import { messagesByStatus, metricsRegistry, queueDepth, setMessageCounts } from '../../metrics';
import { withTimeout } from '../../lib/with-timeout';
import type { Slot } from '../../delivery/paced-slot';
import type { ApiDeps } from '../deps';
import { MESSAGE_STATUSES } from '../deps';
import { createHealthCheck } from '../health';

const QUEUE_STATES = ['waiting', 'active', 'delayed', 'failed', 'completed', 'prioritized'] as const;

export function registerOpsRoutes(app: FastifyInstance, deps: ApiDeps, queues: readonly Queue[], acquireSlot: () => Promise<Slot>): void {
  const health = createHealthCheck(deps.container, deps.provider, deps.options?.providerCheckCacheMs ?? 15_000, acquireSlot);

  // What each check last said, so a failing dependency is logged when it starts failing (or fails differently), not
  // on every probe of a load balancer.
  const lastSaid = new Map<string, string | undefined>();
  app.get('/health', { schema: { tags: ['ops'], summary: 'PostgreSQL, Redis and provider reachability: 503 (down) when PostgreSQL or Redis fails, 200 degraded when only the provider does' } }, async (req, reply) => {
    const report = await health();
    const checks = Object.fromEntries(
      Object.entries(report.checks).map(([name, { detail, ...shown }]) => {
        if (lastSaid.get(name) !== detail) {
          lastSaid.set(name, detail);
          if (detail !== undefined) req.log.warn({ check: name, error: detail }, 'health: check failed');
        }
        return [name, shown];
      }),
    );
    return reply.status(report.status === 'down' ? 503 : 200).send({ status: report.status, checks });
  });

  app.get('/metrics', { schema: { tags: ['ops'], summary: 'Prometheus metrics', produces: ['text/plain'] } }, async (req, reply) => {
    for (const failure of await refreshGauges(deps, queues)) req.log.warn({ err: failure }, 'metrics: gauge refresh failed');
    return reply.header('content-type', metricsRegistry.contentType).send(await metricsRegistry.metrics());
  });
}

/**
 * How long a scrape waits for each gauge's source. BullMQ's job counts wait for good while Redis is unreachable
 * (and a PostgreSQL connection attempt up to 10 s): the scrape hung past Prometheus' scrape timeout, each one left
 * a request open, and `serve`'s SIGTERM waited for them until its grace ran out.
 */
const GAUGE_REFRESH_TIMEOUT_MS = 2_000;

/** Refreshes the gauges read at scrape time; a gauge whose source did not answer is emptied (absent, not stale). */
async function refreshGauges(deps: ApiDeps, queues: readonly Queue[]): Promise<unknown[]> {
  const refreshes = [
    { gauge: messagesByStatus, what: 'message counts from PostgreSQL', refresh: () => refreshMessageCounts(deps) },
    { gauge: queueDepth, what: 'queue depth from Redis', refresh: () => refreshQueueDepth(queues) },
  ];
  const results = await Promise.allSettled(refreshes.map((r) => withTimeout(r.refresh(), GAUGE_REFRESH_TIMEOUT_MS, r.what)));
  const failures: unknown[] = [];
  results.forEach((result, i) => {
    if (result.status === 'fulfilled') return;
    refreshes[i]!.gauge.reset();
    failures.push(result.reason);
  });
  return failures;
}

async function refreshMessageCounts(deps: ApiDeps): Promise<void> {
  // Only unfinished runs: cheap through the (run_id, status) index, and what an operator watches live.
  const { rows } = await deps.container.pg.query<{ status: string; n: string }>(
    `SELECT m.status::text AS status, count(*) AS n
       FROM messages m JOIN campaign_runs r ON r.id = m.run_id
      WHERE r.status IN ('pending', 'running', 'paused')
      GROUP BY 1`,
  );
  setMessageCounts(Object.fromEntries(rows.map((r) => [r.status, Number(r.n)])), MESSAGE_STATUSES);
}

async function refreshQueueDepth(queues: readonly Queue[]): Promise<void> {
  await Promise.all(
    queues.map(async (q) => {
      const counts = await q.getJobCounts(...QUEUE_STATES);
      for (const state of QUEUE_STATES) queueDepth.set({ queue: q.name, state }, counts[state] ?? 0);
    }),
  );
}
