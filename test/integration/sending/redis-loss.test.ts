/**
 * Redis loses everything mid-campaign. Redis is shared by every test run on this machine, so instead of
 * FLUSHALL the test deletes every key under this file's prefix — for bulksms that is the same event (all of
 * its keys live under QUEUE_PREFIX): jobs, locks, pacer state and the epoch key vanish.
 */
import { useTestEnv } from '../../helpers/env';
import { startTestSimulator, type TestSimulator } from '../../helpers/sending-simulator';
import { campaignStatus, deliveryCheck, seedCampaign, statusCounts, waitFor } from '../../helpers/sending-fixtures';
import { startCampaign } from '../../../src/sending/campaign-control';
import { startWorker, type RunningWorker } from '../../../src/sending/worker';
import { Queue } from 'bullmq';
import { Client } from 'pg';
import { startFeeder } from '../../../src/sending/feeder';
import { SEND_QUEUE, sendingKeys, type SendJobData } from '../../../src/sending/keys';

const env = useTestEnv({ SMS_RATE_LIMIT: '400', SMS_REQUEST_TIMEOUT_MS: '2000' });

describe('Redis data loss mid-campaign', () => {
  let t: TestSimulator;
  let worker: RunningWorker | undefined;

  beforeAll(async () => {
    t = await startTestSimulator({ apiKey: env.config.TWOFACTOR_API_KEY!, rate: 400, latencyMs: [10, 60] });
  });
  afterAll(async () => {
    await worker?.close();
    await t.close();
  });

  it('rebuilds the queue from PostgreSQL and finishes without re-sending anything', async () => {
    const c = env.container();
    const { campaignId, phones } = await seedCampaign(c.pg, { recipients: 1500 });
    await startCampaign(c, campaignId);
    worker = await startWorker(c, { provider: t.provider(), concurrency: 100, campaignServices: false });
    await waitFor('some accepted', async () => t.sim.stats().acceptedRecipients >= 300, 30_000, 20);
    const epoch = await c.redis.get(sendingKeys(env.config.QUEUE_PREFIX).epoch);
    expect(epoch).not.toBeNull();
    const queuedBefore = (await statusCounts(c.pg, campaignId)).queued ?? 0;
    expect(queuedBefore).toBeGreaterThan(0);

    await env.flushRedis();

    await waitFor('campaign completed', async () => (await campaignStatus(c.pg, campaignId)) === 'completed', 45_000);
    expect(await statusCounts(c.pg, campaignId)).toEqual({ sent: 1500 });
    expect(deliveryCheck(await t.accepted(), phones)).toEqual({ duplicates: [], missing: [] });
    expect(t.sim.stats().duplicates).toBe(0);
    // A new epoch marks the rebuilt Redis state.
    const newEpoch = await c.redis.get(sendingKeys(env.config.QUEUE_PREFIX).epoch);
    expect(newEpoch).not.toBeNull();
    expect(newEpoch).not.toBe(epoch);
  });
});

describe('Redis data loss noticed while PostgreSQL does not answer', () => {
  it('hands the queued messages back on a later pass (the marker is not left claiming it was done)', async () => {
    const c = env.container();
    const { campaignId } = await seedCampaign(c.pg, { recipients: 10 });
    await startCampaign(c, campaignId);
    // Queued under jobs that Redis has since lost (the epoch marker is gone with them).
    await c.pg.query(`UPDATE messages SET status = 'queued', queued_at = now() WHERE campaign_id = $1`, [campaignId]);
    await c.redis.del(sendingKeys(env.config.QUEUE_PREFIX).epoch);
    let failNext = true;
    const pg = new Proxy(c.pg, {
      get(target, prop, receiver) {
        if (prop !== 'query') return Reflect.get(target, prop, receiver);
        return (...args: unknown[]) => {
          const text = typeof args[0] === 'string' ? args[0] : '';
          if (failNext && /SET status = 'pending'.*status = 'queued'/s.test(text)) {
            failNext = false;
            return Promise.reject(new Error('Connection terminated unexpectedly'));
          }
          return (target.query as (...a: unknown[]) => Promise<unknown>).apply(target, args);
        };
      },
    });
    const queue = new Queue<SendJobData>(SEND_QUEUE, { connection: c.redis, prefix: env.config.QUEUE_PREFIX });
    const keys = sendingKeys(env.config.QUEUE_PREFIX);
    const feeder = startFeeder(
      { pg, redis: c.redis, queue, logger: c.logger, newClient: () => new Client({ connectionString: env.config.DATABASE_URL }) },
      { window: 20, batchSize: 5, tickMs: 20, idleTickMs: 600_000, leaseMs: 60_000, staleQueuedMs: 600_000, epochKey: keys.epoch, lockKey: `redis-loss-pg:${env.config.QUEUE_PREFIX}` },
    );
    try {
      // The loop's own first pass meets the failure (or this one does); a later pass must still hand them back.
      await feeder.tick().catch(() => undefined);
      await waitFor('fed again', async () => {
        await feeder.tick().catch(() => undefined);
        return (await queue.count()) > 0;
      }, 5_000, 50);
      expect(failNext).toBe(false);
    } finally {
      await feeder.close();
      await queue.obliterate({ force: true });
      await queue.close();
    }
  });
});
