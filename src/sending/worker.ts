/**
 * `bulksms worker`: BullMQ send workers + the feeder (leader only) + crash recovery, in one process. Any number
 * of these may run on any number of hosts against the same Redis and PostgreSQL.
 */
import { Queue, Worker } from 'bullmq';
import { Client } from 'pg';
import { pgConnectionConfig } from '../db/pg';
import type { Container } from '../container';
import type { SmsProvider } from '../provider/sms-provider';
import { createBatchSender, type SenderStats } from './batch-sender';
import { createCampaignStates } from './campaign-states';
import { pauseCampaign, resumeCampaign, startCampaign } from './campaign-control';
import { checkCredits } from '../campaign/credit-check';
import { startCampaignServices, type CampaignServicesOptions } from '../campaign/services';
import { applyParkedReports } from '../delivery/early-reports';
import { pacedBalance, pacedSlot } from '../delivery/paced-slot';
import { instrumentPacer, instrumentProvider } from '../metrics-instrument';
import { createDefaultProvider } from './default-provider';
import { startFeeder } from './feeder';
import { SEND_QUEUE, sendingKeys, type SendJobData } from './keys';
import { OutcomeWriter, type OutcomeRow } from './ledger';
import { createPacer, THROTTLE_PENALTY_MS } from './pacer';
import { expireStaleSending } from './recovery';

export interface WorkerOptions {
  /** Max requests in flight in this process (Little's law: rate × worst latency). */
  concurrency?: number;
  /** Defaults to the 2Factor client built from the configuration. */
  provider?: SmsProvider;
  /** Run the feeder in this process (it still only feeds while holding the fleet-wide lock). Default true. */
  feeder?: boolean;
  /** Tuning, mostly for tests and benchmarks. */
  batchSize?: number;
  chunkSize?: number;
  window?: number;
  /** Jitter allowance between admission and arrival at the provider (pacer.ts). */
  guardMs?: number;
  lateToleranceMs?: number;
  sendDeadlineMs?: number;
  leaseMs?: number;
  lockDurationMs?: number;
  staleQueuedMs?: number;
  feederTickMs?: number;
  /** Feeder wait between passes while nothing runs (FeederOptions.idleTickMs). */
  feederIdleTickMs?: number;
  /** Record Prometheus metrics of this process (provider requests/outcomes/latency, rate-limit waits). */
  metrics?: boolean;
  /**
   * Scheduler (--at/--cron), TRAI window watcher, delivery-report poller and the finisher of list deletes cut
   * short (src/campaign, src/delivery, src/import). Off unless given: `bulksms worker` passes `{}` (all on);
   * embedded and test workers stay send-only.
   */
  campaignServices?: false | Partial<Pick<CampaignServicesOptions, 'scheduler' | 'window' | 'deliveryReports' | 'listDeletes' | 'dlr' | 'now'>>;
  /**
   * Aborted when a shutdown is asked for while the worker is still starting (a SIGTERM right after launch):
   * sending stops claiming at once and the campaign services are not started — the report poller started late
   * in a drain made requests nobody would wait for.
   */
  stopSignal?: AbortSignal;
}

export interface RunningWorker {
  close(): Promise<void>;
  /** Live counters (requests made, pacing slots missed, claims released unsent). */
  stats(): SenderStats;
}

const DEFAULT_SEND_DEADLINE_MS = 5000;

/**
 * How long a message may stay `sending` before recovery calls its worker lost (`unknown`): the wait for its slot
 * (sendDeadlineMs), its request (SMS_REQUEST_TIMEOUT_MS) and 10 s to record the outcome. Also the longest a
 * graceful close can need for its requests in flight.
 */
export function claimLeaseMs(config: Pick<Container['config'], 'SMS_REQUEST_TIMEOUT_MS'>, sendDeadlineMs = DEFAULT_SEND_DEADLINE_MS): number {
  return sendDeadlineMs + config.SMS_REQUEST_TIMEOUT_MS + 10_000;
}

