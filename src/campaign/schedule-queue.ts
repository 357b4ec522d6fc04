/**
 * Redis side of campaign schedules. PostgreSQL (`campaigns.schedule_at/cron/timezone`) is the source of truth;
 * the BullMQ queue only holds what is derived from it, so it can be rebuilt at any time (`syncSchedules`):
 * - `--at`:   one delayed job `at-<campaignId>-<dueMs>` (the custom id makes re-adding idempotent);
 * - `--cron`: one job scheduler `cron-<campaignId>` (`upsertJobScheduler` is idempotent).
 */
import { Queue } from 'bullmq';
import type { Container } from '../container';
import { withTimeout } from '../lib/with-timeout';

export const SCHEDULE_QUEUE = 'campaign-schedule';

export type ScheduleTrigger = 'at' | 'cron';

/** Job data: ids and instants only (job data is stored in clear text in Redis). */
export interface ScheduleJobData {
  campaignId: string;
  trigger: ScheduleTrigger;
  /** Due instant (ms) for `at` jobs and deferred firings; cron jobs take theirs from BullMQ's `prevMillis`. */
  dueAt?: number;
}

export interface ScheduledCampaign {
  id: string;
  scheduleAt: Date | null;
  cron: string | null;
  timezone: string;
}

const JOB_OPTS = { removeOnComplete: true, removeOnFail: 1000 } as const;

export const atJobId = (campaignId: string, dueMs: number): string => `at-${campaignId}-${dueMs}`;
export const cronSchedulerId = (campaignId: string): string => `cron-${campaignId}`;
export const deferJobId = (campaignId: string, openMs: number): string => `defer-${campaignId}-${openMs}`;
export const missedJobId = (campaignId: string, dueMs: number): string => `missed-${campaignId}-${dueMs}`;

export function createScheduleQueue(deps: Pick<Container, 'config' | 'redis'>): Queue<ScheduleJobData> {
  return new Queue<ScheduleJobData>(SCHEDULE_QUEUE, { connection: deps.redis, prefix: deps.config.QUEUE_PREFIX });
}

/**
 * Lead time of `--at` jobs: the job fires this long before the due instant so the claim and the pre-start checks
 * (credits) are done by then, and the run itself starts at the instant (the processor sleeps until it).
 */
export const AT_LEAD_MS = 1500;

/** Puts one campaign's schedule into Redis (idempotent). */
export async function enqueueSchedule(queue: Queue<ScheduleJobData>, c: ScheduledCampaign, now: number, leadMs = AT_LEAD_MS): Promise<void> {
  if (c.cron) {
    await queue.upsertJobScheduler(
      cronSchedulerId(c.id),
      { pattern: c.cron, tz: c.timezone, ...(c.scheduleAt && c.scheduleAt.getTime() > now ? { startDate: c.scheduleAt } : {}) },
      { name: 'cron', data: { campaignId: c.id, trigger: 'cron' }, opts: JOB_OPTS },
    );
    return;
  }
  if (c.scheduleAt) {
    const due = c.scheduleAt.getTime();
    await queue.add(
      'at',
      { campaignId: c.id, trigger: 'at', dueAt: due },
      { ...JOB_OPTS, jobId: atJobId(c.id, due), delay: Math.max(0, due - leadMs - now) },
    );
  }
}

/** Defers a firing to `openMs` (the next promotional window); one job per campaign and opening. */
export async function enqueueDeferred(queue: Queue<ScheduleJobData>, data: ScheduleJobData, openMs: number, now: number): Promise<void> {
  await queue.add('deferred', data, { ...JOB_OPTS, jobId: deferJobId(data.campaignId, openMs), delay: Math.max(0, openMs - now) });
}

/** Fires a cron instant whose job Redis no longer holds (see syncSchedules); one job per campaign and instant. */
export async function enqueueMissed(queue: Queue<ScheduleJobData>, campaignId: string, dueMs: number): Promise<void> {
  await queue.add('missed', { campaignId, trigger: 'cron', dueAt: dueMs }, { ...JOB_OPTS, jobId: missedJobId(campaignId, dueMs) });
}

/**
 * Removes whatever Redis holds for a campaign's schedule (after cancel, or when it no longer exists): the cron
 * job scheduler (with its next delayed job), the `--at` job, and any firing deferred or waiting to be processed.
 */
export async function dequeueSchedule(queue: Queue<ScheduleJobData>, campaignId: string, scheduleAt: Date | null): Promise<void> {
  await queue.removeJobScheduler(cronSchedulerId(campaignId));
  if (scheduleAt) await queue.remove(atJobId(campaignId, scheduleAt.getTime())).catch(() => 0);
  // Firings deferred to a window opening (their id carries an instant unknown here) and any firing already due but
  // not yet picked up. One job or two per scheduled campaign, so the scan stays small; active jobs are left alone
  // (fire() finds the campaign cancelled).
  for (const job of await queue.getJobs(['delayed', 'waiting', 'prioritized'])) {
    if (job.data?.campaignId === campaignId) await job.remove().catch(() => undefined);
  }
}

/**
 * How long the one-shot helpers below wait for Redis. Their callers treat Redis as best effort (PostgreSQL holds
 * the schedule; workers rebuild Redis from it), but a BullMQ queue call never settles while Redis is unreachable:
 * `campaign create --cron` and `campaign cancel` hung for good after committing, and a script retrying the create
 * made a second campaign.
 */
export const ONE_SHOT_REDIS_TIMEOUT_MS = 5000;

/** A queue for one call: its errors reach the caller through the call (an 'error' event unheard is printed raw). */
async function withOneShotQueue(deps: Pick<Container, 'config' | 'redis'>, what: string, work: (queue: Queue<ScheduleJobData>) => Promise<void>): Promise<void> {
  const queue = createScheduleQueue(deps);
  queue.on('error', () => undefined);
  try {
    await withTimeout(work(queue), ONE_SHOT_REDIS_TIMEOUT_MS, what);
  } finally {
    await withTimeout(queue.close(), 1000, 'close the schedule queue').catch(() => undefined);
  }
}

/** One-shot helper for producers (campaign create, API): enqueue a campaign's schedule right away. */
export async function scheduleCampaign(deps: Pick<Container, 'config' | 'redis' | 'prisma'>, campaignId: string): Promise<void> {
  const c = await deps.prisma.campaign.findUniqueOrThrow({
    where: { id: campaignId },
    select: { id: true, scheduleAt: true, cron: true, timezone: true },
  });
  await withOneShotQueue(deps, 'queue the schedule in Redis', (queue) => enqueueSchedule(queue, c, Date.now()));
}

/** One-shot helper for cancel: remove a campaign's schedule from Redis (`scheduleAt` as stored in PostgreSQL). */
export async function unscheduleCampaign(deps: Pick<Container, 'config' | 'redis'>, campaignId: string, scheduleAt: Date | null): Promise<void> {
  await withOneShotQueue(deps, 'remove the schedule from Redis', (queue) => dequeueSchedule(queue, campaignId, scheduleAt));
}
