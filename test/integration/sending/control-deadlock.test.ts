/**
 * A control change crossing the outcome writer's locks: the writer holds message rows and waits for their campaign
 * (FOR SHARE), the change holds the campaign and waits for a message row. PostgreSQL aborts one; when it picks the
 * operator's change, the change runs again instead of failing with "deadlock detected".
 */
import { Client } from 'pg';
import { useTestEnv } from '../../helpers/env';
import { seedCampaign, waitFor } from '../../helpers/sending-fixtures';
import { retryCampaign, startCampaign } from '../../../src/sending/campaign-control';

const env = useTestEnv();

it('campaign retry picked as the deadlock victim runs again and re-queues every retryable failure', async () => {
  const c = env.container();
  const { campaignId } = await seedCampaign(c.pg, { recipients: 5 });
  await startCampaign(c, campaignId);
  await c.pg.query(`UPDATE messages SET status = 'failed', outcome_class = 'retryable', attempts = 1 WHERE campaign_id = $1`, [campaignId]);
  const { rows } = await c.pg.query<{ id: string }>(`SELECT id FROM messages WHERE campaign_id = $1 ORDER BY id LIMIT 1`, [campaignId]);

  // Stands in for the outcome writer: a message row first, then its campaign. Its own deadlock check waits 30 s,
  // so the retry's backend (1 s, the default) is the one that finds the cycle and is aborted.
  const writer = new Client({ connectionString: env.config.DATABASE_URL });
  await writer.connect();
  try {
    await writer.query('BEGIN');
    await writer.query(`SET LOCAL deadlock_timeout = '30s'`);
    await writer.query(`UPDATE messages SET updated_at = now() WHERE id = $1`, [rows[0]!.id]);

    const retry = retryCampaign(c, campaignId, { includeUnknown: false });
    const outcome = retry.then(
      (r) => ({ ok: true as const, requeued: r.requeued }),
      (err: unknown) => ({ ok: false as const, error: err instanceof Error ? err.message : String(err) }),
    );
    await waitFor('the retry waiting for the message row', async () => {
      const waiting = await c.pg.query(
        `SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE 'UPDATE messages SET status = ''pending''%'`,
      );
      return (waiting.rowCount ?? 0) > 0;
    });
    await writer.query(`SELECT 1 FROM campaigns WHERE id = $1 FOR SHARE`, [campaignId]); // the cycle; returns once the retry is aborted
    await writer.query('COMMIT');

    expect(await outcome).toEqual({ ok: true, requeued: 5 });
  } finally {
    await writer.query('ROLLBACK').catch(() => undefined);
    await writer.end();
  }
}, 30_000);
