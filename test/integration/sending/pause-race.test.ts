/**
 * A pause (or cancel) that commits while a feeding pass runs must not leave the pass's rows `queued` under a
 * campaign that is not running. The feeder's move used to read the campaign's status from its statement's
 * snapshot: a pause committing after that snapshot and before the move committed found nothing queued to hand
 * back, and the move then queued rows of a paused campaign (CI: `bulksms send` interrupted reported 10 queued).
 * A cancel also rewrites the pending rows, so the move skips them as locked; it is here so that stays true.
 * Likewise a message released by the outcome writer (claimed, not sent: pause, shutdown) while a cancel commits
 * must end `cancelled`, not `pending` under a cancelled campaign.
 */
import { Queue } from 'bullmq';
import { Client } from 'pg';
import { useTestEnv } from '../../helpers/env';
import { seedCampaign, statusCounts } from '../../helpers/sending-fixtures';
import { startCampaign } from '../../../src/sending/campaign-control';
import { writeOutcomes } from '../../../src/sending/ledger';
import { startFeeder, type Feeder } from '../../../src/sending/feeder';
import { SEND_QUEUE, sendingKeys, type SendJobData } from '../../../src/sending/keys';

const env = useTestEnv({ SMS_RATE_LIMIT: '200' });

describe('feeder racing a status change', () => {
  it.each([
    ['paused', `UPDATE messages SET status = 'pending', queued_at = NULL WHERE campaign_id = $1 AND status = 'queued'`],
    ['cancelled', `UPDATE messages SET status = 'cancelled' WHERE campaign_id = $1 AND status IN ('pending', 'queued')`],
  ])('a campaign %s while a pass runs gets nothing queued by that pass', async (next, release) => {
    const c = env.container();
    const queue = new Queue<SendJobData>(SEND_QUEUE, { connection: c.redis, prefix: env.config.QUEUE_PREFIX });
    const keys = sendingKeys(env.config.QUEUE_PREFIX);
    const control = new Client({ connectionString: env.config.DATABASE_URL });
    await control.connect();
    let feeder: Feeder | undefined;
    try {
      // Started first, with nothing running: its own first pass finds nothing and it naps far past this test.
      feeder = startFeeder(
        { pg: c.pg, redis: c.redis, queue, logger: c.logger, newClient: () => new Client({ connectionString: env.config.DATABASE_URL }) },
        { window: 20, batchSize: 5, tickMs: 20, idleTickMs: 600_000, leaseMs: 60_000, staleQueuedMs: 60_000, epochKey: keys.epoch, lockKey: `pause-race-${next}:${env.config.QUEUE_PREFIX}` },
      );
      expect(await feeder.tick()).toBe(0);
      const { campaignId } = await seedCampaign(c.pg, { recipients: 50 });
      await startCampaign(c, campaignId);

      // The status change, as campaign-control makes it: campaign row locked, status changed, queued rows released
      // — held open while the feeder's pass starts, then committed.
      await control.query('BEGIN');
      await control.query(`SELECT id FROM campaigns WHERE id = $1 FOR UPDATE`, [campaignId]);
      await control.query(`UPDATE campaigns SET status = $2::"CampaignStatus" WHERE id = $1`, [campaignId, next]);
      await control.query(`UPDATE campaign_runs SET status = $2::"RunStatus" WHERE campaign_id = $1`, [campaignId, next === 'paused' ? 'paused' : 'cancelled']);
      await control.query(release, [campaignId]);
      const pass = feeder.tick();
      await new Promise((r) => setTimeout(r, 300));
      await control.query('COMMIT');

      expect(await pass).toBe(0);
      expect((await statusCounts(c.pg, campaignId)).queued ?? 0).toBe(0);
      expect(await queue.count()).toBe(0);
    } finally {
      await control.query('ROLLBACK').catch(() => undefined);
      await control.end();
      await feeder?.close();
      await queue.obliterate({ force: true });
      await queue.close();
    }
  });
});

describe('outcome writer racing a cancel', () => {
  it('a message released while the campaign is cancelled ends cancelled', async () => {
    const c = env.container();
    const { campaignId } = await seedCampaign(c.pg, { recipients: 3 });
    await startCampaign(c, campaignId);
    const claimed = await c.pg.query<{ id: string; attempts: number }>(
      `UPDATE messages SET status = 'sending', attempts = attempts + 1, sending_at = now()
        WHERE id = (SELECT min(id) FROM messages WHERE campaign_id = $1) RETURNING id::text AS id, attempts`,
      [campaignId],
    );
    const { id, attempts } = claimed.rows[0]!;
    const control = new Client({ connectionString: env.config.DATABASE_URL });
    await control.connect();
    try {
      // The cancel as campaign-control makes it, held open while the writer releases the claimed message.
      await control.query('BEGIN');
      await control.query(`SELECT id FROM campaigns WHERE id = $1 FOR UPDATE`, [campaignId]);
      await control.query(`UPDATE campaigns SET status = 'cancelled' WHERE id = $1`, [campaignId]);
      await control.query(`UPDATE messages SET status = 'cancelled' WHERE campaign_id = $1 AND status IN ('pending', 'queued')`, [campaignId]);
      const released = writeOutcomes(c.pg, [{ id, attempts, status: 'release', attemptsDelta: -1 }]);
      await new Promise((r) => setTimeout(r, 300));
      await control.query('COMMIT');
      expect(await released).toBe(1);
    } finally {
      await control.query('ROLLBACK').catch(() => undefined);
      await control.end();
    }
    expect(await statusCounts(c.pg, campaignId)).toEqual({ cancelled: 3 });
  });
});
