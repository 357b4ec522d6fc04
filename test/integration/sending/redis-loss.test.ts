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
import { sendingKeys } from '../../../src/sending/keys';

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
