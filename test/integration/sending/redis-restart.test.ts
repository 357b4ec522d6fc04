/**
 * Redis restarts mid-campaign (no persistence, as the brief's machine and many deployments run it): every
 * connection drops for a moment and every key is gone. The worker's Redis calls fail meanwhile; no recipient may
 * be lost or sent twice, and messages the worker knows it did not send must not be recorded `unknown`.
 */
import { createCampaign } from '../../../src/campaign/campaign-service';
import { startScheduler } from '../../../src/campaign/scheduler';
import { createContainer, type Container } from '../../../src/container';
import { createLogger } from '../../../src/logger';
import { startCampaign } from '../../../src/sending/campaign-control';
import { startWorker, type RunningWorker } from '../../../src/sending/worker';
import { useTestEnv } from '../../helpers/env';
import { seedList } from '../../fixtures/seed-list';
import { startRedisServer, type RedisServer } from '../../../scripts/lib/redis-server';
import { startTestSimulator, type TestSimulator } from '../../helpers/sending-simulator';
import { campaignStatus, deliveryCheck, seedCampaign, statusCounts, waitFor } from '../../helpers/sending-fixtures';

const env = useTestEnv({ SMS_RATE_LIMIT: '400', SMS_REQUEST_TIMEOUT_MS: '2000' });
let redis: RedisServer;
let c: Container;
let t: TestSimulator;
let worker: RunningWorker | undefined;

beforeAll(async () => {
  redis = await startRedisServer();
  c = createContainer({ config: { ...env.config, REDIS_URL: redis.url }, logger: createLogger({ level: 'silent' }) });
  t = await startTestSimulator({ apiKey: env.config.TWOFACTOR_API_KEY!, rate: 400, latencyMs: [10, 60], dlrDelayMs: 300 });
});
env.cleanup(async () => {
  await worker?.close();
  await c?.close();
  await t?.close();
  await redis?.stop();
});

it('finishes every recipient exactly once after Redis restarts empty, with nothing recorded unknown', async () => {
  const { campaignId, phones } = await seedCampaign(c.pg, { recipients: 1500 });
  await startCampaign(c, campaignId);
  // With the campaign services too: the delivery-report poller and the scheduler use Redis as well.
  worker = await startWorker(c, { provider: t.provider(), concurrency: 100, campaignServices: { dlr: { baseDelayMs: 200, idleMs: 100 } } });
  await waitFor('some accepted', async () => t.sim.stats().acceptedRecipients >= 300, 30_000, 20);

  await redis.stop();
  await new Promise((r) => setTimeout(r, 1500));
  await redis.start();

  await waitFor('campaign completed', async () => (await campaignStatus(c.pg, campaignId)) === 'completed', 60_000);
  expect(deliveryCheck(await t.accepted(), phones)).toEqual({ duplicates: [], missing: [] });
  // Accepted messages may already be `delivered` (the poller runs); nothing else: no unknown, failed or pending.
  const counts = await statusCounts(c.pg, campaignId);
  expect(Object.keys(counts).filter((s) => s !== 'sent' && s !== 'delivered')).toEqual([]);
  expect((counts.sent ?? 0) + (counts.delivered ?? 0)).toBe(1500);
  // Its scheduler would race the next test's for the scheduled run.
  await worker.close();
  worker = undefined;
}, 120_000);

it('a scheduled run still starts, once, when Redis restarts empty before its instant', async () => {
  await seedList(c.pg, 'sched', ['name'], [{ phone: '+919876500001', vars: { name: 'A' } }]);
  const calls: string[] = [];
  const scheduler = await startScheduler(c, { startRun: async (campaignId) => void calls.push(campaignId), epochCheckMs: 200 });
  try {
    const due = Date.now() + 4000;
    const { campaignId } = await createCampaign(c, { name: 'sched', list: 'sched', type: 'transactional', from: 'TFCTOR', text: 'Hi {{name}}', at: new Date(due).toISOString() });
    // The delayed job, the epoch marker and every connection go; the scheduler's own Redis calls fail meanwhile.
    await redis.stop();
    await new Promise((r) => setTimeout(r, 1500));
    await redis.start();
    await waitFor('the run started', async () => calls.includes(campaignId), 15_000, 50);
    await new Promise((r) => setTimeout(r, 1000));
    expect(calls.filter((id) => id === campaignId)).toHaveLength(1);
  } finally {
    await scheduler.close();
  }
}, 60_000);
