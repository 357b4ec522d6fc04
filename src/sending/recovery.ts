/**
 * Crash recovery on the PostgreSQL side. A message stays `sending` only while some worker holds its claim; a
 * worker that died (SIGKILL, OOM, host lost) leaves it there. After the lease (longer than any legitimate
 * claim-to-outcome time: the sender gives up on claims older than `sendDeadline` and requests time out) the
 * request may or may not have reached the provider, so the message becomes `unknown` — never re-sent.
 */
import type { Pool } from 'pg';
import { messageOutcomes } from '../metrics';

/**
 * Only runs of campaigns that can have messages in flight are looked at, so these sweeps use the
 * (run_id, status, id) index instead of scanning the whole history of messages. A cancelled campaign may still
 * have requests in flight after the cancel: the run is looked at while the cancel is recent (a day) or, after that,
 * while a message of it is still `sending` (one index probe per run the cancel stopped; runs that had finished
 * before it have none) — a worker killed at the cancel with no worker running for a day left those `sending` for good.
 */
const LIVE_RUNS = `SELECT r.id FROM campaign_runs r JOIN campaigns c ON c.id = r.campaign_id
  WHERE c.status IN ('running', 'paused')
     OR (c.status = 'cancelled' AND (c.updated_at > now() - interval '1 day'
                                     OR (r.status = 'cancelled' AND EXISTS (SELECT 1 FROM messages s WHERE s.run_id = r.id AND s.status = 'sending'))))`;

export async function expireStaleSending(pg: Pool, leaseMs: number): Promise<number> {
  const res = await pg.query(
    `UPDATE messages
        SET status = 'unknown', outcome_class = 'ambiguous',
            failure_reason = 'worker lost while the request may have been in flight (claim lease expired)', updated_at = now()
      WHERE run_id IN (${LIVE_RUNS}) AND status = 'sending' AND sending_at < now() - $1 * interval '1 millisecond'`,
    [leaseMs],
  );
  const expired = res.rowCount ?? 0;
  if (expired) messageOutcomes.inc({ status: 'unknown' }, expired);
  return expired;
}

/** Queued rows whose jobs were lost (Redis data loss, failed enqueue): hand them back to the feeder. */
export async function requeueStaleQueued(pg: Pool, olderThanMs: number): Promise<number> {
  const res = await pg.query(
    `UPDATE messages SET status = 'pending', queued_at = NULL, updated_at = now()
      WHERE run_id IN (${LIVE_RUNS}) AND status = 'queued' AND queued_at < now() - $1 * interval '1 millisecond'`,
    [olderThanMs],
  );
  return res.rowCount ?? 0;
}

/** Redis lost everything: every queued message of every campaign lost its job. */
export async function requeueAllQueued(pg: Pool): Promise<number> {
  const res = await pg.query(
    `UPDATE messages SET status = 'pending', queued_at = NULL, updated_at = now()
      WHERE run_id IN (${LIVE_RUNS}) AND status = 'queued'`,
  );
  return res.rowCount ?? 0;
}
