/**
 * `bulksms worker` stopped by a supervisor mid-campaign (docker stop, systemctl stop): SIGTERM lets the requests in
 * flight finish and records them, hands the rest back, and exits 0 well inside the stop grace period; a second
 * signal exits at once.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { connect, createServer as createNetServer, type AddressInfo, type Socket } from 'node:net';
import path from 'node:path';
import { useTestEnv } from '../../helpers/env';
import { campaignStatus, seedCampaign, statusCounts, waitFor } from '../../helpers/sending-fixtures';
import { cancelCampaign, startCampaign } from '../../../src/sending/campaign-control';
import { seedSentMessages } from '../../fixtures/seed-messages';
import { withClient } from '../../../src/db/pg';

const env = useTestEnv({ SMS_RATE_LIMIT: '200' });
const BIN = path.join(__dirname, '..', '..', '..', 'bin', 'bulksms.js');

interface FakeProvider {
  server: Server;
  url: string;
  sendsAnswered: number;
  sendsReceived: number;
  reportsReceived: number;
  reportsAnswered: number;
}

/** A 2Factor look-alike whose send answers take `sendMs` (never, when null) and whose report answers take `reportMs`. */
async function startFakeProvider(sendMs: number | null, reportMs: number): Promise<FakeProvider> {
  const fake = { sendsAnswered: 0, sendsReceived: 0, reportsReceived: 0, reportsAnswered: 0 } as FakeProvider;
  fake.server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      if (req.url?.startsWith('/API/R1')) {
        fake.sendsReceived++;
        if (sendMs === null) return;
        setTimeout(() => {
          fake.sendsAnswered++;
          res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ Status: 'Success', Details: `S${fake.sendsAnswered}` }));
        }, sendMs);
      } else if (req.url?.includes('/RPT/')) {
        fake.reportsReceived++;
        setTimeout(() => {
          fake.reportsAnswered++;
          res.writeHead(200, { 'content-type': 'text/xml' }).end('<smsLog><logStatus>Invalid</logStatus></smsLog>');
        }, reportMs);
      } else {
        res.writeHead(404).end();
      }
    });
  });
  await new Promise<void>((r) => fake.server.listen(0, '127.0.0.1', r));
  fake.url = `http://127.0.0.1:${(fake.server.address() as AddressInfo).port}`;
  return fake;
}

function spawnWorker(providerUrl: string, extraEnv: Record<string, string> = {}): { child: ChildProcess; exited: Promise<[number | null, string | null]> } {
  const child = spawn(process.execPath, [BIN, 'worker', '--concurrency', '40'], {
    env: { ...process.env, ...env.env, TWOFACTOR_BASE_URL: providerUrl, ...extraEnv },
    stdio: 'ignore',
  });
  const exited = new Promise<[number | null, string | null]>((resolve) => child.once('exit', (code, signal) => resolve([code, signal])));
  return { child, exited };
}

