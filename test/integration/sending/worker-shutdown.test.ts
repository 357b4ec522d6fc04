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

interface WorkerRun {
  campaignId: string;
  provider: FakeProvider;
  child: ChildProcess;
  exited: Promise<[number | null, string | null]>;
}

/**
 * A started campaign of `recipients`, a fake provider answering sends in `sendMs` (never, when null) and a spawned
 * worker against them; runs `body`, then kills what is left and cancels the campaign (any worker sends every running
 * campaign of the database: the next test's must not find this one).
 */
async function withWorker(
  opts: { recipients: number; sendMs: number | null; reportMs?: number; env?: Record<string, string> },
  body: (run: WorkerRun) => Promise<void>,
): Promise<void> {
  const c = env.container();
  const { campaignId } = await seedCampaign(c.pg, { recipients: opts.recipients });
  await startCampaign(c, campaignId);
  const provider = await startFakeProvider(opts.sendMs, opts.reportMs ?? 10);
  const { child, exited } = spawnWorker(provider.url, opts.env);
  try {
    await body({ campaignId, provider, child, exited });
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
    await cancelCampaign(c, campaignId);
    provider.server.closeAllConnections();
    provider.server.close();
  }
}

interface TcpProxy {
  /** `url` with its port switched to the proxy's. */
  through(url: string): string;
  /** From now on new connections are accepted and never answered (a firewall dropping them, a stuck pooler). */
  hangNewConnections(): void;
  /** Stops listening and drops every connection: the service is gone (connections refused). */
  cut(): void;
}

