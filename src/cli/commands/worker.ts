/** `bulksms worker [--concurrency n] [--metrics-port n]`: send workers + feeder + recovery until SIGTERM/SIGINT (graceful drain). */
import type { Command } from 'commander';
import { ValidationError } from '../../errors';
import { installShutdown, type Shutdown } from '../../lib/shutdown';
import { startMetricsServer } from '../../metrics-server';
import { claimLeaseMs, startWorker } from '../../sending/worker';
import { waitForServices } from '../../db/reachability';
import { assertMigrated } from '../../db/migrate';
import { bindHostOption } from '../bind-host-option';
import { withContainer } from '../context';
import { finishWorkWhenOutputCloses } from '../stdout-pipe';
import { parseConcurrency } from './campaign-control';

interface WorkerCliOptions {
  concurrency?: string;
  metricsPort?: string;
  metricsHost?: string;
}

export function parseMetricsPort(raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || n > 65535) throw new ValidationError(`--metrics-port must be a TCP port 0-65535 (got "${raw}")`, 'metricsPort');
  return n;
}

/** `--metrics-host`: checked like METRICS_HOST, so a bad one is exit 2 naming the option before anything starts. */
export function parseMetricsHost(raw: string | undefined): string | undefined {
  return raw === undefined ? undefined : bindHostOption('--metrics-host', raw);
}

export function registerWorker(program: Command): void {
  program
    .command('worker')
    .description('run send workers, the feeder, crash recovery, the campaign scheduler, the TRAI window, delivery-report polling and the finishing of list deletes cut short until SIGTERM (in-flight requests finish and are recorded)')
    .option('--concurrency <n>', 'max requests in flight in this process (default: rate × 0.6 s + 20)')
    .option('--metrics-port <n>', 'serve Prometheus /metrics of this process on this port, 0 = any free port (default: METRICS_PORT, else off)')
    .option('--metrics-host <addr>', 'address for /metrics, which has no auth (default: METRICS_HOST, else 127.0.0.1)')
    .addHelpText('after', '\nExample:\n  SMS_RATE_LIMIT=200 TWOFACTOR_API_KEY=... bulksms worker --concurrency 150 --metrics-port 9464')
    .action(
      withContainer(async (c, opts: WorkerCliOptions) => {
        // Its log reader gone (`bulksms worker 2>&1 | tee log` and tee killed): a worker ended at that write left its
        // requests in flight to become `unknown`, and one left running went on unseen. It stops as on SIGTERM
        // (in flight answered and recorded, the rest back to `pending` for the other workers) and exits 141.
        let shutdown: Shutdown | null = null;
        let outputClosed = false;
        finishWorkWhenOutputCloses(() => {
          outputClosed = true;
          shutdown?.begin('output closed');
        });
        const concurrency = parseConcurrency(opts.concurrency);
        const metricsPort = parseMetricsPort(opts.metricsPort) ?? c.config.METRICS_PORT;
        const metricsHost = parseMetricsHost(opts.metricsHost) ?? c.config.METRICS_HOST;
        // Bound first: a port already in use fails before any work is taken.
        const metrics = metricsPort === undefined ? null : await startMetricsServer({ port: metricsPort, host: metricsHost });
        if (metrics) {
          c.logger.info({ metricsPort: metrics.port, metricsHost }, 'worker metrics listening');
          process.stderr.write(`bulksms worker metrics on http://${metricsHost.includes(':') ? `[${metricsHost}]` : metricsHost}:${metrics.port}/metrics\n`);
        }
        // The signal handler goes in before the worker starts: sending begins inside startWorker, before it returns
        // (campaign services start last), and a SIGTERM then used to end the process with requests in flight.
        const stop = new AbortController();
        // PostgreSQL or Redis not up yet (a supervisor or `docker compose up` starting everything at once): wait for
        // them, as a running worker does when they go away, instead of exiting.
        const starting = (async () => {
          if (!(await waitForServices({ pg: c.pg, redis: c.redis, logger: c.logger, signal: stop.signal }))) return null;
          // Before any work is taken: code newer than the database sent and then failed mid-campaign on what was missing.
          await assertMigrated(c.pg);
          return startWorker(c, { concurrency, campaignServices: {}, metrics: metrics !== null, stopSignal: stop.signal });
        })();
        let stopped!: () => void;
        const done = new Promise<void>((resolve) => (stopped = resolve));
        shutdown = installShutdown(
          async () => {
            stop.abort();
            const worker = await starting.catch(() => null);
            await worker?.close();
            await metrics?.close();
            await c.close();
            stopped();
          },
          c.logger,
          // Long enough for the slowest request in flight to be answered and recorded (30 s at the default 10 s
          // request timeout). A shorter bound cut a raised SMS_REQUEST_TIMEOUT_MS short: exit 1 and the requests
          // still out left `sending`, to become `unknown` although their answers were on the way.
          Math.max(30_000, claimLeaseMs(c.config)),
        );
        if (outputClosed) shutdown.begin('output closed');
        const { uninstall } = shutdown;
        await starting.catch(async (err: unknown) => {
          uninstall();
          await metrics?.close();
          throw err;
        });
        await done;
      }),
    );
}
