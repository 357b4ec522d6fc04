/**
 * Campaign lifecycle for operators (CLI, API) and for the engine itself (account-fatal pauses). Every change
 * is one PostgreSQL transaction, then announced on Redis pub/sub so workers react within ~250 ms; workers also
 * poll PostgreSQL, and the claim statement re-checks the campaign status, so a lost announcement is harmless.
 */
import type { Pool, PoolClient } from 'pg';
import type { Container } from '../container';
import { ConflictError, NotFoundError, ValidationError } from '../errors';
import { runNotBeingArchived } from '../db/advisory-locks';
import { executeOn, inTransaction, type BeforeCommit } from '../db/transaction';
import { unscheduleCampaign } from '../campaign/schedule-queue';
import { WINDOW_PAUSE_PREFIX } from '../campaign/send-window';
import { windowPauseReason } from '../campaign/window-watcher';
import { inCampaignRuns, refreshRunCounters } from './ledger';
import { materialiseMessages, type CampaignRow } from './materialise';
import { sendingKeys } from './keys';

export type ControlDeps = Pick<Container, 'pg' | 'redis' | 'config'>;

export const MESSAGE_STATUSES = ['pending', 'queued', 'sending', 'sent', 'delivered', 'failed', 'unknown', 'suppressed', 'cancelled'] as const;
export type MessageCounts = Record<(typeof MESSAGE_STATUSES)[number], number>;

const RUN_OF_CAMPAIGN = inCampaignRuns('$1');
export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const isWindowPause = (reason: string | null): boolean => reason?.startsWith(WINDOW_PAUSE_PREFIX) ?? false;

/**
 * A control change's transaction, run again if PostgreSQL picks it as a deadlock victim. It locks the campaign and
 * then message rows; the outcome writer locks message rows and then (FOR SHARE) their campaign, and PostgreSQL
 * aborts one of two that cross. The writer retries its batch; an operator's retry, pause or cancel failed with
 * "deadlock detected" instead of simply happening a moment later.
 */
function controlTransaction<T>(pg: Pool, fn: (c: PoolClient) => Promise<T>): Promise<T> {
  return inTransaction(pg, fn, { retryAborted: 3 });
}

function assertCampaignId(campaignId: string): void {
  if (!UUID.test(campaignId)) throw new ValidationError(`campaign id "${campaignId}" is not a UUID`, 'campaignId');
}

/**
 * What a start of a finished campaign can be replaced by: a campaign runs once, and an operator who wanted to send
 * it again was told only that it "cannot be started".
 */
const AFTER_THE_END: Readonly<Record<string, string>> = {
  completed: ': a campaign runs once; a retry re-sends its failures, a new campaign sends to the list again',
  failed: ': a campaign runs once; a retry re-sends its failures, a new campaign sends to the list again',
  cancelled: ': a new campaign sends to the list again',
};

/** Statuses a start materialises a new run from (a cron firing may also start a completed campaign). */
export const STARTABLE_STATUSES: ReadonlySet<string> = new Set(['draft', 'scheduled']);

/** The campaign's current status (no lock): ValidationError for a malformed id, NotFoundError for an unknown one. */
export async function readCampaignStatus(deps: Pick<ControlDeps, 'pg'>, campaignId: string): Promise<string> {
  assertCampaignId(campaignId);
  const { rows } = await deps.pg.query<{ status: string }>(`SELECT status::text AS status FROM campaigns WHERE id = $1`, [campaignId]);
  if (!rows[0]) throw new NotFoundError(`campaign ${campaignId} not found`);
  return rows[0].status;
}

type LockedCampaign = CampaignRow & { pause_reason: string | null; cron: string | null; schedule_at: Date | null };

async function lockCampaign(c: PoolClient, campaignId: string): Promise<LockedCampaign> {
  assertCampaignId(campaignId);
  const { rows } = await c.query<LockedCampaign>(
    `SELECT id, status::text AS status, type::text AS type, list_id, text, template_name, template_vars, pause_reason,
            cron, schedule_at
       FROM campaigns WHERE id = $1 FOR UPDATE`,
    [campaignId],
  );
  if (!rows[0]) throw new NotFoundError(`campaign ${campaignId} not found`);
  return rows[0];
}