export async function startWorker(container: Container, opts: WorkerOptions = {}): Promise<RunningWorker> {
  const { config, logger, pg } = container;
  const prefix = config.QUEUE_PREFIX;
  const keys = sendingKeys(prefix);
  const rate = config.SMS_RATE_LIMIT;
  const concurrency = opts.concurrency ?? Math.ceil(rate * 0.6) + 20;
  // ~20 jobs per second whatever the rate: per-job Redis overhead stays small, one job spans ~50 ms of slots.
  const batchSize = opts.batchSize ?? Math.min(100, Math.max(5, Math.round(rate / 20)));
  const chunkSize = opts.chunkSize ?? Math.max(5, Math.ceil(batchSize / 3));
  const sendDeadlineMs = opts.sendDeadlineMs ?? DEFAULT_SEND_DEADLINE_MS;
  const leaseMs = opts.leaseMs ?? claimLeaseMs(config, sendDeadlineMs);
  // How soon a dead worker's jobs go to another worker (BullMQ's stall detection). The rest of their batch waits
  // `queued` until then: chaos row 1 (SIGKILL ×3) took 72 s at BullMQ's 30 s against 63.5 s at 10 s. A job
  // re-delivered while its worker still runs is harmless — claims are conditional, so nothing is sent twice.
  const lockDuration = opts.lockDurationMs ?? 10_000;

  const ownProvider = opts.provider ? null : createDefaultProvider(container, concurrency);
  const provider = opts.metrics ? instrumentProvider(opts.provider ?? ownProvider!) : (opts.provider ?? ownProvider!);

  // A previous incarnation of some worker may have died mid-request.
  const expired = await expireStaleSending(pg, leaseMs);
  if (expired) logger.warn({ expired }, 'worker: stale claims from a lost worker marked unknown');

  const states = await createCampaignStates(pg, container.newWorkerRedis(), keys.control);
  const writer = createOutcomeWriter(container);
  const rawPacer = createPacer(container.redis, {
    key: keys.pacer,
    limit: rate,
    guardMs: opts.guardMs ?? config.SMS_RATE_GUARD_MS,
    onLostLog: () => logger.warn('pacer: Redis lost the admission log while sending; the fleet pauses one window (the provider still counts the last second)'),
  });
  const pacer = opts.metrics ? instrumentPacer(rawPacer) : rawPacer;
  let closing = opts.stopSignal?.aborted ?? false;
  opts.stopSignal?.addEventListener('abort', () => (closing = true), { once: true });

  const sender = createBatchSender(
    {
      pg,
      provider,
      pacer,
      writer,
      states,
      logger,
      closing: () => closing,
      pause: async (campaignId, reason) => {
        await pauseCampaign(container, campaignId, reason);
        logger.error({ campaignId, reason }, 'campaign paused: the provider refused it, or failed too many requests in a row');
      },
    },
    {
      chunkSize,
      maxAttempts: config.SMS_MAX_ATTEMPTS,
      lateToleranceMs: opts.lateToleranceMs ?? 6,
      sendDeadlineMs,
      throttlePenaltyMs: THROTTLE_PENALTY_MS,
    },
  );

  const queue = new Queue<SendJobData>(SEND_QUEUE, {
    connection: container.redis,
    prefix,
    defaultJobOptions: { removeOnComplete: true, removeOnFail: { count: 100 }, attempts: 3, backoff: { type: 'fixed', delay: 1000 } },
  });
  queue.on('error', (err) => logger.warn({ err }, 'send queue error'));

  // Batches this process is sending: a close waits for them (requests in flight answered, outcomes written) even
  // when the Redis side of the close cannot finish.
  const batches = new Set<Promise<void>>();
  const worker = new Worker<SendJobData>(SEND_QUEUE, (job) => tracked(batches, sender.processBatch(job.data)), {
    connection: container.newWorkerRedis(),
    prefix,
    concurrency: Math.max(2, Math.ceil(concurrency / batchSize) + 1),
    lockDuration,
    stalledInterval: lockDuration,
    maxStalledCount: 2,
  });
  worker.on('error', (err) => logger.warn({ err }, 'send worker error'));
  worker.on('failed', (job, err) => logger.warn({ err, jobId: job?.id }, 'send job failed'));

  const feeder =
    opts.feeder === false
      ? null
      : startFeeder(
          { pg, redis: container.redis, queue, logger, newClient: () => new Client(pgConnectionConfig(config.DATABASE_URL, config)) },
          {
            window: opts.window ?? Math.max(4 * batchSize, rate * 2),
            batchSize,
            tickMs: opts.feederTickMs ?? 100,
            idleTickMs: opts.feederIdleTickMs,
            leaseMs,
            staleQueuedMs: opts.staleQueuedMs ?? 120_000,
            epochKey: keys.epoch,
            lockKey: `bulksms-feeder:${prefix}`,
          },
        );
  // A start or resume is fed at once rather than after the idle feeder's next pass.
  states.onAnnounce((_campaignId, status) => {
    if (status === 'running') feeder?.wake();
  });
  // Campaign services. Report polls and balance checks spend slots of the same account-wide request budget.
  const acquireSlot = pacedSlot(pacer);
  const balances = pacedBalance(acquireSlot, provider);
  const servicesNow = opts.campaignServices ? opts.campaignServices.now : undefined;
  const campaignServices =
    opts.campaignServices === undefined || opts.campaignServices === false || closing
      ? null
      : await startCampaignServices(container, {
          ...opts.campaignServices,
          // Credits are checked ahead of an --at instant; the run itself starts at the instant.
          prepareRun: (campaignId) => checkCredits(container, balances, campaignId),
          startRun: (campaignId, trigger, { dueAt }) => startCampaign(container, campaignId, { trigger, dueAt }),
          pauseCampaign: (campaignId, reason) => pauseCampaign(container, campaignId, reason),
          // The window watcher's 09:00 resume: only what the window paused (an operator's pause stays).
          resumeCampaign: (campaignId) => resumeCampaign(container, campaignId, { onlyIfWindowPause: true, now: servicesNow?.() }),
          provider,
          acquireSlot,
          stopSignal: opts.stopSignal,
        });
  logger.info({ rate, concurrency, batchSize, chunkSize }, 'worker started');

  let closed: Promise<void> | null = null;
  return {
    stats: () => ({ ...sender.stats }),
    close() {
      closed ??= (async () => {
        closing = true;
        // First, so no further job is taken (it stays in the queue for the other workers); resolves once the active
        // jobs are done and BullMQ has let go of Redis.
        const sendWorkerClosed = worker.close();
        // Awaited below; marked handled now so a failure before then does not end the process as unhandled.
        sendWorkerClosed.catch(() => undefined);
        const tidy = (async () => {
          await campaignServices?.close();
          await feeder?.close();
          await sendWorkerClosed;
          await queue.close();
          await states.close();
        })();
        // What must be durable is the outcomes. Everything else here talks to Redis, and while Redis is unreachable
        // BullMQ's and ioredis' closes wait for it for good (a QUIT queued behind the reconnection): once the
        // outcomes are written and Redis has been gone a moment, the rest is dropped (container.close drops a
        // connection that is not up). It ended in the caller's grace bound, exit 1.
        const gaveUp = new AbortController();
        const redisGone = (async () => {
          while (batches.size) await Promise.allSettled([...batches]);
          await writer.flush();
          await whileRedisIsUp(container.redis, REDIS_GONE_MS, gaveUp.signal);
          return true;
        })();
        const tidied = tidy.then(() => false);
        // Once Redis was dropped, the tidy-up failing late is expected, not an unhandled rejection.
        tidied.catch(() => undefined);
        const droppedRedis = await Promise.race([tidied, redisGone]);
        gaveUp.abort();
        if (droppedRedis) logger.warn('worker: Redis is unreachable; stopped without it (every outcome is written)');
        await writer.flush();
        if (ownProvider) await ownProvider.close();
        logger.info('worker stopped');
      })();
      return closed;
    },
  };
}

