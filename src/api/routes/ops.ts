/** Operations endpoints: /health (public, for load balancers) and /metrics (Prometheus; token-protected). */
import type { FastifyInstance } from 'fastify';
import type { Queue } from 'bullmq';
import { metricsRegistry, queueDepth, setMessageCounts } from '../../metrics';
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
  app.get('/health', { schema: { tags: ['ops'], summary: 'PostgreSQL, Redis and provider reachability; 503 when one is down' } }, async (req, reply) => {
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
    return reply.status(report.status === 'ok' ? 200 : 503).send({ status: report.status, checks });
  });

  app.get('/metrics', { schema: { tags: ['ops'], summary: 'Prometheus metrics', produces: ['text/plain'] } }, async (req, reply) => {
    await refreshGauges(deps, queues).catch((err: unknown) => req.log.warn({ err }, 'metrics: gauge refresh failed'));
    return reply.header('content-type', metricsRegistry.contentType).send(await metricsRegistry.metrics());
  });
}

async function refreshGauges(deps: ApiDeps, queues: readonly Queue[]): Promise<void> {
  // Only unfinished runs: cheap through the (run_id, status) index, and what an operator watches live.
  const { rows } = await deps.container.pg.query<{ status: string; n: string }>(
    `SELECT m.status::text AS status, count(*) AS n
       FROM messages m JOIN campaign_runs r ON r.id = m.run_id
      WHERE r.status IN ('pending', 'running', 'paused')
      GROUP BY 1`,
  );
  setMessageCounts(Object.fromEntries(rows.map((r) => [r.status, Number(r.n)])), MESSAGE_STATUSES);
  await Promise.all(
    queues.map(async (q) => {
      const counts = await q.getJobCounts(...QUEUE_STATES);
      for (const state of QUEUE_STATES) queueDepth.set({ queue: q.name, state }, counts[state] ?? 0);
    }),
  );
}
