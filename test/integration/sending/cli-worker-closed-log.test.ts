/**
 * `bulksms worker 2>&1 | tee worker.log`, and the reader dies mid-send: the worker's next log line meets the closed
 * pipe. Ended there (process.exit), its requests in flight became `unknown`; left running, it went on unseen. It
 * stops as on SIGTERM instead — the requests in flight are answered and recorded, the rest goes back for other
 * workers — and exits 141, the closed pipe's status.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { useTestEnv } from '../../helpers/env';
import { startTestSimulator, type TestSimulator } from '../../helpers/sending-simulator';
import { seedCampaign, statusCounts, waitFor } from '../../helpers/sending-fixtures';
import { startCampaign } from '../../../src/sending/campaign-control';

const env = useTestEnv({ SMS_RATE_LIMIT: '40' });
const BIN = path.join(__dirname, '..', '..', '..', 'bin', 'bulksms.js');

describe('bulksms worker: its log pipe closed mid-send', () => {
  let t: TestSimulator;
  beforeAll(async () => {
    // Slow answers: requests are in flight at any instant.
    t = await startTestSimulator({ apiKey: env.config.TWOFACTOR_API_KEY!, rate: 40, latencyMs: [200, 400] });
  });
  afterAll(() => t.close());

  it('stops gracefully at its next log line, with every request it made recorded, and exits 141', async () => {
    const c = env.container();
    const { campaignId, phones } = await seedCampaign(c.pg, { recipients: 400 });
    await startCampaign(c, campaignId);
    const child = spawn(process.execPath, [BIN, 'worker', '--concurrency', '20'], {
      env: { ...process.env, ...env.env, TWOFACTOR_BASE_URL: t.sim.url, LOG_LEVEL: 'info' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    child.stderr.resume();
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    let exitCode: number | null | 'running' = 'running';
    try {
      await waitFor('40 requests accepted', async () => t.sim.stats().accepted >= 40, 30_000, 20);
      child.stderr.destroy();
      // A log line after the reader is gone: another campaign's run completes ("feeder: runs completed").
      const other = await seedCampaign(c.pg, { recipients: 1 });
      await startCampaign(c, other.campaignId);
      let timer: NodeJS.Timeout | undefined;
      exitCode = await Promise.race([exited, new Promise<'running'>((r) => (timer = setTimeout(() => r('running'), 40_000)))]);
      clearTimeout(timer);
    } finally {
      if (exitCode === 'running') child.kill('SIGKILL');
    }
    expect(exitCode).toBe(141);
    // Stopped midway, with nothing in flight or guessed: what the provider accepted is what the ledger calls sent.
    const counts = await statusCounts(c.pg, campaignId);
    expect(counts).not.toHaveProperty('sending');
    expect(counts).not.toHaveProperty('unknown');
    expect(counts.pending ?? 0).toBeGreaterThan(0);
    expect((counts.sent ?? 0) + (counts.delivered ?? 0) + (counts.pending ?? 0) + (counts.queued ?? 0)).toBe(400);
    const accepted = await t.accepted();
    expect((counts.sent ?? 0) + (counts.delivered ?? 0)).toBe(phones.filter((p) => accepted.has(p)).length);
  }, 90_000);
});
