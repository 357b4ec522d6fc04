/**
 * A retry while a run is being archived must not lose the recipients it re-queues: the archive deletes the rows it
 * exported, and a retry between export and deletion used to make some of them pending — then they were deleted.
 */
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { archiveExpiredRuns } from '../../../src/archive/archive';
import { restoreArchive } from '../../../src/archive/restore';
import { retryCampaign } from '../../../src/sending/campaign-control';
import { useTestEnv } from '../../helpers/env';
import { seedRuns } from '../../helpers/archive-fixtures';

const env = useTestEnv({ ARCHIVE_DELETE_BATCH: '20' });

/** A finished, expired run whose failed messages are retryable; returns its campaign and failed count. */
async function expiredRunWithRetryableFailures(): Promise<{ runId: string; campaignId: string; failed: number }> {
  const pg = env.container().pg;
  const [runId] = await seedRuns(pg, [{ rows: 90, endedDaysAgo: 400 }]);
  const failed = await pg.query(`UPDATE messages SET outcome_class = 'retryable' WHERE run_id = $1 AND status = 'failed'`, [runId]);
  const { rows } = await pg.query<{ campaign_id: string }>(`SELECT campaign_id FROM campaign_runs WHERE id = $1`, [runId]);
  return { runId: runId!, campaignId: rows[0]!.campaign_id, failed: failed.rowCount ?? 0 };
}

async function counts(runId: string): Promise<{ run: string; messages: number; pending: number }> {
  const { rows } = await env.container().pg.query<{ run: string; messages: number; pending: number }>(
    `SELECT r.status::text AS run, count(m.id)::int AS messages, count(m.id) FILTER (WHERE m.status = 'pending')::int AS pending
       FROM campaign_runs r LEFT JOIN messages m ON m.run_id = r.id WHERE r.id = $1 GROUP BY r.status`,
    [runId],
  );
  return rows[0]!;
}

describe('archive and retry of the same run', () => {
  it('a retry between export and deletion re-queues nothing of the run being archived', async () => {
    const c = env.container();
    const { runId, campaignId, failed } = await expiredRunWithRetryableFailures();
    expect(failed).toBeGreaterThan(0);
    const dir = await mkdtemp(path.join(os.tmpdir(), 'bulksms-archive-retry-'));
    let retried: number | undefined;
    const res = await archiveExpiredRuns(c, {
      dest: dir,
      onStage: async (stage) => {
        if (stage === 'exported') {
          const r = await retryCampaign(c, campaignId);
          retried = r.requeued;
          expect(r.archiving).toBe(1); // said, not silent
        }
      },
    });
    expect(retried).toBe(0);
    expect(res).toMatchObject({ runs: 1, rows: 90 });
    expect(await counts(runId)).toEqual({ run: 'completed', messages: 0, pending: 0 });
  });

  it('a run retried after an interrupted deletion keeps its re-queued messages; the archive leaves it alone', async () => {
    const c = env.container();
    const { runId, campaignId, failed } = await expiredRunWithRetryableFailures();
    const dir = await mkdtemp(path.join(os.tmpdir(), 'bulksms-archive-retry-'));
    // Interrupted after the first delete batch (20 of 90 rows), as a crash would leave it: manifest `exported`.
    await expect(
      archiveExpiredRuns(c, {
        dest: dir,
        onStage: async (stage) => {
          if (stage === 'deleting') throw new Error('interrupted');
        },
      }),
    ).rejects.toThrow('interrupted');
    const { requeued } = await retryCampaign(c, campaignId);
    expect(requeued).toBeGreaterThan(0);
    const afterRetry = await counts(runId);
    expect(afterRetry).toEqual({ run: 'running', messages: 70, pending: requeued });

    const res = await archiveExpiredRuns(c, { dest: dir });
    expect(res).toMatchObject({ runs: 0, resumed: 0 });
    expect(await counts(runId)).toEqual(afterRetry);

    // The retried messages are sent and the run ends again. The old file says `failed` for them, so the
    // interrupted deletion is not finished with it; the run is exported afresh to a second file instead.
    await c.pg.query(`UPDATE messages SET status = 'sent', updated_at = now() WHERE run_id = $1 AND status = 'pending'`, [runId]);
    await c.pg.query(`UPDATE campaign_runs SET status = 'completed', completed_at = now() - interval '400 days' WHERE id = $1`, [runId]);
    const again = await archiveExpiredRuns(c, { dest: dir });
    expect(again).toMatchObject({ resumed: 0, files: 1, rows: 70 });
    // A restore brings back all 90 rows, the retried ones as they ended (sent), not as the first file has them;
    // the failures deleted before the retry (never re-queued) as they were.
    await restoreArchive(c, path.join(dir, 'manifest.json'));
    const { rows } = await c.pg.query<{ status: string; n: number }>(
      `SELECT status::text AS status, count(*)::int AS n FROM messages WHERE run_id = $1 AND outcome_class = 'retryable' GROUP BY status ORDER BY status`,
      [runId],
    );
    expect(rows).toEqual([{ status: 'failed', n: failed - requeued }, { status: 'sent', n: requeued }]);
    expect((await counts(runId)).messages).toBe(90);
  });
});
