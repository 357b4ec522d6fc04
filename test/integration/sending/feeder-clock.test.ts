/**
 * The leader's recovery sweeps (stale claims → unknown, stale queued → pending) run every two seconds, timed on
 * this host's clock. A host whose wall clock is stepped back (NTP correcting a fast clock, an operator fixing
 * the time) must go on sweeping: timed on Date.now(), the sweeps stopped for as long as the step — a worker
 * SIGKILLed meanwhile left its claims `sending` (its campaign never completing) for that long.
 */
import { Queue } from 'bullmq';
import { Client } from 'pg';
import { useTestEnv } from '../../helpers/env';
import { seedCampaign, statusCounts } from '../../helpers/sending-fixtures';
import { pauseCampaign, startCampaign } from '../../../src/sending/campaign-control';
import { startFeeder } from '../../../src/sending/feeder';
import { SEND_QUEUE, sendingKeys, type SendJobData } from '../../../src/sending/keys';

const env = useTestEnv({ SMS_RATE_LIMIT: '200' });

afterEach(() => jest.restoreAllMocks());

it('keeps expiring a dead worker’s claims after the host clock is stepped back an hour', async () => {
  const c = env.container();
  const queue = new Queue<SendJobData>(SEND_QUEUE, { connection: c.redis, prefix: env.config.QUEUE_PREFIX });
  const feeder = startFeeder(
    { pg: c.pg, redis: c.redis, queue, logger: c.logger, newClient: () => new Client({ connectionString: env.config.DATABASE_URL }) },
    { window: 20, batchSize: 5, tickMs: 20, idleTickMs: 600_000, leaseMs: 1_000, staleQueuedMs: 60_000, epochKey: sendingKeys(env.config.QUEUE_PREFIX).epoch, lockKey: `feeder-clock:${env.config.QUEUE_PREFIX}` },
  );
  try {
    // Paused (still swept): the feeder moves nothing and its loop naps, so only the passes below run.
    const { campaignId } = await seedCampaign(c.pg, { recipients: 3 });
    await startCampaign(c, campaignId);
    await pauseCampaign(c, campaignId, 'test');
    expect(await feeder.tick()).toBe(0); // this pass swept (the first one does)

    const steppedBack = Date.now() - 3_600_000;
    jest.spyOn(Date, 'now').mockReturnValue(steppedBack);
    // A worker SIGKILLed mid-request left a claim behind, long past its lease.
    await c.pg.query(`UPDATE messages SET status = 'sending', attempts = 1, sending_at = now() - interval '1 minute' WHERE campaign_id = $1`, [campaignId]);

    await new Promise((r) => setTimeout(r, 2_300)); // longer than the sweep interval, on any clock that runs forward
    await feeder.tick();
    expect(await statusCounts(c.pg, campaignId)).toEqual({ unknown: 3 });
  } finally {
    jest.restoreAllMocks();
    await feeder.close();
    await queue.obliterate({ force: true });
    await queue.close();
  }
});
