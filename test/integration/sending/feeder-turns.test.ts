/**
 * More running campaigns than the feeder's window has batches for: each pass feeds the next ones in turn, so a
 * campaign started later is not held back until every older one has drained its list.
 */
import { Queue } from 'bullmq';
import { Client } from 'pg';
import { useTestEnv } from '../../helpers/env';
import { seedCampaign, statusCounts } from '../../helpers/sending-fixtures';
import { startCampaign } from '../../../src/sending/campaign-control';
import { startFeeder } from '../../../src/sending/feeder';
import { SEND_QUEUE, sendingKeys, type SendJobData } from '../../../src/sending/keys';

const env = useTestEnv({ SMS_RATE_LIMIT: '200' });

it('four runs, a window of two batches: two passes feed all four', async () => {
  const c = env.container();
  const queue = new Queue<SendJobData>(SEND_QUEUE, { connection: c.redis, prefix: env.config.QUEUE_PREFIX });
  const campaigns: string[] = [];
  for (let i = 0; i < 4; i++) {
    const { campaignId } = await seedCampaign(c.pg, { recipients: 50 });
    await startCampaign(c, campaignId);
    campaigns.push(campaignId);
  }
  const keys = sendingKeys(env.config.QUEUE_PREFIX);
  const feeder = startFeeder(
    { pg: c.pg, redis: c.redis, queue, logger: c.logger, newClient: () => new Client({ connectionString: env.config.DATABASE_URL }) },
    { window: 10, batchSize: 5, tickMs: 60_000, idleTickMs: 60_000, leaseMs: 60_000, staleQueuedMs: 60_000, epochKey: keys.epoch, lockKey: `feeder-turns:${env.config.QUEUE_PREFIX}` },
  );
  try {
    const fed = async (): Promise<boolean[]> => Promise.all(campaigns.map(async (id) => ((await statusCounts(c.pg, id)).queued ?? 0) > 0));
    await feeder.tick();
    // No worker here: the jobs of the first pass are taken away, as workers would take them, and the window is free again.
    await queue.obliterate({ force: true });
    await feeder.tick();
    expect(await fed()).toEqual([true, true, true, true]);
  } finally {
    await feeder.close();
    await queue.obliterate({ force: true });
    await queue.close();
  }
});