/** How long Redis must stay unreachable, once a closing worker's outcomes are written, before it stops without it. */
const REDIS_GONE_MS = 2_000;

/** Registers a batch in `set` until it settles; returns it unchanged. */
function tracked(set: Set<Promise<void>>, batch: Promise<void>): Promise<void> {
  set.add(batch);
  batch.then(
    () => set.delete(batch),
    () => set.delete(batch),
  );
  return batch;
}

/** Resolves once `redis` has not been ready for `goneMs` in a row; never while it is up (until `signal` aborts). */
async function whileRedisIsUp(redis: Container['redis'], goneMs: number, signal: AbortSignal): Promise<void> {
  let downSince: number | null = null;
  while (!signal.aborted) {
    if (redis.status === 'ready') downSince = null;
    else downSince ??= Date.now();
    if (downSince !== null && Date.now() - downSince >= goneMs) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** The group-commit outcome writer of a worker, wired to apply delivery reports that arrived before the outcome. */
export function createOutcomeWriter(container: Pick<Container, 'pg' | 'logger' | 'redis' | 'config'>): OutcomeWriter {
  return new OutcomeWriter(container.pg, {
    onError: (err) => container.logger.warn({ err }, 'outcome write failed; retrying'),
    // Delivery reports pushed before these session ids were committed are waiting for them.
    afterCommit: (rows) => applyParkedReports(container, sessionIdsOf(rows)),
  });
}

function sessionIdsOf(rows: readonly OutcomeRow[]): string[] {
  return [...new Set(rows.filter((r) => r.status === 'sent' && r.sessionId).map((r) => r.sessionId!))];
}
