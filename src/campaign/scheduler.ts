/**
 * Campaign scheduler (runs inside `bulksms worker`). Fires `--at` and `--cron` schedules through BullMQ and
 * calls the injected `startRun` (the sending team's `startCampaign`) once per due instant.
 *
 * - Exactly once per due instant: the firing is claimed by inserting `schedule_firings (campaign_id, due_at)`;
 *   a second worker, or a job BullMQ re-runs after a stall, loses the insert and does nothing. A claim whose
 *   worker died before the run started (no outcome after `claimLeaseMs`, no run recording its due instant) is
 *   taken over by the next resync (an `--at` job re-added, a cron instant re-fired by a one-off job): a deploy
 *   in the seconds before an `--at` instant used to lose the run.
 * - Survives restarts and the loss of Redis: `syncSchedules()` rebuilds every delayed job and job scheduler from
 *   PostgreSQL at start, and again whenever the epoch marker in Redis disappears or changes (Redis flushed,
 *   failed over to an empty replica, restarted without persistence).
 *   A cron instant whose job went with Redis (or was replaced by a resync before a worker took it) and left no
 *   firing row is fired late by that resync (missedCronInstant).
 * - Promotional firings outside 09:00–21:00 IST wait for the next window (deferred, not claimed).
 */
import { randomUUID } from 'node:crypto';
import { Worker, type Job, type Queue } from 'bullmq';
import { CronExpressionParser } from 'cron-parser';
import type { Container } from '../container';
import { ALERT_IS_NOT_DLT } from '../delivery/apply-reports';
import { AppError, ConflictError, coerceError } from '../errors';
import {
  SCHEDULE_QUEUE,
  createScheduleQueue,
  cronSchedulerId,
  dequeueSchedule,
  enqueueDeferred,
  enqueueMissed,
  enqueueSchedule,
  type ScheduleJobData,
  type ScheduleTrigger,
} from './schedule-queue';
import { WINDOW_PAUSE_PREFIX, isWithinWindow, nextWindowOpen } from './send-window';
import { DEFAULT_TIMEZONE, formatWallClock } from './schedule-input';

export type StartRun = (campaignId: string, trigger: ScheduleTrigger, info: { dueAt: Date }) => Promise<unknown>;

export interface SchedulerOptions {
  /**
   * Starts a new run of the campaign (the sending team's startCampaign with `{trigger, dueAt}`). The run must record
   * `dueAt` (campaign_runs.due_at) in the transaction that creates it: that is how a firing whose start failed after
   * the commit (the answer lost) finds the run it did start.
   */
  startRun: StartRun;
  /**
   * Checks made before a run may start (e.g. checkCredits); throwing stops the run and alerts the campaign.
   * For `--at` it runs ahead of the instant (AT_LEAD_MS), so the run itself starts on time.
   */
  prepareRun?: StartRun;
  now?: () => Date;
  /** How often the Redis epoch marker is checked (ms). */
  epochCheckMs?: number;
  /**
   * Full resync from PostgreSQL at this interval (ms) as a safety net, e.g. for an `--at` campaign paused before
   * its instant and resumed after it, or a schedule created while Redis was unreachable.
   */
  resyncMs?: number;
  concurrency?: number;
  /**
   * A claimed firing with no outcome after this long (ms) was abandoned by a worker that stopped between the
   * claim and the start, and may be claimed again. Longer than a claim ever lasts: the pre-start checks (one
   * balance request, bounded by its timeout), the `--at` lead and the start itself. Default 2 minutes.
   */
  claimLeaseMs?: number;
}

export type FiringOutcome = 'started' | 'duplicate' | 'deferred' | 'skipped' | 'failed';

export interface SyncResult {
  at: number;
  cron: number;
  removed: number;
}

export interface CampaignScheduler {
  syncSchedules(): Promise<SyncResult>;
  /** Handles one due job (exposed for tests); the worker calls it. */
  fire(data: ScheduleJobData, dueMs: number): Promise<FiringOutcome>;
  /** Checks the epoch marker now; resyncs when Redis lost it. Returns true when it resynced. */
  checkEpoch(): Promise<boolean>;
  close(): Promise<void>;
}

