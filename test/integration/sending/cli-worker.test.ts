/** `bulksms worker` as operators run it: sends a campaign through the simulator, drains on SIGTERM, exits 0. */
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import { connect, createServer as createNetServer, type AddressInfo } from 'node:net';
import path from 'node:path';
import { useTestEnv } from '../../helpers/env';
import { startTestSimulator, type TestSimulator } from '../../helpers/sending-simulator';
import { campaignStatus, deliveryCheck, seedCampaign, statusCounts, waitFor } from '../../helpers/sending-fixtures';
import { startCampaign } from '../../../src/sending/campaign-control';
import { seedSentMessages } from '../../fixtures/seed-messages';
import { closedPort } from '../../helpers/api-server';

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

  it('drains on a SIGTERM that arrives while it is still starting (its first request in flight)', async () => {
    const c = env.container();
    const { campaignId, listId } = await seedCampaign(c.pg, { recipients: 200 });
    await startCampaign(c, campaignId);
    // Many schedules to rebuild at start-up: the worker is still starting (its scheduler syncing them into Redis)
    // when its sending, which starts first, makes the first request.
    await c.pg.query(
      `INSERT INTO campaigns (name, list_id, type, sender, text, status, schedule_at)
       SELECT 'later-' || g, $1, 'transactional', 'BLKSMS', 'Hi', 'scheduled', now() + interval '30 days' FROM generate_series(1, 1500) g`,
      [listId],
    );
    // A message sent a minute ago, due for a delivery-report poll: a poller started during the drain asks for it.
    const polled = await seedSentMessages(c.pg, `polled-${Date.now()}`, [{ phone: '+919876500001', sessionId: 'OLD1', sentAt: new Date(Date.now() - 60_000) }]);
    // A provider that signals the worker as its first request arrives, and answers every request 300 ms later.
    let child: ReturnType<typeof spawn> | undefined;
    let signalled = false;
    let answered = 0;
    let otherRequests = 0;
    const provider = createServer((req, res) => {
      req.resume();
      if (!req.url?.startsWith('/API/R1')) {
        // Balance checks and delivery-report polls: none is expected of a worker told to stop while starting.
        otherRequests++;
        res.writeHead(404).end();
        return;
      }
      req.on('end', () => {
        if (!signalled && child) {
          signalled = true;
          child.kill('SIGTERM');
        }
        setTimeout(() => {
          answered++;
          res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ Status: 'Success', Details: `S${answered}` }));
        }, 300);
      });
    });
    await new Promise<void>((r) => provider.listen(0, '127.0.0.1', r));
    try {
      child = spawn(process.execPath, [BIN, 'worker'], {
        env: { ...process.env, ...env.env, TWOFACTOR_BASE_URL: `http://127.0.0.1:${(provider.address() as AddressInfo).port}` },
        stdio: 'ignore',
      });
      const exit = await new Promise<[number | null, string | null]>((resolve) => child!.once('exit', (code, signal) => resolve([code, signal])));
      expect(signalled).toBe(true);
      expect(exit).toEqual([0, null]);
      // Every request it made was answered and recorded: nothing left `sending` for the lease to call unknown.
      const counts = await statusCounts(c.pg, campaignId);
      expect(counts.sending ?? 0).toBe(0);
      expect(counts.sent ?? 0).toBe(answered);
      expect(otherRequests).toBe(0);
    } finally {
      provider.close();
      await c.pg.query(`DELETE FROM campaigns WHERE name LIKE 'later-%' OR id = $1`, [polled.campaignId]);
    }
  }, 60_000);

  it('waits for a PostgreSQL that is not up yet instead of exiting, then sends', async () => {
    const c = env.container();
    const { campaignId } = await seedCampaign(c.pg, { recipients: 50 });
    await startCampaign(c, campaignId);
    // The worker's database is behind a port nothing listens on yet; a proxy to the real server opens there later.
    const port = await closedPort();
    const real = new URL(env.env.DATABASE_URL!);
    const proxied = new URL(env.env.DATABASE_URL!);
    proxied.port = String(port);
    const child = spawn(process.execPath, [BIN, 'worker', '--concurrency', '20'], {
      env: { ...process.env, ...env.env, LOG_LEVEL: 'warn', DATABASE_URL: proxied.toString(), TWOFACTOR_BASE_URL: t.sim.url },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<[number | null, string | null]>((resolve) => child.once('exit', (code, signal) => resolve([code, signal])));
    let exitedEarly = false;
    void exited.then(() => (exitedEarly = true));
    const proxy = createNetServer((socket) => {
      const upstream = connect(Number(real.port || 5432), real.hostname);
      socket.pipe(upstream).pipe(socket);
      socket.on('error', () => upstream.destroy());
      upstream.on('error', () => socket.destroy());
    });
    try {
      await waitFor('the worker to say it is waiting', async () => stderr.includes('PostgreSQL cannot be reached; waiting'), 20_000);
      // Still alive a moment later, and nothing sent meanwhile.
      await new Promise((r) => setTimeout(r, 1_500));
      expect(exitedEarly).toBe(false);
      expect((await statusCounts(c.pg, campaignId)).pending).toBe(50);
      await new Promise<void>((r) => proxy.listen(port, '127.0.0.1', r));
      await waitFor('campaign completed', async () => (await campaignStatus(c.pg, campaignId)) === 'completed', 40_000);
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toEqual([0, null]);
    const counts = await statusCounts(c.pg, campaignId);
    expect((counts.sent ?? 0) + (counts.delivered ?? 0)).toBe(50);
    await new Promise((r) => proxy.close(r));
  }, 90_000);

  it('stops at once with exit 0 on SIGTERM while waiting for PostgreSQL', async () => {
    const proxied = new URL(env.env.DATABASE_URL!);
    proxied.port = String(await closedPort());
    const child = spawn(process.execPath, [BIN, 'worker'], {
      env: { ...process.env, ...env.env, LOG_LEVEL: 'warn', DATABASE_URL: proxied.toString(), TWOFACTOR_BASE_URL: t.sim.url },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<[number | null, string | null]>((resolve) => child.once('exit', (code, signal) => resolve([code, signal])));
    await waitFor('the worker to say it is waiting', async () => stderr.includes('cannot be reached; waiting'), 20_000);
    const killedAt = Date.now();
    child.kill('SIGTERM');
    expect(await exited).toEqual([0, null]);
    // Well inside a supervisor's stop grace (docker: 10 s), after which it would be killed.
    expect(Date.now() - killedAt).toBeLessThan(5_000);
  }, 40_000);

  it('exits 1 at once when PostgreSQL answers but refuses (a database that does not exist): waiting would not fix it', async () => {
    const missing = new URL(env.env.DATABASE_URL!);
    missing.pathname = '/bulksms_no_such_database';
    const child = spawn(process.execPath, [BIN, 'worker'], {
      env: { ...process.env, ...env.env, DATABASE_URL: missing.toString(), TWOFACTOR_BASE_URL: t.sim.url },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const exit = await new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    expect(exit).toBe(1);
    expect(stderr).toContain('bulksms migrate');
  }, 40_000);

  it('rejects a bad --concurrency with exit code 2', async () => {
    const child = spawn(process.execPath, [BIN, 'worker', '--concurrency', 'lots'], { env: { ...process.env, ...env.env }, stdio: 'ignore' });
    expect(await new Promise((resolve) => child.once('exit', resolve))).toBe(2);
  });
});
