/**
 * An idle feeder (no running campaign) passes rarely, and a start does not wait for its next pass: wake() runs
 * one at once, and a worker wakes its feeder when the control channel announces a running campaign.
 */
import { Queue } from 'bullmq';
import { Client } from 'pg';
import { useTestEnv } from '../../helpers/env';
import { seedCampaign, statusCounts, waitFor } from '../../helpers/sending-fixtures';
import { startTestSimulator, type TestSimulator } from '../../helpers/sending-simulator';
import { startCampaign } from '../../../src/sending/campaign-control';
import { startFeeder, type Feeder } from '../../../src/sending/feeder';
import { SEND_QUEUE, sendingKeys, type SendJobData } from '../../../src/sending/keys';
import { startWorker, type RunningWorker } from '../../../src/sending/worker';

const env = useTestEnv({ SMS_RATE_LIMIT: '200' });
const IDLE_MS = 60_000; // far longer than any wait below: only a wake can explain a pass

describe('idle feeder', () => {
  let campaignId: string | undefined;
  afterEach(async () => {
    // Out of the next test's way: feeders only feed running campaigns.
    await env.container().pg.query(`UPDATE campaigns SET status = 'paused' WHERE id = $1`, [campaignId]);
  });

  it('sleeps while nothing runs and feeds a started campaign as soon as it is woken', async () => {
    const c = env.container();
    const queue = new Queue<SendJobData>(SEND_QUEUE, { connection: c.redis, prefix: env.config.QUEUE_PREFIX });
    const keys = sendingKeys(env.config.QUEUE_PREFIX);
    let feeder: Feeder | undefined;
    try {
      feeder = startFeeder(
        { pg: c.pg, redis: c.redis, queue, logger: c.logger, newClient: () => new Client({ connectionString: env.config.DATABASE_URL }) },
        { window: 20, batchSize: 5, tickMs: 20, idleTickMs: IDLE_MS, leaseMs: 60_000, staleQueuedMs: 60_000, epochKey: keys.epoch, lockKey: `feeder-idle:${env.config.QUEUE_PREFIX}` },
      );
      // Chained after the loop's first pass, which found nothing running: the loop now sleeps IDLE_MS.
      expect(await feeder.tick()).toBe(0);
      ({ campaignId } = await seedCampaign(c.pg, { recipients: 50 }));
      await startCampaign(c, campaignId);
      await new Promise((r) => setTimeout(r, 500)); // 25 busy ticks' worth
      expect((await statusCounts(c.pg, campaignId)).queued ?? 0).toBe(0);
      feeder.wake();
      await waitFor('fed after wake()', async () => ((await statusCounts(c.pg, campaignId!)).queued ?? 0) === 20, 5_000, 20);
    } finally {
      await feeder?.close();
      await queue.obliterate({ force: true });
      await queue.close();
    }
  });

  it('closes at once when closed during a pass, instead of sleeping an idle tick first', async () => {
    const c = env.container();
    const queue = new Queue<SendJobData>(SEND_QUEUE, { connection: c.redis, prefix: env.config.QUEUE_PREFIX });
    const keys = sendingKeys(env.config.QUEUE_PREFIX);
    try {
      const feeder = startFeeder(
        { pg: c.pg, redis: c.redis, queue, logger: c.logger, newClient: () => new Client({ connectionString: env.config.DATABASE_URL }) },
        { window: 20, batchSize: 5, tickMs: 20, idleTickMs: IDLE_MS, leaseMs: 60_000, staleQueuedMs: 60_000, epochKey: keys.epoch, lockKey: `feeder-close:${env.config.QUEUE_PREFIX}` },
      );
      // The loop's first pass is running now (taking the leader lock): no nap to cut short yet.
      const started = Date.now();
      await feeder.close();
      expect(Date.now() - started).toBeLessThan(IDLE_MS / 4);
    } finally {
      await queue.close();
    }
  });

  describe('in a worker', () => {
    let t: TestSimulator;
    let worker: RunningWorker;
    beforeAll(async () => {
      t = await startTestSimulator({ apiKey: env.config.TWOFACTOR_API_KEY!, rate: 200, latencyMs: [5, 20] });
      worker = await startWorker(env.container(), { provider: t.provider(), concurrency: 50, campaignServices: false, feederIdleTickMs: IDLE_MS });
    });
    afterAll(async () => {
      await worker.close();
      await t.close();
    });

    it('sends a campaign started while its feeder sleeps, woken by the announcement', async () => {
      const c = env.container();
      await new Promise((r) => setTimeout(r, 1000)); // the feeder's first passes found nothing running
      ({ campaignId } = await seedCampaign(c.pg, { recipients: 40 }));
      await startCampaign(c, campaignId);
      await waitFor('all sent', async () => ((await statusCounts(c.pg, campaignId!)).sent ?? 0) === 40, 10_000, 50);
    });
  });
});
