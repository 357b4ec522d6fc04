/**
 * The feeder's window and batches count requests: a packed run (P numbers per request) is fed P messages per
 * unit, so packing multiplies the messages a fleet moves per second instead of starving at 1/P of the rate.
 */
import { Queue } from 'bullmq';
import { Client } from 'pg';
import { useTestEnv } from '../../helpers/env';
import { seedCampaign, statusCounts } from '../../helpers/sending-fixtures';
import { startCampaign } from '../../../src/sending/campaign-control';
import { startFeeder, type Feeder } from '../../../src/sending/feeder';
import { SEND_QUEUE, sendingKeys, type SendJobData } from '../../../src/sending/keys';

const env = useTestEnv({ SMS_RATE_LIMIT: '200' });

describe('feeder units', () => {
  let queue: Queue<SendJobData>;
  let feeder: Feeder | undefined;
  let campaignId: string | undefined;

  beforeAll(() => {
    const c = env.container();
    queue = new Queue<SendJobData>(SEND_QUEUE, { connection: c.redis, prefix: env.config.QUEUE_PREFIX });
  });
  afterEach(async () => {
    await feeder?.close();
    feeder = undefined;
    await queue.obliterate({ force: true });
    // Out of the next test's way: the feeder only feeds running campaigns.
    await env.container().pg.query(`UPDATE campaigns SET status = 'paused' WHERE id = $1`, [campaignId]);
  });
  afterAll(async () => {
    await queue.close();
  });

  const feed = async (campaign: { packSize?: number; text: string }) => {
    const c = env.container();
    ({ campaignId } = await seedCampaign(c.pg, { recipients: 600, ...campaign }));
    await startCampaign(c, campaignId!);
    const keys = sendingKeys(env.config.QUEUE_PREFIX);
    // No worker takes the jobs, so after the first pass (the loop's or the test's) the window stays full.
    feeder = startFeeder(
      { pg: c.pg, redis: c.redis, queue, logger: c.logger, newClient: () => new Client({ connectionString: env.config.DATABASE_URL }) },
      { window: 20, batchSize: 5, tickMs: 200, leaseMs: 60_000, staleQueuedMs: 60_000, epochKey: keys.epoch, lockKey: `feeder-packing:${env.config.QUEUE_PREFIX}` },
    );
    await feeder.tick();
    const jobs = await queue.getJobs(['wait', 'delayed', 'prioritized']);
    const sizes = jobs.map((j) => j.data.ids.length).sort((a, b) => a - b);
    const queued = (await statusCounts(c.pg, campaignId!)).queued ?? 0;
    // The window is full: another pass moves nothing.
    await feeder.tick();
    const queuedAfter = (await statusCounts(c.pg, campaignId!)).queued ?? 0;
    return { sizes, queued, queuedAfter };
  };

  it('feeds a window of 20 requests as 20 messages for a run without packing', async () => {
    expect(await feed({ text: 'Hello {{name}}' })).toEqual({ sizes: [5, 5, 5, 5], queued: 20, queuedAfter: 20 });
  });

  it('feeds a run packed 10 per request 10 messages per unit: 200 messages in jobs of 5 requests (50 ids)', async () => {
    expect(await feed({ text: 'Sale today', packSize: 10 })).toEqual({ sizes: [50, 50, 50, 50], queued: 200, queuedAfter: 200 });
  });
});
