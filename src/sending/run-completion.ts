/**
 * A run is finished when none of its messages is pending, queued or sending; its campaign when none of its runs
 * is still running, paused or pending. Called by the feeder's leader for runs that moved nothing.
 *
 * Finished is `completed`, or `failed` when nothing went out: messages failed and none was accepted or may have
 * been (no sent, delivered or unknown) — the provider unreachable or refusing every number. Such a campaign
 * reported `completed` and `send` exited 0. A message failed by its delivery report (it has a session id) was
 * accepted, so it went out: counted as `failed` only, it made the run's end depend on whether the reports came
 * before the leader's check (a DLT-rejected campaign ended `failed` or `completed` by timing). A campaign is
 * `failed` when every run that just finished failed; `campaign retry` re-queues its retryable failures as for a
 * completed one.
 */
import type { Pool } from 'pg';
import { inTransaction } from '../db/transaction';
import { refreshRunCounters } from './ledger';

export interface CompletedRun {
  runId: string;
  campaignId: string;
}

export async function completeFinishedRuns(pg: Pool, runIds: readonly string[]): Promise<CompletedRun[]> {
  if (!runIds.length) return [];
  return inTransaction(pg, async (c) => {
    // Campaign rows first, as every control change takes them, and the checks below in statements of their own: a
    // statement's snapshot predates a concurrent retry's commit, and re-checking the run row after waiting for it
    // does not re-run the NOT EXISTS — one UPDATE completed a run whose failed messages a retry had just made
    // pending (never sent). Under the lock, a retry has either committed or not begun. SKIP LOCKED: a campaign
    // someone holds (a control change, the outcome writer's share lock) is checked on a later pass — waiting
    // deadlocked with the writer, which locks campaigns in row order while holding its message rows.
    const locked = await c.query<{ id: string }>(
      `SELECT id FROM campaigns WHERE id IN (SELECT campaign_id FROM campaign_runs WHERE id = ANY($1::uuid[])) ORDER BY id FOR UPDATE SKIP LOCKED`,
      [runIds],
    );
    if (!locked.rows.length) return [];
    const done = await c.query<CompletedRun & { failed: boolean }>(
      `UPDATE campaign_runs r
          SET status = (CASE WHEN EXISTS (SELECT 1 FROM messages m WHERE m.run_id = r.id AND m.status = 'failed')
                              AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.run_id = r.id
                                               AND (m.status IN ('sent', 'delivered', 'unknown') OR (m.status = 'failed' AND m.session_id IS NOT NULL)))
                             THEN 'failed' ELSE 'completed' END)::"RunStatus",
              completed_at = now()
        WHERE r.id = ANY($1::uuid[]) AND r.campaign_id = ANY($2::uuid[]) AND r.status = 'running'
          AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.run_id = r.id AND m.status IN ('pending', 'queued', 'sending'))
      RETURNING r.id AS "runId", r.campaign_id AS "campaignId", r.status = 'failed' AS failed`,
      [runIds, locked.rows.map((r) => r.id)],
    );
    if (!done.rows.length) return [];
    await refreshRunCounters(c, done.rows.map((r) => r.runId));
    const campaignIds = [...new Set(done.rows.map((r) => r.campaignId))];
    const allFailed = campaignIds.filter((id) => done.rows.every((r) => r.campaignId !== id || r.failed));
    await c.query(
      `UPDATE campaigns c SET status = (CASE WHEN c.id = ANY($2::uuid[]) THEN 'failed' ELSE 'completed' END)::"CampaignStatus",
              completed_at = now(), updated_at = now()
        WHERE c.id = ANY($1::uuid[]) AND c.status = 'running'
          AND NOT EXISTS (SELECT 1 FROM campaign_runs r WHERE r.campaign_id = c.id AND r.status IN ('running', 'paused', 'pending'))`,
      [campaignIds, allFailed],
    );
    return done.rows.map(({ runId, campaignId }) => ({ runId, campaignId }));
  });
}