type Deps = Pick<Container, 'config' | 'logger' | 'prisma' | 'redis' | 'newWorkerRedis'>;

const ACTIVE_CRON_SQL = `
  SELECT id, type::text AS type, schedule_at AS "scheduleAt", cron, timezone, created_at AS "createdAt",
         (SELECT max(f.due_at) FROM schedule_firings f WHERE f.campaign_id = c.id) AS "lastDueAt"
    FROM campaigns c WHERE cron IS NOT NULL AND status <> 'cancelled'`;

interface ActiveCron {
  id: string;
  type: string;
  scheduleAt: Date | null;
  cron: string;
  timezone: string;
  createdAt: Date;
  lastDueAt: Date | null;
}

/** A due instant's own job normally claims it within milliseconds; younger ones are not looked at (no race with it). */
const MISSED_SETTLE_MS = 10_000;

/**
 * The cron instant that should have fired last (at least MISSED_SETTLE_MS before `nowMs`) and left no firing row, or
 * null. Its job can be gone without having run: Redis lost it (flushed, failed over, down across the instant), or a
 * resync's upsertJobScheduler replaced it — BullMQ removes a scheduler's job still waiting and plans the first
 * instant after now, so a worker starting after an instant its fleet slept through dropped that run for good. Only
 * the latest instant (several missed ones make one late run, as a deferred firing does), never one before the
 * campaign existed or its start date.
 */
export function missedCronInstant(c: ActiveCron, nowMs: number): number | null {
  let due: number;
  try {
    due = CronExpressionParser.parse(c.cron, { tz: c.timezone, currentDate: new Date(nowMs - MISSED_SETTLE_MS + 1) }).prev().getTime();
  } catch {
    return null; // validated at create; an expression cron-parser refuses has no instant to catch up
  }
  if (c.lastDueAt && due <= c.lastDueAt.getTime()) return null;
  return due >= c.createdAt.getTime() && due >= (c.scheduleAt?.getTime() ?? 0) ? due : null;
}

/** `--at` campaigns still waiting for their instant (not claimed by a firing, or by one abandoned; $1 = lease ms). */
const PENDING_AT_SQL = `
  SELECT id, schedule_at AS "scheduleAt", cron, timezone FROM campaigns c
   WHERE c.cron IS NULL AND c.schedule_at IS NOT NULL AND c.status = 'scheduled'
     AND NOT EXISTS (SELECT 1 FROM schedule_firings f WHERE f.campaign_id = c.id AND f.due_at = c.schedule_at
                       AND (f.outcome IS NOT NULL OR f.fired_at >= now() - $1::int * interval '1 millisecond'))`;

/**
 * SQL: the firing `f` got its run started. That run records the firing's due instant (campaign_runs.due_at, written
 * in the start's own transaction), so it is found exactly: "any run created since the claim" took another firing's
 * run or an operator's manual start for this firing's, and the firing, never started, was never fired again nor
 * given an outcome. A run without a due instant of the firing's own trigger was started by code older than that link
 * (migration 20261128040000_run_firing_link), as nothing else starts one: created since the claim, it is taken for
 * the firing's, as before, rather than start the firing twice.
 */
const FIRING_STARTED_SQL = `EXISTS (SELECT 1 FROM campaign_runs r WHERE r.campaign_id = f.campaign_id
     AND (r.due_at = f.due_at OR (r.due_at IS NULL AND r.trigger = f.trigger AND r.created_at >= f.fired_at)))`;

/**
 * SQL: a later instant of the campaign has been fired since: fired now, this instant's run would come after that
 * one's, stale (the missed-instant resync likewise fires only the latest instant).
 */
const FIRING_SUPERSEDED_SQL = `EXISTS (SELECT 1 FROM schedule_firings later WHERE later.campaign_id = f.campaign_id AND later.due_at > f.due_at)`;

/** SQL: a claim left with no outcome past the lease ($1 ms) whose run was not started. */
const ABANDONED_CLAIM_SQL = `f.outcome IS NULL AND f.fired_at < now() - $1::int * interval '1 millisecond' AND NOT ${FIRING_STARTED_SQL}`;

