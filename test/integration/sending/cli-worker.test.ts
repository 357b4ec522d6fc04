/** `bulksms worker` as operators run it: sends a campaign through the simulator, drains on SIGTERM, exits 0. */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { useTestEnv } from '../../helpers/env';
import { startTestSimulator, type TestSimulator } from '../../helpers/sending-simulator';
import { campaignStatus, deliveryCheck, seedCampaign, statusCounts, waitFor } from '../../helpers/sending-fixtures';
import { startCampaign } from '../../../src/sending/campaign-control';

const env = useTestEnv({ SMS_RATE_LIMIT: '300' });
const BIN = path.join(__dirname, '..', '..', '..', 'bin', 'bulksms.js');

describe('bulksms worker', () => {
  let t: TestSimulator;
  beforeAll(async () => {
    t = await startTestSimulator({ apiKey: env.config.TWOFACTOR_API_KEY!, rate: 300, latencyMs: [10, 50] });
  });
  afterAll(() => t.close());

  it('sends a running campaign and stops gracefully on SIGTERM', async () => {
    const c = env.container();
    const { campaignId, phones } = await seedCampaign(c.pg, { recipients: 300 });
    await startCampaign(c, campaignId);
    const child = spawn(process.execPath, [BIN, 'worker', '--concurrency', '50'], {
      env: { ...process.env, ...env.env, TWOFACTOR_BASE_URL: t.sim.url },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      await waitFor('campaign completed', async () => (await campaignStatus(c.pg, campaignId)) === 'completed', 50_000);
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
    // The worker also runs the delivery-report poller: accepted messages may already be `delivered`.
    const counts = await statusCounts(c.pg, campaignId);
    expect(Object.keys(counts).filter((s) => s !== 'sent' && s !== 'delivered')).toEqual([]);
    expect((counts.sent ?? 0) + (counts.delivered ?? 0)).toBe(300);
    expect(deliveryCheck(await t.accepted(), phones)).toEqual({ duplicates: [], missing: [] });
  }, 90_000);

  it('rejects a bad --concurrency with exit code 2', async () => {
    const child = spawn(process.execPath, [BIN, 'worker', '--concurrency', 'lots'], { env: { ...process.env, ...env.env }, stdio: 'ignore' });
    expect(await new Promise((resolve) => child.once('exit', resolve))).toBe(2);
  });
});