async function announce(deps: ControlDeps, campaignId: string, status: string): Promise<void> {
  // Best effort: workers poll PostgreSQL anyway.
  await deps.redis.publish(sendingKeys(deps.config.QUEUE_PREFIX).control, JSON.stringify({ campaignId, status })).catch(() => undefined);
}

/**
 * Materialises a new run and sets the campaign running. A promotional run outside the TRAI window (09:00–21:00
 * Asia/Kolkata) is materialised but starts paused with the window as its reason; the window watcher resumes it.
 * The balance check is the caller's: the scheduler's prepareRun (checkCredits) and, for manual starts (CLI, API,
 * `send`), startCampaignManually in manual-start.ts, which honours `force`.
 */
export async function startCampaign(
  deps: ControlDeps,
  campaignId: string,
  opts: {
    trigger?: 'manual' | 'at' | 'cron';
    force?: boolean;
    now?: Date;
    /**
     * The due instant of the schedule firing starting this run, recorded on the run in the same transaction (one run
     * per firing): a firing whose start lost its answer after the commit finds its run by it (scheduler.ts).
     */
    dueAt?: Date;
  } = {},
): Promise<{ campaignId: string; runId: string; status: string }> {
  const trigger = opts.trigger ?? 'manual';
  const result = await controlTransaction(deps.pg, async (c) => {
    const campaign = await lockCampaign(c, campaignId);
    if (campaign.status === 'running' || campaign.status === 'paused') {
      // A schedule's firing starts a run of its own or none. Its caller read the campaign waiting, then checked the
      // credits (a provider request); a retry or another firing that set it running meanwhile got this firing answered
      // with the run under way, recorded `started`: that instant's run never happened, and nothing said so.
      if (trigger !== 'manual') throw new ConflictError(`campaign ${campaignId} is ${campaign.status}: a scheduled firing starts a run only when none is under way`);
      // Idempotent for operators: starting a started campaign returns its current run.
      const { rows } = await c.query<{ id: string }>(
        `SELECT id FROM campaign_runs WHERE campaign_id = $1 ORDER BY run_number DESC LIMIT 1`,
        [campaignId],
      );
      if (rows[0]) return { campaignId, runId: rows[0].id, status: campaign.status };
    }
    // A cron campaign's next firing starts whatever its last run ended as.
    const startable = STARTABLE_STATUSES.has(campaign.status) || (trigger === 'cron' && (campaign.status === 'completed' || campaign.status === 'failed'));
    if (!startable) throw new ConflictError(`campaign ${campaignId} is ${campaign.status} and cannot be started${AFTER_THE_END[campaign.status] ?? ''}`);
    const list = await c.query<{ status: string }>(`SELECT status::text AS status FROM contact_lists WHERE id = $1`, [campaign.list_id]);
    if (list.rows[0]?.status !== 'ready') throw new ConflictError(`the campaign's contact list is not ready (${list.rows[0]?.status ?? 'missing'})`);
    const pauseReason = windowPauseReason(campaign.type, opts.now ?? new Date());
    const status = pauseReason ? 'paused' : 'running';
    const run = await c.query<{ id: string }>(
      `INSERT INTO campaign_runs (campaign_id, run_number, trigger, status, pause_reason, started_at, due_at)
       SELECT $1, COALESCE(MAX(run_number), 0) + 1, $2, $3::"RunStatus", $4, now(), $5 FROM campaign_runs WHERE campaign_id = $1
       RETURNING id`,
      [campaignId, trigger, status, pauseReason, opts.dueAt ?? null],
    );
    const runId = run.rows[0]!.id;
    await materialiseMessages(c, campaign, runId);
    await c.query(
      `UPDATE campaigns SET status = $2::"CampaignStatus", pause_reason = $3, started_at = COALESCE(started_at, now()), completed_at = NULL,
              updated_at = now() WHERE id = $1`,
      [campaignId, status, pauseReason],
    );
    return { campaignId, runId, status };
  });
  await refreshRunCounters(deps.pg, [result.runId]);
  await announce(deps, campaignId, result.status);
  return result;
}

