/**
 * Redis loses everything mid-campaign. Redis is shared by every test run on this machine, so instead of
 * FLUSHALL the test deletes every key under this file's prefix — for bulksms that is the same event (all of
 * its keys live under QUEUE_PREFIX): jobs, locks, pacer state and the epoch key vanish.
 */
import { useTestEnv } from '../../helpers/env';
import { startStandIn, type StandIn } from '../../helpers/stand-in-provider';
import { createHttpTestProvider } from '../../helpers/http-provider';
import { campaignStatus, deliveryCheck, seedCampaign, statusCounts, waitFor } from '../../helpers/sending-fixtures';
import { startCampaign } from '../../../src/sending/campaign-control';
import { startWorker, type RunningWorker } from '../../../src/sending/worker';
import { sendingKeys } from '../../../src/sending/keys';
import type { SmsProvider } from '../../../src/provider/sms-provider';

const env = useTestEnv({ SMS_RATE_LIMIT: '400', SMS_REQUEST_TIMEOUT_MS: '2000' });

describe('Redis data loss mid-campaign', () => {
  let standIn: StandIn;
  let provider: SmsProvider;
  let worker: RunningWorker | undefined;

  beforeAll(async () => {
    standIn = await startStandIn({ apiKey: env.config.TWOFACTOR_API_KEY!, rate: 400, latencyMs: [10, 60] });
    provider = createHttpTestProvider({ baseUrl: standIn.url, apiKey: env.config.TWOFACTOR_API_KEY!, timeoutMs: 10_000, connections: 100 });
  });
  afterAll(async () => {
    await worker?.close();
    await provider.close();
    await standIn.close();
  });

  it('rebuilds the queue from PostgreSQL and finishes without re-sending anything', async () => {
    const c = env.container();
    const { campaignId, phones } = await seedCampaign(c.pg, { recipients: 1500 });
    await startCampaign(c, campaignId);
    worker = await startWorker(c, { provider, concurrency: 100 });
    await waitFor('some accepted', async () => phones.filter((p) => standIn.accepted().has(p)).length >= 300, 30_000, 20);
    const epoch = await c.redis.get(sendingKeys(env.config.QUEUE_PREFIX).epoch);
    expect(epoch).not.toBeNull();
    const queuedBefore = (await statusCounts(c.pg, campaignId)).queued ?? 0;
    expect(queuedBefore).toBeGreaterThan(0);

    await env.flushRedis();

    await waitFor('campaign completed', async () => (await campaignStatus(c.pg, campaignId)) === 'completed', 45_000);
    expect(await statusCounts(c.pg, campaignId)).toEqual({ sent: 1500 });
    expect(deliveryCheck(standIn.accepted(), phones)).toEqual({ duplicates: [], missing: [] });
    // A new epoch marks the rebuilt Redis state.
    const newEpoch = await c.redis.get(sendingKeys(env.config.QUEUE_PREFIX).epoch);
    expect(newEpoch).not.toBeNull();
    expect(newEpoch).not.toBe(epoch);
  });
});