/** Cron firings abandoned by their claimer, to fire again: not superseded by a later instant, campaign still scheduled. */
const ABANDONED_CRON_SQL = `
  SELECT f.campaign_id AS "campaignId", f.due_at AS "dueAt" FROM schedule_firings f JOIN campaigns c ON c.id = f.campaign_id
   WHERE f.trigger = 'cron' AND ${ABANDONED_CLAIM_SQL} AND NOT ${FIRING_SUPERSEDED_SQL}
     AND c.status <> 'cancelled' AND c.cron IS NOT NULL`;

/** Abandoned cron firings a later instant superseded: given their outcome (skipped) instead of a late, stale run. */
const SUPERSEDED_CRON_SQL = `
  UPDATE schedule_firings f SET outcome = 'skipped: its worker stopped before starting the run, and a later instant has been fired since'
   WHERE f.trigger = 'cron' AND ${ABANDONED_CLAIM_SQL} AND ${FIRING_SUPERSEDED_SQL}
  RETURNING f.campaign_id AS "campaignId", f.due_at AS "dueAt"`;

const DEFAULT_CLAIM_LEASE_MS = 120_000;

/** Real-time wait (not the injectable clock): the run must start at the real instant. */
async function sleepUntilWallClock(ms: number): Promise<void> {
  for (let d = ms - Date.now(); d > 0; d = ms - Date.now()) await new Promise((r) => setTimeout(r, Math.min(d, 60_000)));
}