/**
 * A cron campaign between two runs: its last run left it completed (or failed) while its schedule goes on firing.
 * It can still be paused (to hold the next runs; a resume sends it back to waiting for its schedule) and cancelled
 * (which ends the schedule), unlike a campaign that is finished for good.
 */
function betweenCronRuns(campaign: LockedCampaign): boolean {
  return (campaign.status === 'completed' || campaign.status === 'failed') && campaign.cron !== null;
}

/**
 * A pausing campaign's running runs pause with it (same reason), and its queued messages go back to the feeder: their
 * jobs would find the campaign paused and skip them. Inside the caller's control transaction.
 */
async function pauseRunningRuns(c: PoolClient, campaignId: string, reason: string): Promise<void> {
  await c.query(`UPDATE campaign_runs SET status = 'paused', pause_reason = $2 WHERE campaign_id = $1 AND status = 'running'`, [campaignId, reason]);
  await c.query(`UPDATE messages SET status = 'pending', queued_at = NULL, updated_at = now() WHERE ${RUN_OF_CAMPAIGN} AND status = 'queued'`, [campaignId]);
}

/**
 * Stops claiming at once, fleet-wide; requests in flight finish and are recorded. Idempotent. A scheduled campaign
 * (or a cron one between runs) paused is skipped by its firings until resumed.
 */
export async function pauseCampaign(deps: ControlDeps, campaignId: string, reason: string): Promise<{ campaignId: string; status: string }> {
  const status = await controlTransaction(deps.pg, async (c) => {
    const campaign = await lockCampaign(c, campaignId);
    if (campaign.status === 'paused') {
      // Paused only by the TRAI window, which would resume it at 09:00: an operator's (or the engine's) pause now
      // takes its place, so the campaign stays paused until resumed by hand. Otherwise the first reason stands.
      if (!isWindowPause(reason)) {
        await c.query(
          `UPDATE campaigns SET pause_reason = $2, updated_at = now() WHERE id = $1 AND pause_reason LIKE $3 || '%'`,
          [campaignId, reason, WINDOW_PAUSE_PREFIX],
        );
        await c.query(
          `UPDATE campaign_runs SET pause_reason = $2 WHERE campaign_id = $1 AND status = 'paused' AND pause_reason LIKE $3 || '%'`,
          [campaignId, reason, WINDOW_PAUSE_PREFIX],
        );
      }
      return 'paused';
    }
    if (campaign.status !== 'running' && campaign.status !== 'scheduled' && !betweenCronRuns(campaign)) {
      throw new ConflictError(`campaign ${campaignId} is ${campaign.status} and cannot be paused`);
    }
    await c.query(`UPDATE campaigns SET status = 'paused', pause_reason = $2, updated_at = now() WHERE id = $1`, [campaignId, reason]);
    await pauseRunningRuns(c, campaignId, reason);
    return 'paused';
  });
  await announce(deps, campaignId, status);
  return { campaignId, status };
}

/**
 * Resumes a paused campaign. A promotional one resumed outside the TRAI window stays paused, its reason now the
 * window's, so it sends from 09:00 IST (it used to send until the window watcher's next tick paused it again).
 * `onlyIfWindowPause` (the window watcher's 09:00 resume): resume only a campaign the window paused — checked under
 * the lock, so an operator's pause made meanwhile is never undone.
 */
