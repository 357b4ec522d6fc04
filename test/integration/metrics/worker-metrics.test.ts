/** `bulksms worker --metrics-port`: the worker process serves Prometheus counters of its own sends. */
import { spawn } from 'node:child_process';
import { request } from 'undici';
import { startCampaign } from '../../../src/sending/campaign-control';
import { BIN, runCli } from '../../helpers/cli';
import { useTestEnv } from '../../helpers/env';
import { campaignStatus, seedCampaign, waitFor } from '../../helpers/sending-fixtures';
import { startTestSimulator, type TestSimulator } from '../../helpers/sending-simulator';

const env = useTestEnv({ SMS_RATE_LIMIT: '300' });

/** Sum of a metric's samples whose labels contain `labels` (e.g. `outcome="accepted"`). */
function sample(text: string, name: string, labels = ''): number {
  return text
    .split('\n')
    .filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `))
    .filter((l) => l.includes(labels))
    .reduce((sum, l) => sum + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
}

describe('bulksms worker --metrics-port', () => {
  let t: TestSimulator;
  beforeAll(async () => {
    t = await startTestSimulator({ apiKey: env.config.TWOFACTOR_API_KEY!, rate: 300, latencyMs: [10, 40] });
  });
  afterAll(() => t.close());

  /** `bulksms worker --metrics-port 0` against the simulator: the process, its exit code, and its /metrics URL once it says it. */
  function metricsWorker(concurrency: number) {
    const child = spawn(process.execPath, [BIN, 'worker', '--concurrency', String(concurrency), '--metrics-port', '0'], {
      env: { ...process.env, ...env.env, TWOFACTOR_BASE_URL: t.sim.url },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const metricsUrl = waitFor('metrics address', async () => stderr.match(/metrics on (http:\/\/\S+\/metrics)/)?.[1], 30_000);
    return { child, exited, metricsUrl };
  }

  it('serves provider outcomes, send latency, requests and rate-limit waits of that worker', async () => {
    const c = env.container();
    const { campaignId } = await seedCampaign(c.pg, { recipients: 120 });
    const { child, exited, metricsUrl } = metricsWorker(40);
    try {
      const url = await metricsUrl;
      const before = await (await request(url)).body.text();
      expect(sample(before, 'bulksms_provider_outcomes_total')).toBe(0);

      await startCampaign(c, campaignId);
      await waitFor('campaign completed', async () => (await campaignStatus(c.pg, campaignId)) === 'completed', 50_000);
      const res = await request(url);
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-type']).toMatch(/^text\/plain/);
      const text = await res.body.text();
      expect(sample(text, 'bulksms_provider_outcomes_total', 'outcome="accepted"')).toBe(120);
      expect(sample(text, 'bulksms_send_latency_seconds_count', 'outcome="accepted"')).toBe(120);
      expect(sample(text, 'bulksms_send_latency_seconds_sum')).toBeGreaterThan(0);
      expect(sample(text, 'bulksms_provider_requests_total', 'kind="send"')).toBe(120);
      expect(sample(text, 'bulksms_rate_limit_waits_total')).toBeGreaterThan(0);
      expect(sample(text, 'bulksms_rate_limit_wait_seconds_count')).toBe(sample(text, 'bulksms_rate_limit_waits_total'));
      expect((await request(url.replace('/metrics', '/other'))).statusCode).toBe(404);
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
  }, 90_000);

  // bulksms_provider_outcomes_total counts requests: with --pack one carries several messages, and it fell short of
  // the ledger. bulksms_message_outcomes_total counts the messages themselves.
  it('counts message outcomes per message, matching the database, when requests are packed', async () => {
    const c = env.container();
    const { campaignId } = await seedCampaign(c.pg, { recipients: 95, text: 'Your OTP window opens at 10:00', packSize: 10 });
    const { child, exited, metricsUrl } = metricsWorker(20);
    try {
      const url = await metricsUrl;
      const before = await (await request(url)).body.text();
      expect(sample(before, 'bulksms_message_outcomes_total', 'status="sent"')).toBe(0);
      await startCampaign(c, campaignId);
      await waitFor('campaign completed', async () => (await campaignStatus(c.pg, campaignId)) === 'completed', 50_000);
      const text = await (await request(url)).body.text();
      // Sent = accepted by the provider; a delivery report may since have made it `delivered`.
      const { rows } = await c.pg.query<{ sent: number }>(
        `SELECT count(*) FILTER (WHERE sent_at IS NOT NULL)::int AS sent FROM messages WHERE campaign_id = $1`,
        [campaignId],
      );
      expect(rows[0]!.sent).toBe(95);
      expect(sample(text, 'bulksms_message_outcomes_total', 'status="sent"')).toBe(rows[0]!.sent);
      expect(sample(text, 'bulksms_message_outcomes_total')).toBe(95);
      // Packs of up to ten (ten requests when every pack is full): the per-request counter is not the message count.
      const requests = sample(text, 'bulksms_provider_outcomes_total', 'outcome="accepted"');
      expect(requests).toBeGreaterThanOrEqual(10);
      expect(requests).toBeLessThan(95);
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
  }, 90_000);

  it('rejects a bad --metrics-port with exit code 2', async () => {
    const child = spawn(process.execPath, [BIN, 'worker', '--metrics-port', '70000'], { env: { ...process.env, ...env.env }, stdio: 'ignore' });
    expect(await new Promise((resolve) => child.once('exit', resolve))).toBe(2);
  });

  // It failed at listen time instead: a bare "getaddrinfo ENOTFOUND", exit 1, naming neither.
  it.each([
    ['--metrics-host', ['--metrics-host', 'metrics host'], {}, '--metrics-host must be a host name or an IP address'],
    ['METRICS_HOST', [], { METRICS_HOST: 'metrics host' }, 'METRICS_HOST: must be a host name or an IP address'],
  ])('rejects a bad %s with exit code 2, naming it', async (_name, args, extraEnv, message) => {
    const r = await runCli(['worker', '--metrics-port', '0', ...args], { ...env.env, ...extraEnv }, { timeoutMs: 20_000 });
    expect(r.stderr).toContain(message);
    expect(r.code).toBe(2);
  }, 30_000);
});
