/**
 * Completing a finished run must not race a retry: a retry that makes failed messages pending while the leader
 * checks the run must leave the run (and campaign) running, or the retried messages are never sent.
 */
import { Client } from 'pg';
import { useTestEnv } from '../../helpers/env';
import { seedCampaign, statusCounts } from '../../helpers/sending-fixtures';
import { retryCampaign, startCampaign } from '../../../src/sending/campaign-control';
import { completeFinishedRuns } from '../../../src/sending/run-completion';

const env = useTestEnv();

async function runOf(campaignId: string): Promise<string> {
  const { rows } = await env.container().pg.query<{ id: string }>(`SELECT id FROM campaign_runs WHERE campaign_id = $1`, [campaignId]);
  return rows[0]!.id;
}

async function statuses(campaignId: string): Promise<{ campaign: string; run: string }> {
  const { rows } = await env.container().pg.query<{ campaign: string; run: string }>(
    `SELECT c.status::text AS campaign, r.status::text AS run FROM campaigns c JOIN campaign_runs r ON r.campaign_id = c.id WHERE c.id = $1`,
    [campaignId],
  );
  return rows[0]!;
}

/** A started campaign whose messages all went out: all sent but `failedRetryable` failed, retryable. */
async function finishedCampaign(recipients: number, failedRetryable: number): Promise<{ campaignId: string; runId: string }> {
  const c = env.container();
  const { campaignId } = await seedCampaign(c.pg, { recipients });
  await startCampaign(c, campaignId);
  const runId = await runOf(campaignId);
  await c.pg.query(`UPDATE messages SET status = 'sent', attempts = 1, outcome_class = 'accepted' WHERE run_id = $1`, [runId]);
  await c.pg.query(
    `UPDATE messages SET status = 'failed', outcome_class = 'retryable'
      WHERE id IN (SELECT id FROM messages WHERE run_id = $1 ORDER BY id LIMIT $2)`,
    [runId, failedRetryable],
  );
  return { campaignId, runId };
}

describe('run completion', () => {
  it('completes a run with nothing left to send, then its campaign, with counters equal to the sums', async () => {
    const c = env.container();
    const { campaignId, runId } = await finishedCampaign(10, 2);
    expect(await completeFinishedRuns(c.pg, [runId])).toEqual([{ runId, campaignId }]);
    expect(await statuses(campaignId)).toEqual({ campaign: 'completed', run: 'completed' });
    const { rows } = await c.pg.query(`SELECT total, sent, failed, pending FROM campaign_runs WHERE id = $1`, [runId]);
    expect(rows[0]).toEqual({ total: 10, sent: 8, failed: 2, pending: 0 });
  });

  it('a run where nothing went out (every message failed, none sent or unknown) ends failed, and so does its campaign', async () => {
    const c = env.container();
    const { campaignId, runId } = await finishedCampaign(6, 6);
    expect(await completeFinishedRuns(c.pg, [runId])).toEqual([{ runId, campaignId }]);
    expect(await statuses(campaignId)).toEqual({ campaign: 'failed', run: 'failed' });
    // Retryable failures of a failed campaign are retried as for a completed one.
    expect(await retryCampaign(c, campaignId)).toMatchObject({ requeued: 6 });
    expect(await statuses(campaignId)).toEqual({ campaign: 'running', run: 'running' });
  });

  it('a run with one message whose fate is unknown is completed, not failed: it may have gone out', async () => {
    const c = env.container();
    const { campaignId, runId } = await finishedCampaign(6, 6);
    await c.pg.query(`UPDATE messages SET status = 'unknown', outcome_class = 'ambiguous' WHERE id = (SELECT min(id) FROM messages WHERE run_id = $1)`, [runId]);
    await completeFinishedRuns(c.pg, [runId]);
    expect(await statuses(campaignId)).toEqual({ campaign: 'completed', run: 'completed' });
  });

  it('leaves a run with a pending message running', async () => {
    const c = env.container();
    const { campaignId, runId } = await finishedCampaign(10, 0);
    await c.pg.query(`UPDATE messages SET status = 'pending' WHERE id = (SELECT max(id) FROM messages WHERE run_id = $1)`, [runId]);
    expect(await completeFinishedRuns(c.pg, [runId])).toEqual([]);
    expect(await statuses(campaignId)).toEqual({ campaign: 'running', run: 'running' });
  });

  it('does not complete a run a retry is re-queueing at the same moment', async () => {
    const c = env.container();
    const { campaignId, runId } = await finishedCampaign(10, 3);
    // A gate holds the run row, so the retry stops after making its messages pending (uncommitted) and the
    // completion check starts while they are still failed to everyone else; then both go on, retry first.
    const gate = new Client({ connectionString: env.config.DATABASE_URL });
    await gate.connect();
    try {
      await gate.query('BEGIN');
      await gate.query(`SELECT id FROM campaign_runs WHERE id = $1 FOR UPDATE`, [runId]);
      const retry = retryCampaign(c, campaignId);
      await new Promise((r) => setTimeout(r, 200));
      const completion = completeFinishedRuns(c.pg, [runId]);
      await new Promise((r) => setTimeout(r, 200));
      await gate.query('COMMIT');
      expect((await retry).requeued).toBe(3);
      expect(await completion).toEqual([]);
    } finally {
      await gate.query('ROLLBACK').catch(() => undefined);
      await gate.end();
    }
    expect(await statuses(campaignId)).toEqual({ campaign: 'running', run: 'running' });
    expect(await statusCounts(c.pg, campaignId)).toEqual({ sent: 7, pending: 3 });
  });
});