export async function resumeCampaign(
  deps: ControlDeps,
  campaignId: string,
  opts: { onlyIfWindowPause?: boolean; now?: Date } = {},
): Promise<{ campaignId: string; status: string }> {
  const status = await controlTransaction(deps.pg, async (c) => {
    const campaign = await lockCampaign(c, campaignId);
    if (campaign.status === 'running') return 'running';
    if (campaign.status !== 'paused') throw new ConflictError(`campaign ${campaignId} is ${campaign.status} and cannot be resumed`);
    if (opts.onlyIfWindowPause && !isWindowPause(campaign.pause_reason)) return 'paused';
    const pausedRuns = await c.query(`SELECT 1 FROM campaign_runs WHERE campaign_id = $1 AND status = 'paused' LIMIT 1`, [campaignId]);
    // Only a run waits for the window. A campaign with none paused (scheduled, or a cron one between runs) goes back to
    // its schedule, whose firings wait for the window themselves: kept `paused` until 09:00 instead, the firing due
    // then (or deferred to then) found it paused and was skipped for good if it ran before the watcher's resume.
    const windowReason = pausedRuns.rowCount ? windowPauseReason(campaign.type, opts.now ?? new Date()) : null;
    if (windowReason) {
      await c.query(`UPDATE campaign_runs SET pause_reason = $2 WHERE campaign_id = $1 AND status = 'paused'`, [campaignId, windowReason]);
      await c.query(`UPDATE campaigns SET pause_reason = $2, updated_at = now() WHERE id = $1`, [campaignId, windowReason]);
      return 'paused';
    }
    const runs = await c.query(`UPDATE campaign_runs SET status = 'running', pause_reason = NULL WHERE campaign_id = $1 AND status = 'paused'`, [campaignId]);
    // A campaign paused before its first run (scheduled) goes back to waiting for its schedule.
    const next = runs.rowCount ? 'running' : 'scheduled';
    await c.query(`UPDATE campaigns SET status = $2::"CampaignStatus", pause_reason = NULL, updated_at = now() WHERE id = $1`, [campaignId, next]);
    return next;
  });
  await announce(deps, campaignId, status);
  return { campaignId, status };
}

/**
 * Everything not yet sent (pending, queued) becomes cancelled; requests in flight finish and are recorded. An
 * `--at`/`--cron` schedule is removed from Redis at once (the scheduler would also drop it when it fires or
 * resyncs, and a firing already under way finds the campaign cancelled and starts nothing).
 */
export async function cancelCampaign(deps: ControlDeps, campaignId: string): Promise<{ campaignId: string; status: string }> {
  const cancelled = await controlTransaction(deps.pg, async (c) => {
    const campaign = await lockCampaign(c, campaignId);
    // Cancelling again answers the state and changes nothing: it rewrote the time the campaign ended (completed_at)
    // and announced the cancel once more.
    if (campaign.status === 'cancelled') return null;
    // A finished campaign has nothing left to cancel — unless it has a cron schedule: between firings its last run
    // left it completed (or failed), and cancelling is how its schedule ends (it was refused, so it fired for good).
    if ((campaign.status === 'completed' || campaign.status === 'failed') && !betweenCronRuns(campaign)) {
      throw new ConflictError(`campaign ${campaignId} is ${campaign.status} and cannot be cancelled`);
    }
    await c.query(`UPDATE campaigns SET status = 'cancelled', updated_at = now(), completed_at = now() WHERE id = $1`, [campaignId]);
    await c.query(
      `UPDATE messages SET status = 'cancelled', failure_reason = 'campaign cancelled', updated_at = now()
        WHERE ${RUN_OF_CAMPAIGN} AND status IN ('pending', 'queued')`,
      [campaignId],
    );
    const runs = await c.query<{ id: string }>(
      `UPDATE campaign_runs SET status = 'cancelled', completed_at = now() WHERE campaign_id = $1 AND status IN ('pending', 'running', 'paused') RETURNING id`,
      [campaignId],
    );
    const { schedule_at: at, cron } = campaign;
    return { runIds: runs.rows.map((r) => r.id), scheduleAt: at, scheduled: at !== null || cron !== null };
  });
  if (cancelled === null) return { campaignId, status: 'cancelled' };
  const { runIds, scheduleAt, scheduled } = cancelled;
  await refreshRunCounters(deps.pg, runIds);
  // Best effort, like the announcement: the cancel is committed, and should Redis not answer now, the scheduler drops
  // the schedule when it fires (it re-checks the status) or resyncs from PostgreSQL.
  if (scheduled) await unscheduleCampaign(deps, campaignId, scheduleAt).catch(() => undefined);
  await announce(deps, campaignId, 'cancelled');
  return { campaignId, status: 'cancelled' };
}