describe('bulksms worker shutdown', () => {
  it('on SIGTERM mid-campaign records every request in flight, leaves nothing sending, and exits 0 promptly although report polls are slow', async () => {
    const c = env.container();
    // Sessions due for a delivery-report poll: the worker's poller asks for them (4 at a time) while it sends.
    const sessions = Array.from({ length: 300 }, (_v, i) => ({ phone: `+9197${String(i).padStart(8, '0')}`, sessionId: `R${i}`, sentAt: new Date(Date.now() - 60_000) }));
    const polled = await seedSentMessages(c.pg, `polled-${Date.now()}`, sessions);
    const { campaignId } = await seedCampaign(c.pg, { recipients: 2000 });
    await startCampaign(c, campaignId);
    const provider = await startFakeProvider(300, 4_000);
    const { child, exited } = spawnWorker(provider.url);
    try {
      await waitFor('sends answered and report polls in flight', async () => provider.sendsAnswered >= 100 && provider.reportsReceived >= 1, 30_000, 20);
      const signalledAt = Date.now();
      child.kill('SIGTERM');
      const exit = await exited;
      const tookMs = Date.now() - signalledAt;
      expect(exit).toEqual([0, null]);
      // A report poll pass is 100 sessions, 4 at a time, 4 s each here: waiting for it took the whole 30 s grace.
      expect(tookMs).toBeLessThan(10_000);
      const counts = await statusCounts(c.pg, campaignId);
      // Every request that left was answered and recorded; the rest was handed back, not guessed `unknown`.
      expect(counts.sending ?? 0).toBe(0);
      expect(counts.unknown ?? 0).toBe(0);
      expect(counts.sent ?? 0).toBe(provider.sendsReceived);
      expect(provider.sendsAnswered).toBe(provider.sendsReceived);
      expect((counts.pending ?? 0) + (counts.queued ?? 0) + (counts.sent ?? 0)).toBe(2000);
      // A worker stopping does not stop the campaign: another worker (or this one restarted) carries on.
      expect(await campaignStatus(c.pg, campaignId)).toBe('running');
      // Sessions whose report was not answered are due again at once, not pushed back a back-off step.
      const bumped = await c.pg.query<{ n: string }>(`SELECT count(*) AS n FROM messages WHERE run_id = $1 AND dlr_checks > 0`, [polled.runId]);
      expect(Number(bumped.rows[0]!.n)).toBe(provider.reportsAnswered);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      // Any worker sends every running campaign of the database: the next test's must not find this one.
      await cancelCampaign(c, campaignId);
      provider.server.closeAllConnections();
      provider.server.close();
    }
  }, 60_000);

  it('with a raised SMS_REQUEST_TIMEOUT_MS the drain waits for answers slower than 30 s and records them (exit 0)', async () => {
    const c = env.container();
    // Fewer than the worker's 40 provider connections: every request is written at once, none waits for a
    // connection (with its timeout running) behind a 31 s answer.
    const { campaignId } = await seedCampaign(c.pg, { recipients: 30 });
    await startCampaign(c, campaignId);
    // Answers take 31 s, well inside the 45 s request timeout an operator set for a slow provider (the client's
    // clock starts before the request reaches the server, seconds before on a busy machine).
    const provider = await startFakeProvider(31_000, 10);
    const { child, exited } = spawnWorker(provider.url, { SMS_REQUEST_TIMEOUT_MS: '45000' });
    try {
      await waitFor('sends in flight', async () => provider.sendsReceived >= 1, 30_000, 20);
      child.kill('SIGTERM');
      // A fixed 30 s bound exited 1 with these requests `sending`: recovery would call them `unknown`.
      expect(await exited).toEqual([0, null]);
      const counts = await statusCounts(c.pg, campaignId);
      expect(counts.sending ?? 0).toBe(0);
      expect(counts.sent ?? 0).toBe(provider.sendsReceived);
      expect(provider.sendsAnswered).toBe(provider.sendsReceived);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      await cancelCampaign(c, campaignId);
      provider.server.closeAllConnections();
      provider.server.close();
    }
  }, 90_000);

  it('a second signal while draining exits at once (130)', async () => {
    const c = env.container();
    const { campaignId } = await seedCampaign(c.pg, { recipients: 200 });
    await startCampaign(c, campaignId);
    // Sends are never answered: the drain would wait out the request timeout.
    const provider = await startFakeProvider(null, 10);
    const { child, exited } = spawnWorker(provider.url, { SMS_REQUEST_TIMEOUT_MS: '20000' });
    try {
      await waitFor('a send in flight', async () => provider.sendsReceived >= 1, 30_000, 20);
      child.kill('SIGTERM');
      await new Promise((r) => setTimeout(r, 500));
      const signalledAt = Date.now();
      child.kill('SIGINT');
      expect(await exited).toEqual([130, null]);
      expect(Date.now() - signalledAt).toBeLessThan(2_000);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      // Any worker sends every running campaign of the database: the next test's must not find this one.
      await cancelCampaign(c, campaignId);
      provider.server.closeAllConnections();
      provider.server.close();
    }
  }, 60_000);

  it('a provider that never answers: the drain ends at the request timeout (those requests unknown), exit 0', async () => {
    const c = env.container();
    const { campaignId } = await seedCampaign(c.pg, { recipients: 200 });
    await startCampaign(c, campaignId);
    const provider = await startFakeProvider(null, 10);
    const { child, exited } = spawnWorker(provider.url, { SMS_REQUEST_TIMEOUT_MS: '2000' });
    try {
      await waitFor('a send in flight', async () => provider.sendsReceived >= 1, 30_000, 20);
      const signalledAt = Date.now();
      child.kill('SIGTERM');
      expect(await exited).toEqual([0, null]);
      expect(Date.now() - signalledAt).toBeLessThan(8_000);
      const counts = await statusCounts(c.pg, campaignId);
      expect(counts.sending ?? 0).toBe(0);
      // Each request that may have reached the provider is `unknown`, never re-sent by itself; nothing else is.
      expect(counts.unknown ?? 0).toBe(provider.sendsReceived);
      expect((counts.pending ?? 0) + (counts.queued ?? 0) + (counts.unknown ?? 0)).toBe(200);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      // Any worker sends every running campaign of the database: the next test's must not find this one.
      await cancelCampaign(c, campaignId);
      provider.server.closeAllConnections();
      provider.server.close();
    }
  }, 60_000);

  it('exits 0 within its bound when new PostgreSQL connections hang while it stands by for the feeder lock', async () => {
    const c = env.container();
    // A proxy to the real server that, once switched, accepts new connections and never answers (a firewall dropping
    // them, a stuck pooler); connections made before keep working.
    const real = new URL(env.env.DATABASE_URL!);
    let blackhole = false;
    const held: Socket[] = [];
    const proxy = createNetServer((socket) => {
      held.push(socket);
      if (blackhole) return;
      const upstream = connect(Number(real.port || 5432), real.hostname);
      held.push(upstream);
      socket.pipe(upstream).pipe(socket);
      socket.on('error', () => upstream.destroy());
      upstream.on('error', () => socket.destroy());
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
    const proxied = new URL(env.env.DATABASE_URL!);
    proxied.port = String((proxy.address() as AddressInfo).port);
    const provider = await startFakeProvider(10, 10);
    // Another worker is the feeder leader: this one asks for the lock on a new connection every second.
    await withClient(env.env.DATABASE_URL!, async (leader) => {
      await leader.query(`SELECT pg_advisory_lock(hashtext($1))`, [`bulksms-feeder:${env.config.QUEUE_PREFIX}`]);
      const { child, exited } = spawnWorker(provider.url, { DATABASE_URL: proxied.toString() });
      try {
        await waitFor('the worker standing by', async () => {
          const { rows } = await c.pg.query<{ n: string }>(`SELECT count(*) AS n FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()`, [real.pathname.slice(1)]);
          return Number(rows[0]!.n) >= 3;
        }, 30_000);
        await new Promise((r) => setTimeout(r, 2_000));
        blackhole = true;
        // Its next try at the lock is now stuck in connect().
        await new Promise((r) => setTimeout(r, 2_000));
        const signalledAt = Date.now();
        child.kill('SIGTERM');
        // Without a connect timeout the lock connection waited for good, and the drain with it, until the 30 s bound.
        expect(await exited).toEqual([0, null]);
        expect(Date.now() - signalledAt).toBeLessThan(20_000);
      } finally {
        if (child.exitCode === null) child.kill('SIGKILL');
        for (const socket of held) socket.destroy();
        proxy.close();
        provider.server.close();
      }
    });
  }, 90_000);

  it('exits within its bound on SIGTERM while Redis is unreachable mid-campaign', async () => {
    const c = env.container();
    const { campaignId } = await seedCampaign(c.pg, { recipients: 3000 });
    await startCampaign(c, campaignId);
    const real = new URL(env.env.REDIS_URL!);
    // A proxy to the real Redis that goes away (connections refused) as a stopped Redis does.
    const sockets: Socket[] = [];
    const proxy = createNetServer((socket) => {
      sockets.push(socket);
      const upstream = connect(Number(real.port || 6379), real.hostname);
      sockets.push(upstream);
      socket.pipe(upstream).pipe(socket);
      socket.on('error', () => upstream.destroy());
      upstream.on('error', () => socket.destroy());
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
    const proxied = new URL(env.env.REDIS_URL!);
    proxied.port = String((proxy.address() as AddressInfo).port);
    const provider = await startFakeProvider(300, 10);
    const { child, exited } = spawnWorker(provider.url, { REDIS_URL: proxied.toString() });
    try {
      await waitFor('sends answered', async () => provider.sendsAnswered >= 100, 30_000, 20);
      proxy.close();
      for (const socket of sockets) socket.destroy();
      await new Promise((r) => setTimeout(r, 1_000));
      const signalledAt = Date.now();
      child.kill('SIGTERM');
      expect(await exited).toEqual([0, null]);
      expect(Date.now() - signalledAt).toBeLessThan(15_000);
      const counts = await statusCounts(c.pg, campaignId);
      expect(counts.sending ?? 0).toBe(0);
      expect(counts.unknown ?? 0).toBe(0);
      expect(counts.sent ?? 0).toBe(provider.sendsReceived);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      await cancelCampaign(c, campaignId);
      for (const socket of sockets) socket.destroy();
      provider.server.closeAllConnections();
      provider.server.close();
    }
  }, 90_000);
});