async function startTcpProxy(target: string, defaultPort: number): Promise<TcpProxy> {
  const real = new URL(target);
  let hang = false;
  const sockets: Socket[] = [];
  const server = createNetServer((socket) => {
    sockets.push(socket);
    if (hang) return;
    const upstream = connect(Number(real.port || defaultPort), real.hostname);
    sockets.push(upstream);
    socket.pipe(upstream).pipe(socket);
    socket.on('error', () => upstream.destroy());
    upstream.on('error', () => socket.destroy());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = String((server.address() as AddressInfo).port);
  return {
    through(url) {
      const u = new URL(url);
      u.port = port;
      return u.toString();
    },
    hangNewConnections: () => void (hang = true),
    cut() {
      server.close();
      for (const socket of sockets) socket.destroy();
    },
  };
}

describe('bulksms worker shutdown', () => {
  it('on SIGTERM mid-campaign records every request in flight, leaves nothing sending, and exits 0 promptly although report polls are slow', async () => {
    const c = env.container();
    // Sessions due for a delivery-report poll: the worker's poller asks for them (4 at a time) while it sends.
    const sessions = Array.from({ length: 300 }, (_v, i) => ({ phone: `+9197${String(i).padStart(8, '0')}`, sessionId: `R${i}`, sentAt: new Date(Date.now() - 60_000) }));
    const polled = await seedSentMessages(c.pg, `polled-${Date.now()}`, sessions);
    await withWorker({ recipients: 2000, sendMs: 300, reportMs: 4_000 }, async ({ campaignId, provider, child, exited }) => {
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
    });
  }, 60_000);

  it('with a raised SMS_REQUEST_TIMEOUT_MS the drain waits for answers slower than 30 s and records them (exit 0)', async () => {
    // Fewer than the worker's 40 provider connections: every request is written at once, none waits for a
    // connection (with its timeout running) behind a 31 s answer. Answers take 31 s, well inside the 45 s request
    // timeout an operator set for a slow provider (the client's clock starts before the request reaches the server,
    // seconds before on a busy machine).
    await withWorker({ recipients: 30, sendMs: 31_000, env: { SMS_REQUEST_TIMEOUT_MS: '45000' } }, async ({ campaignId, provider, child, exited }) => {
      await waitFor('sends in flight', async () => provider.sendsReceived >= 1, 30_000, 20);
      child.kill('SIGTERM');
      // A fixed 30 s bound exited 1 with these requests `sending`: recovery would call them `unknown`.
      expect(await exited).toEqual([0, null]);
      const counts = await statusCounts(env.container().pg, campaignId);
      expect(counts.sending ?? 0).toBe(0);
      expect(counts.sent ?? 0).toBe(provider.sendsReceived);
      expect(provider.sendsAnswered).toBe(provider.sendsReceived);
    });
  }, 90_000);

  it('a second signal while draining exits at once (130)', async () => {
    // Sends are never answered: the drain would wait out the request timeout.
    await withWorker({ recipients: 200, sendMs: null, env: { SMS_REQUEST_TIMEOUT_MS: '20000' } }, async ({ provider, child, exited }) => {
      await waitFor('a send in flight', async () => provider.sendsReceived >= 1, 30_000, 20);
      child.kill('SIGTERM');
      await new Promise((r) => setTimeout(r, 500));
      const signalledAt = Date.now();
      child.kill('SIGINT');
      expect(await exited).toEqual([130, null]);
      expect(Date.now() - signalledAt).toBeLessThan(2_000);
    });
  }, 60_000);

  it('a provider that never answers: the drain ends at the request timeout (those requests unknown), exit 0', async () => {
    await withWorker({ recipients: 200, sendMs: null, env: { SMS_REQUEST_TIMEOUT_MS: '2000' } }, async ({ campaignId, provider, child, exited }) => {
      await waitFor('a send in flight', async () => provider.sendsReceived >= 1, 30_000, 20);
      const signalledAt = Date.now();
      child.kill('SIGTERM');
      expect(await exited).toEqual([0, null]);
      expect(Date.now() - signalledAt).toBeLessThan(8_000);
      const counts = await statusCounts(env.container().pg, campaignId);
      expect(counts.sending ?? 0).toBe(0);
      // Each request that may have reached the provider is `unknown`, never re-sent by itself; nothing else is.
      expect(counts.unknown ?? 0).toBe(provider.sendsReceived);
      expect((counts.pending ?? 0) + (counts.queued ?? 0) + (counts.unknown ?? 0)).toBe(200);
    });
  }, 60_000);

  it('exits 0 within its bound when new PostgreSQL connections hang while it stands by for the feeder lock', async () => {
    const c = env.container();
    const proxy = await startTcpProxy(env.env.DATABASE_URL!, 5432);
    const provider = await startFakeProvider(10, 10);
    // Another worker is the feeder leader: this one asks for the lock on a new connection every second.
    await withClient(env.env.DATABASE_URL!, async (leader) => {
      await leader.query(`SELECT pg_advisory_lock(hashtext($1))`, [`bulksms-feeder:${env.config.QUEUE_PREFIX}`]);
      const { child, exited } = spawnWorker(provider.url, { DATABASE_URL: proxy.through(env.env.DATABASE_URL!) });
      try {
        await waitFor('the worker standing by', async () => {
          const { rows } = await c.pg.query<{ n: string }>(`SELECT count(*) AS n FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()`, [
            new URL(env.env.DATABASE_URL!).pathname.slice(1),
          ]);
          return Number(rows[0]!.n) >= 3;
        }, 30_000);
        await new Promise((r) => setTimeout(r, 2_000));
        proxy.hangNewConnections();
        // Its next try at the lock is now stuck in connect().
        await new Promise((r) => setTimeout(r, 2_000));
        const signalledAt = Date.now();
        child.kill('SIGTERM');
        // Without a connect timeout the lock connection waited for good, and the drain with it, until the 30 s bound.
        expect(await exited).toEqual([0, null]);
        expect(Date.now() - signalledAt).toBeLessThan(20_000);
      } finally {
        if (child.exitCode === null) child.kill('SIGKILL');
        proxy.cut();
        provider.server.close();
      }
    });
  }, 90_000);

  it('exits within its bound on SIGTERM while Redis is unreachable mid-campaign', async () => {
    const proxy = await startTcpProxy(env.env.REDIS_URL!, 6379);
    try {
      await withWorker({ recipients: 3000, sendMs: 300, env: { REDIS_URL: proxy.through(env.env.REDIS_URL!) } }, async ({ campaignId, provider, child, exited }) => {
        await waitFor('sends answered', async () => provider.sendsAnswered >= 100, 30_000, 20);
        proxy.cut(); // Redis is gone: connections refused, as a stopped Redis does
        await new Promise((r) => setTimeout(r, 1_000));
        const signalledAt = Date.now();
        child.kill('SIGTERM');
        expect(await exited).toEqual([0, null]);
        expect(Date.now() - signalledAt).toBeLessThan(15_000);
        const counts = await statusCounts(env.container().pg, campaignId);
        expect(counts.sending ?? 0).toBe(0);
        expect(counts.unknown ?? 0).toBe(0);
        expect(counts.sent ?? 0).toBe(provider.sendsReceived);
      });
    } finally {
      proxy.cut();
    }
  }, 90_000);
});