export async function startScheduler(deps: Deps, opts: SchedulerOptions): Promise<CampaignScheduler> {
  const now = opts.now ?? ((): Date => new Date());
  const log = deps.logger.child({ component: 'scheduler' });
  const leaseMs = opts.claimLeaseMs ?? DEFAULT_CLAIM_LEASE_MS;
  const queue: Queue<ScheduleJobData> = createScheduleQueue(deps);
  queue.on('error', (err) => log.warn({ err }, 'schedule queue error'));
  const epochKey = `${deps.config.QUEUE_PREFIX}:${SCHEDULE_QUEUE}:epoch`;
  let epoch: string | null = null;

  async function syncSchedules(): Promise<SyncResult> {
    const t = now().getTime();
    const cron = await deps.prisma.$queryRawUnsafe<ActiveCron[]>(ACTIVE_CRON_SQL);
    const at = await deps.prisma.$queryRawUnsafe<Array<{ id: string; scheduleAt: Date; cron: null; timezone: string }>>(PENDING_AT_SQL, leaseMs);
    for (const c of [...cron, ...at]) {
      await enqueueSchedule(queue, c, t).catch((err: unknown) => log.error({ err, campaignId: c.id }, 'could not schedule campaign'));
    }
    // Cron instants due with no firing: fired now, late, by a one-off job (the claim keeps it to one run when the
    // scheduler's own job for it still fires too).
    for (const c of cron) {
      const missed = missedCronInstant(c, t);
      if (missed === null) continue;
      const failed = (err: unknown): void => log.error({ err, campaignId: c.id }, 'could not fire a missed cron instant');
      if (c.type === 'promotional' && !isWithinWindow(new Date(missed))) {
        // Its firing waits for the window (fire() defers it there): (re)add that deferred job, the same one fire()
        // adds, so one still waiting is left as it is, not re-judged at every resync of the night.
        const open = nextWindowOpen(new Date(missed)).getTime();
        await enqueueDeferred(queue, { campaignId: c.id, trigger: 'cron', dueAt: open }, open, t).catch(failed);
        continue;
      }
      log.warn({ campaignId: c.id, dueAt: new Date(missed).toISOString() }, 'cron instant passed without a firing (its job was lost): fired now');
      await enqueueMissed(queue, c.id, missed).catch(failed);
    }
    // A cron instant's job is gone once fired; an abandoned firing of it is fired again by a one-off job.
    const superseded = await deps.prisma.$queryRawUnsafe<Array<{ campaignId: string; dueAt: Date }>>(SUPERSEDED_CRON_SQL, leaseMs);
    for (const f of superseded) {
      log.warn({ campaignId: f.campaignId, dueAt: f.dueAt.toISOString() }, 'abandoned cron firing superseded by a later instant: skipped');
    }
    const abandoned = await deps.prisma.$queryRawUnsafe<Array<{ campaignId: string; dueAt: Date }>>(ABANDONED_CRON_SQL, leaseMs);
    for (const f of abandoned) {
      const dueMs = f.dueAt.getTime();
      await enqueueDeferred(queue, { campaignId: f.campaignId, trigger: 'cron', dueAt: dueMs }, dueMs, t).catch((err: unknown) =>
        log.error({ err, campaignId: f.campaignId }, 'could not re-fire an abandoned cron firing'),
      );
    }
    // Schedulers whose campaign was cancelled or deleted while this worker was away.
    const wanted = new Set(cron.map((c) => cronSchedulerId(c.id)));
    let removed = 0;
    for (const s of await queue.getJobSchedulers(0, -1)) {
      if (s.key && !wanted.has(s.key)) removed += Number(await queue.removeJobScheduler(s.key));
    }
    log.debug({ at: at.length, cron: cron.length, removed }, 'schedules synced from PostgreSQL');
    return { at: at.length, cron: cron.length, removed };
  }

  /**
   * Claims the firing: a new row, or an abandoned claim (no outcome after the lease) whose worker got no run
   * started — its run found (FIRING_STARTED_SQL), the start happened and only its outcome was not recorded — and that
   * no later instant has superseded (a stalled job of it re-run after the next firing).
   */
  async function claim(campaignId: string, dueMs: number, trigger: ScheduleTrigger, clog: typeof log): Promise<boolean> {
    const rows = await deps.prisma.$queryRawUnsafe<Array<{ reclaimed: boolean }>>(
      `INSERT INTO schedule_firings AS f (campaign_id, due_at, trigger) VALUES ($2::uuid, $3, $4)
       ON CONFLICT (campaign_id, due_at) DO UPDATE SET fired_at = now()
        WHERE ${ABANDONED_CLAIM_SQL} AND NOT ${FIRING_SUPERSEDED_SQL}
       RETURNING (f.xmax <> 0) AS reclaimed`,
      leaseMs,
      campaignId,
      new Date(dueMs),
      trigger,
    );
    if (rows[0]?.reclaimed) clog.warn('firing claimed by a worker that stopped before starting the run: taken over');
    return rows.length === 1;
  }

  async function record(campaignId: string, dueMs: number, outcome: string): Promise<void> {
    await deps.prisma.scheduleFiring.update({ where: { campaignId_dueAt: { campaignId, dueAt: new Date(dueMs) } }, data: { outcome } });
  }

  /** Tells the campaign's viewers (API, dashboard) what a firing could not do; a DLT-CNT-REJECT alert stays. */
  async function alertCampaign(campaignId: string, alert: string): Promise<void> {
    await deps.prisma.$executeRawUnsafe(
      `UPDATE campaigns SET alert = $1, updated_at = now() WHERE id = $2::uuid AND ${ALERT_IS_NOT_DLT}`,
      alert,
      campaignId,
    );
  }

  /**
   * Whether a conflict the start met is explained by the campaign no longer waiting for this firing (cancelled,
   * started or paused meanwhile). One that is not — the campaign still waits, e.g. its list is being re-imported —
   * is alerted like any other failure: taken for a skip, an `--at` campaign stayed `scheduled` for good with nothing
   * but a log line to say why.
   */
  async function movedOn(campaignId: string, trigger: ScheduleTrigger): Promise<{ status: string; pauseReason: string | null } | false> {
    const row = await deps.prisma.campaign.findUnique({ where: { id: campaignId }, select: { status: true, pauseReason: true } });
    if (!row) return { status: 'deleted', pauseReason: null };
    const waiting = row.status === 'scheduled' || (trigger === 'cron' && (row.status === 'completed' || row.status === 'failed'));
    return waiting ? false : row;
  }

  /**
   * One cron run at a time: a firing that finds the previous run going (or the campaign paused) starts nothing. Paused
   * is the operator's (or the engine's, with its reason) choice; a run still sending when the next is due is a
   * schedule too tight for the list, which only the log said. So is a run the TRAI window paused at 21:00 with
   * messages left: nobody chose that pause, and the firing it costs (at 09:00, say) went unmentioned.
   */
  async function skipUnfinished(campaignId: string, dueMs: number, dueText: string, campaign: { status: string; pauseReason: string | null }, clog: typeof log): Promise<'skipped'> {
    await record(campaignId, dueMs, `skipped: campaign is ${campaign.status}`);
    if (campaign.status === 'running') {
      await alertCampaign(campaignId, `cron run due ${dueText} skipped: the previous run was still sending`);
    } else if (campaign.pauseReason?.startsWith(WINDOW_PAUSE_PREFIX)) {
      await alertCampaign(campaignId, `cron run due ${dueText} skipped: the previous run, paused by the TRAI window, had not finished`);
    }
    clog.warn({ status: campaign.status }, 'cron firing skipped: previous run not finished');
    return 'skipped';
  }

  async function fire(data: ScheduleJobData, dueMs: number): Promise<FiringOutcome> {
    const { campaignId, trigger } = data;
    const clog = log.child({ campaignId, trigger, dueAt: new Date(dueMs).toISOString() });
    const campaign = await deps.prisma.campaign.findUnique({ where: { id: campaignId }, select: { status: true, type: true, scheduleAt: true, timezone: true, pauseReason: true } });
    // Alerts are read by operators (dashboard, API): the due instant in the campaign's own zone, as they scheduled it.
    const dueText = formatWallClock(new Date(dueMs), campaign?.timezone ?? DEFAULT_TIMEZONE);
    if (!campaign || campaign.status === 'cancelled') {
      await dequeueSchedule(queue, campaignId, campaign?.scheduleAt ?? null);
      clog.info('schedule of a cancelled or deleted campaign removed');
      return 'skipped';
    }
    if (trigger === 'at' && campaign.status !== 'scheduled') {
      clog.info({ status: campaign.status }, 'campaign already started or finished: --at firing skipped');
      return 'skipped';
    }
    const at = now();
    // `--at` jobs fire a little early: judge the window at the instant the run will start.
    if (campaign.type === 'promotional' && !isWithinWindow(new Date(Math.max(at.getTime(), dueMs)))) {
      const open = nextWindowOpen(at).getTime();
      // A deferred cron firing is due at the opening itself, so several missed firings collapse into one run.
      const deferred: ScheduleJobData = { campaignId, trigger, dueAt: trigger === 'cron' ? open : dueMs };
      await enqueueDeferred(queue, deferred, open, at.getTime());
      clog.info({ opensAt: new Date(open).toISOString() }, 'promotional run waits for the TRAI window (09:00–21:00 IST)');
      return 'deferred';
    }
    if (!(await claim(campaignId, dueMs, trigger, clog))) {
      clog.info('due run already started by another worker');
      return 'duplicate';
    }
    if (trigger === 'cron' && (campaign.status === 'running' || campaign.status === 'paused')) {
      return skipUnfinished(campaignId, dueMs, dueText, campaign, clog);
    }
    try {
      await opts.prepareRun?.(campaignId, trigger, { dueAt: new Date(dueMs) });
      await sleepUntilWallClock(dueMs);
      await opts.startRun(campaignId, trigger, { dueAt: new Date(dueMs) });
    } catch (raw) {
      const err = coerceError(raw);
      if (await runOfFiringExists(campaignId, dueMs)) {
        // PostgreSQL committed the run and its answer was lost (a connection cut, a failover, a timeout after the
        // commit), or the start of this very firing was already made: the run is sending. Recorded `failed` with a
        // "did not start" alert, the operator was told the opposite of what happened.
        clog.warn({ err: err instanceof AppError ? err.message : err }, 'the start failed after creating its run: recorded started');
        return recordStarted(campaignId, dueMs, clog);
      }
      const moved = err instanceof ConflictError ? await movedOn(campaignId, trigger) : false;
      if (moved && trigger === 'cron' && (moved.status === 'running' || moved.status === 'paused')) {
        // Running again since the check above (a retry of the last run, another firing) or paused meanwhile: the same
        // skip, said the same way — the start refuses a firing rather than hand it the run under way.
        return skipUnfinished(campaignId, dueMs, dueText, moved, clog);
      }
      if (moved) {
        // e.g. cancelled, or started by hand, since the check above: not an operator problem, just no new run this time.
        await record(campaignId, dueMs, `skipped: ${err.message}`);
        clog.warn({ reason: err.message }, 'scheduled run skipped');
        return 'skipped';
      }
      // Our own errors (credits, a list gone, the provider's balance unreadable) are written for the campaign's viewers;
      // anything else (a PostgreSQL or programming error) can quote SQL, paths or data, so they get the log's pointer.
      const why = err instanceof AppError ? err.message : 'an internal error (see the worker log)';
      await record(campaignId, dueMs, `failed: ${why}`);
      await alertCampaign(campaignId, `scheduled run due ${dueText} did not start: ${why}`);
      clog.error({ err: err instanceof AppError ? err.message : err }, 'scheduled run did not start');
      return 'failed';
    }
    // Outside the try: the run is started, so failing to note it (a PostgreSQL blip) must not record it as `failed`
    // and alert "did not start" about a run that is sending. The job fails and its retry finds the claim taken.
    return recordStarted(campaignId, dueMs, clog);
  }

  async function recordStarted(campaignId: string, dueMs: number, clog: typeof log): Promise<'started'> {
    await record(campaignId, dueMs, 'started');
    clog.info({ lateMs: now().getTime() - dueMs }, 'scheduled run started');
    return 'started';
  }

  /** Whether the firing's run exists: a run records the due instant of the firing that started it (startRun). */
  async function runOfFiringExists(campaignId: string, dueMs: number): Promise<boolean> {
    const run = await deps.prisma.campaignRun.findUnique({ where: { campaignId_dueAt: { campaignId, dueAt: new Date(dueMs) } }, select: { id: true } });
    return run !== null;
  }

  async function checkEpoch(): Promise<boolean> {
    const current = await deps.redis.get(epochKey);
    if (current !== null && current === epoch) return false;
    if (current === null) await deps.redis.set(epochKey, randomUUID(), 'NX');
    const adopted = await deps.redis.get(epochKey);
    if (epoch !== null) log.warn({ previous: epoch, current: adopted }, 'Redis epoch changed: rebuilding schedules from PostgreSQL');
    epoch = adopted;
    const synced = await syncSchedules();
    log.info(synced, 'schedules rebuilt from PostgreSQL');
    return true;
  }

  const worker = new Worker<ScheduleJobData>(
    SCHEDULE_QUEUE,
    async (job: Job<ScheduleJobData>) => {
      const dueMs = job.data.dueAt ?? job.opts.prevMillis ?? job.timestamp;
      return fire(job.data, dueMs);
    },
    { connection: deps.newWorkerRedis(), prefix: deps.config.QUEUE_PREFIX, concurrency: opts.concurrency ?? 4 },
  );
  worker.on('error', (err) => log.warn({ err }, 'schedule worker error'));
  worker.on('failed', (job, err) => log.error({ err, jobId: job?.id }, 'schedule job failed'));

  await checkEpoch();
  const timer = setInterval(() => {
    checkEpoch().catch((err: unknown) => log.warn({ err }, 'epoch check failed'));
  }, opts.epochCheckMs ?? 5000);
  timer.unref();
  const resync = setInterval(() => {
    syncSchedules().catch((err: unknown) => log.warn({ err }, 'periodic schedule sync failed'));
  }, opts.resyncMs ?? 60_000);
  resync.unref();

  return {
    syncSchedules,
    fire,
    checkEpoch,
    async close() {
      clearInterval(timer);
      clearInterval(resync);
      await worker.close();
      await queue.close();
    },
  };
}