export interface RetryResult {
  campaignId: string;
  requeued: number;
  /** The campaign's status after the retry (`paused` for a promotional retry outside the TRAI window). */
  status: string;
  /** Runs left out because an archive is exporting them right now. */
  archiving: number;
  /**
   * What the retry left as it was, in the runs it covered: `failed` ones a retry never sends again (refused for their
   * recipient, failed by a delivery report, a missing variable) and `unknown` ones (maybe sent) without includeUnknown.
   * "re-queued 0" beside "failed 150" read as if the retry had not worked; the CLI said why, the API and page did not.
   */
  notRetried: { failed: number; unknown: number };
}

/**
 * Re-queues failures that were certainly not sent (outcome class retryable) and, when asked, `unknown` ones, of
 * every run of the campaign or, with `runId`, of that run only (the one a cron campaign's page shows).
 * Idempotent: a second call finds them pending/sent already. Attempts are kept, so they stay visible.
 */
export async function retryCampaign(
  deps: ControlDeps,
  campaignId: string,
  opts: { includeUnknown?: boolean; runId?: string; now?: Date; beforeCommit?: BeforeCommit<RetryResult> } = {},
): Promise<RetryResult> {
  const { requeued, status, archiving, notRetried } = await controlTransaction(deps.pg, async (c) => {
    const campaign = await lockCampaign(c, campaignId);
    if (campaign.status === 'cancelled' || campaign.status === 'draft') {
      throw new ConflictError(`campaign ${campaignId} is ${campaign.status}: nothing to retry`);
    }
    // The runs retried: every run of the campaign, or the one asked for (which must be this campaign's).
    const runs = (runParam: string): string => `campaign_id = $1 AND (${runParam}::uuid IS NULL OR id = ${runParam}::uuid)`;
    const res = await c.query<{ run_id: string }>(
      `UPDATE messages SET status = 'pending', next_attempt_at = NULL, sending_at = NULL, updated_at = now()
        WHERE run_id IN (SELECT id FROM campaign_runs WHERE ${runs('$3')} AND ${runNotBeingArchived('id')})
          AND ((status = 'failed' AND outcome_class = 'retryable') OR ($2::boolean AND status = 'unknown'))
      RETURNING run_id`,
      [campaignId, opts.includeUnknown === true, opts.runId ?? null],
    );
    const runIds = [...new Set(res.rows.map((r) => r.run_id))];
    // Runs an archive is exporting and deleting right now were left out (their rows are in its file): say how many,
    // rather than a silent `requeued` that misses them. (Free runs' shared locks are already held: they pass.)
    const busy = await c.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM campaign_runs WHERE ${runs('$2')} AND NOT ${runNotBeingArchived('id')}`,
      [campaignId, opts.runId ?? null],
    );
    let next = campaign.status;
    if (runIds.length) {
      const paused = campaign.status === 'paused';
      // Outside the TRAI window a promotional campaign's retry waits for 09:00 IST, like a start or a resume.
      const windowReason = paused ? null : windowPauseReason(campaign.type, opts.now ?? new Date());
      // The retried runs take the campaign's reason (a paused one's own, or the window's), so the watcher's or an
      // operator's resume treats them like its other paused runs; a running run keeps no stale reason.
      const runReason = paused ? campaign.pause_reason : windowReason;
      await c.query(
        `UPDATE campaign_runs SET status = $2::"RunStatus", completed_at = NULL, pause_reason = $3 WHERE id = ANY($1::uuid[])`,
        [runIds, paused || windowReason ? 'paused' : 'running', runReason],
      );
      if (!paused) {
        next = windowReason ? 'paused' : 'running';
        await c.query(
          `UPDATE campaigns SET status = $2::"CampaignStatus", pause_reason = $3, completed_at = NULL, updated_at = now() WHERE id = $1`,
          [campaignId, next, windowReason],
        );
        if (windowReason) {
          // The campaign pauses as a whole, as pauseCampaign does: another run still `running` (a cron campaign's
          // latest, not yet paused by the watcher) stayed running under the paused campaign, and an operator's pause
          // then found the campaign paused and left that run running.
          await pauseRunningRuns(c, campaignId, windowReason);
        }
      }
    }
    const left = await c.query<{ failed: number; unknown: number }>(
      `SELECT count(*) FILTER (WHERE status = 'failed')::int AS failed, count(*) FILTER (WHERE status = 'unknown')::int AS unknown
         FROM messages WHERE run_id IN (SELECT id FROM campaign_runs WHERE ${runs('$2')} AND ${runNotBeingArchived('id')})
          AND status IN ('failed', 'unknown')`,
      [campaignId, opts.runId ?? null],
    );
    const answer: RetryResult = { campaignId, requeued: res.rowCount ?? 0, status: next, archiving: busy.rows[0]!.n, notRetried: left.rows[0]! };
    await opts.beforeCommit?.(executeOn(c), answer);
    return answer;
  });
  if (requeued) await announce(deps, campaignId, status);
  // The campaign's status after the retry: a promotional retry at night answers `paused` (its messages wait for
  // 09:00 IST), which `requeued` alone did not say to a --json or API caller.
  return { campaignId, requeued, status, archiving, notRetried };
}

export interface RunStatusView extends MessageCounts {
  runId: string;
  runNumber: number;
  trigger: string;
  status: string;
  total: number;
  startedAt: Date | null;
  completedAt: Date | null;
}

export interface CampaignStatusView {
  campaignId: string;
  /** The operator's name for it: the id alone left them to remember which campaign `c1a2…` was. */
  name: string;
  status: string;
  pauseReason: string | null;
  /** Something the operator must look at (DLT-CNT-REJECT, a scheduled run that did not start); null when none. */
  alert: string | null;
  /**
   * The status of the campaign's contact list (ready, deleting, deleted, …): a finished campaign's list may have been
   * deleted since (src/import/delete-list.ts), its history kept; nothing said so, and a retry or a new run was
   * expected of a list that no longer has contacts.
   */
  listStatus: string;
  /** Kept RETENTION_REGULATED_DAYS before archiving (`campaign create --regulated`), not RETENTION_DAYS. */
  regulated: boolean;
  /** Counts of the latest run (a cron campaign has one run per firing; see `runs`). */
  total: number;
  counts: MessageCounts;
  runs: RunStatusView[];
}

export async function getCampaignStatus(deps: Pick<ControlDeps, 'pg'>, campaignId: string): Promise<CampaignStatusView> {
  assertCampaignId(campaignId);
  const campaign = await deps.pg.query<{ name: string; status: string; pause_reason: string | null; alert: string | null; list_status: string; regulated: boolean }>(
    `SELECT c.name, c.status::text AS status, c.pause_reason, c.alert, l.status::text AS list_status, c.regulated
       FROM campaigns c JOIN contact_lists l ON l.id = c.list_id WHERE c.id = $1`,
    [campaignId],
  );
  if (!campaign.rows[0]) throw new NotFoundError(`campaign ${campaignId} not found`);
  const runIds = await deps.pg.query<{ id: string }>(`SELECT id FROM campaign_runs WHERE campaign_id = $1`, [campaignId]);
  await refreshRunCounters(deps.pg, runIds.rows.map((r) => r.id));
  const runs = await deps.pg.query<RunStatusView & { pauseReason: string | null }>(
    `SELECT id AS "runId", run_number AS "runNumber", trigger, status::text AS status, total, pending, queued, sending, sent,
            delivered, failed, unknown, suppressed, cancelled, started_at AS "startedAt", completed_at AS "completedAt"
       FROM campaign_runs WHERE campaign_id = $1 ORDER BY run_number`,
    [campaignId],
  );
  const latest = runs.rows[runs.rows.length - 1];
  const counts = Object.fromEntries(MESSAGE_STATUSES.map((s) => [s, latest ? latest[s] : 0])) as MessageCounts;
  return {
    campaignId,
    name: campaign.rows[0].name,
    status: campaign.rows[0].status,
    pauseReason: campaign.rows[0].pause_reason,
    alert: campaign.rows[0].alert,
    listStatus: campaign.rows[0].list_status,
    regulated: campaign.rows[0].regulated,
    total: latest?.total ?? 0,
    counts,
    runs: runs.rows,
  };
}
