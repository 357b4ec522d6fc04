/**
 * `npm run bench:send -- [--duration 10] [--scenario all|200|2000|none] [--workers 1,2] [--pack N] [--million]`
 * Runs campaigns against the 2Factor simulator with sliding-window enforcement and prints, per scenario:
 * achieved/limit, max requests in any 1 s window at the provider (and on the wire, as written: root and tcpdump), 429s, duplicates, CPU-seconds per 1,000
 * messages (worker processes + Redis + this database's PostgreSQL backends, and again with every PostgreSQL process of
 * the host: WAL writer, checkpointer, autovacuum), Redis memory; with --million the
 * Redis footprint while a 1M-recipient campaign is queued. With --pack N, one more scenario: 2000 messages/s of
 * one identical text packed N numbers per request (opt-in packing), i.e. 2000/N requests/s — what a promotional
 * blast reaches on an account limited in requests (`--scenario none --pack 10` runs only that one). Redis
 * CPU/peak are server-wide: on a shared machine other users' load is included (noted in the output).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { Pool } from 'pg';
import { Redis } from 'ioredis';
import { migrate } from '../src/db/migrate';
import { deleteKeysWithPrefix } from '../src/db/redis';
import { maintenanceUrl, quoteIdent, withClient } from '../src/db/pg';
import { startCampaign } from '../src/sending/campaign-control';
import { loadConfig } from '../src/config';
import { startSimulatorProcess, type SimulatorProcess as RunningSimulator } from './lib/simulator-process';
import { startWireCapture } from './lib/wire-capture';
import { seedCampaign } from '../test/helpers/sending-fixtures';
import { readFlags } from './lib/flags';
import { postgresServerPids, processCpuSeconds } from './lib/proc-cpu';

const flags = readFlags();
const flag = flags.value;
const duration = Number(flag('duration', '10'));
const scenarioFlag = flag('scenario', 'all');
const workerCounts = flag('workers', '1,2').split(',').map(Number);
const million = flags.has('million');
const pack = Number(flag('pack', '0'));
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const API_KEY = 'bench-key-0000-1111-2222-333344445555';

interface Scenario {
  /** Requests per second (the account limit). */
  rate: number;
  latency: [number, number];
  /** Numbers per request (1 = one request per message, personalised text). */
  pack: number;
}

const scenarios: Scenario[] = [
  { rate: 200, latency: [100, 500] as [number, number], pack: 1 },
  { rate: 2000, latency: [50, 150] as [number, number], pack: 1 },
].filter((s) => scenarioFlag === 'all' || String(s.rate) === scenarioFlag);
if (pack > 1) scenarios.push({ rate: Math.round(2000 / pack), latency: [50, 150], pack });

const procCpuSeconds = (pid: number): number => processCpuSeconds(pid) ?? 0;

/**
 * CPU seconds of PostgreSQL backends that come and go: each backend's time as last seen while it lived. Read as 0
 * once gone, a backend measured at the start that exited before the end (pg pools close idle clients after 10 s)
 * took its whole earlier CPU off the total — the PostgreSQL share read low, even negative. Backends born and gone
 * between two reads (1 s apart) are still missed.
 */
class BackendCpu {
  private readonly start = new Map<number, number>();
  private readonly last = new Map<number, number>();

  /** Reads every backend now; one seen for the first time starts from `fromZero ? 0 : now`. */
  read(pids: readonly number[], fromZero: boolean): void {
    for (const pid of pids) {
      const now = processCpuSeconds(pid);
      if (now === null) continue;
      if (!this.start.has(pid)) this.start.set(pid, fromZero ? 0 : now);
      this.last.set(pid, now);
    }
    // Backends seen before and not listed now: their last reading stands (read again in case they still live).
    for (const pid of this.last.keys()) {
      if (pids.includes(pid)) continue;
      const now = processCpuSeconds(pid);
      if (now !== null) this.last.set(pid, now);
    }
  }

  used(): number {
    let sum = 0;
    for (const [pid, start] of this.start) sum += (this.last.get(pid) ?? start) - start;
    return sum;
  }
}

async function redisCpu(redis: Redis): Promise<number> {
  const info = await redis.info('cpu');
  const get = (k: string) => Number(new RegExp(`^${k}:([\\d.]+)`, 'm').exec(info)?.[1] ?? 0);
  return get('used_cpu_sys') + get('used_cpu_user');
}

async function prefixMemory(redis: Redis, prefix: string): Promise<number> {
  let cursor = '0';
  let bytes = 0;
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    cursor = next;
    for (const k of keys) bytes += Number((await redis.memory('USAGE', k)) ?? 0);
  } while (cursor !== '0');
  return bytes;
}

async function backendPids(pg: Pool, db: string): Promise<number[]> {
  const { rows } = await pg.query<{ pid: number }>(`SELECT pid FROM pg_stat_activity WHERE datname = $1`, [db]);
  return rows.map((r) => r.pid);
}

const lastStats = new Map<number, string>();

function spawnWorker(env: Record<string, string>): Promise<ChildProcess> {
  const profile = process.env.BENCH_PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROFILE}`] : [];
  const child = spawn(process.execPath, [...profile, '-r', 'tsx/cjs', path.join(__dirname, '..', 'test', 'helpers', 'worker-process.ts')], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      const text = d.toString();
      const stats = /stats (\{.*\})/.exec(text);
      if (stats) lastStats.set(child.pid!, stats[1]!);
      if (text.includes('ready')) resolve(child);
    });
    child.once('exit', (code) => reject(new Error(`worker exited with ${code}`)));
  });
}

async function runScenario({ rate, latency, pack: packSize }: Scenario, workers: number, sim: RunningSimulator): Promise<void> {
  const extraEnv = {
    SMS_RATE_LIMIT: String(rate),
    SMS_REQUEST_TIMEOUT_MS: '5000',
    WORKER_OPTS: JSON.stringify({ campaignServices: false, concurrency: Math.ceil((rate * latency[1] * 1.5) / 1000 / workers) + 20 }),
  };
  await withScratchDeployment(sim, extraEnv, async ({ database, prefix, env, pg, redis }) => {
    const children: ChildProcess[] = [];
    try {
      // No delivery reports are read here: the simulator drops sessions once final, so its heap (and with it its
      // full-GC pauses, the jitter of the clock every window is measured with) does not grow scenario after scenario.
      await sim.configure({ rate, latencyMs: latency, reportRetentionMs: 0 });
      const config = loadConfig(env);
      const recipients = rate * packSize * duration;
      const { campaignId } = await seedCampaign(
        pg,
        packSize > 1 ? { recipients, packSize, text: 'Your order has shipped. Track it at example.in' } : { recipients, text: 'Your code is {{name}}' },
      );
      // Workers start idle; every counter starts just before the campaign does. Materialising the run (PostgreSQL)
      // is a one-time cost per campaign: measured on its own and subtracted from the sending cost.
      for (let i = 0; i < workers; i++) children.push(await spawnWorker(env));
      await sim.reset();
      // The requests as written (kernel capture times), beside the simulator's stamps: scripts/lib/wire-capture.ts.
      const wire = await startWireCapture(Number(new URL(sim.url).port));
      const cpu0 = children.map((c) => procCpuSeconds(c.pid!));
      const redis0 = await redisCpu(redis);
      await redis.config('RESETSTAT');
      const backends = new BackendCpu();
      backends.read(await backendPids(pg, database), false);
      // Every PostgreSQL process of the host, background ones too (WAL writer, checkpointer, autovacuum): what this
      // run's backends leave out. Server-wide like Redis: other users' load is included.
      const server = new BackendCpu();
      server.read(postgresServerPids(), false);
      const m0 = Date.now();
      await startCampaign({ pg, redis, config }, campaignId);
      const materialiseMs = Date.now() - m0;
      backends.read(await backendPids(pg, database), true);
      server.read(postgresServerPids(), true);
      const materialisePgCpu = backends.used();
      const materialiseServerCpu = server.used();
      let peakPrefix = 0;
      for (;;) {
        await new Promise((r) => setTimeout(r, 1000));
        peakPrefix = Math.max(peakPrefix, await prefixMemory(redis, prefix));
        backends.read(await backendPids(pg, database), true);
        server.read(postgresServerPids(), true);
        const { rows } = await pg.query<{ status: string }>(`SELECT status::text AS status FROM campaigns WHERE id = $1`, [campaignId]);
        if (rows[0]!.status === 'completed') break;
      }
      const workerCpu = children.reduce((s, c, i) => s + procCpuSeconds(c.pid!) - cpu0[i]!, 0);
      const redisCpuUsed = (await redisCpu(redis)) - redis0;
      backends.read(await backendPids(pg, database), true);
      const pgCpu = backends.used() - materialisePgCpu;
      server.read(postgresServerPids(), true);
      const pgServerCpu = server.used() - materialiseServerCpu;
      const mem = await redis.info('memory');
      const peak = Number(/^used_memory_peak:(\d+)/m.exec(mem)?.[1] ?? 0);
      const after = await sim.stats();
      const onWire = await wire?.stop();
      // Achieved rate as the provider saw it: requests it served (a 429 is not throughput) between the first and the
      // last arrival.
      const span = after.arrivalSpanMs / 1000;
      const requests = after.requests - after.throttled - 1;
      const accepted = after.acceptedRecipients;
      const counts = await pg.query<{ status: string; n: number }>(
        `SELECT status::text AS status, count(*)::int AS n FROM messages WHERE campaign_id = $1 GROUP BY status`,
        [campaignId],
      );
      const total = workerCpu + redisCpuUsed + pgCpu;
      console.log(
        JSON.stringify({
          scenario: `${rate} rps, ${latency[0]}-${latency[1]} ms, ${workers} worker process(es), ${recipients} messages${packSize > 1 ? `, packed ${packSize} per request` : ''}`,
          achievedPerLimit: Number((requests / span / rate).toFixed(4)),
          messagesPerSecond: Math.round(accepted / span),
          maxRequestsInAny1sWindow: after.maxWindow,
          maxRequestsInAny1sOnTheWire: onWire?.maxWindow ?? 'n/a (needs root and tcpdump)',
          limit: rate,
          throttled429: after.throttled,
          duplicates: after.duplicates,
          acceptedRecipients: accepted,
          statuses: Object.fromEntries(counts.rows.map((r) => [r.status, r.n])),
          cpuSecondsPer1000: {
            total: Number(((total / accepted) * 1000).toFixed(4)),
            workers: Number(((workerCpu / accepted) * 1000).toFixed(4)),
            redisServerWide: Number(((redisCpuUsed / accepted) * 1000).toFixed(4)),
            postgres: Number(((pgCpu / accepted) * 1000).toFixed(4)),
            postgresServerWide: Number(((pgServerCpu / accepted) * 1000).toFixed(4)),
          },
          microsecondsCpuPerMessage: Number(((total / accepted) * 1e6).toFixed(1)),
          // The same with every PostgreSQL process of the host instead of this run's backends only.
          microsecondsCpuPerMessageWithPostgresServerWide: Number((((workerCpu + redisCpuUsed + pgServerCpu) / accepted) * 1e6).toFixed(1)),
          materialise: { ms: materialiseMs, postgresCpuMicrosecondsPerMessage: Number(((materialisePgCpu / recipients) * 1e6).toFixed(1)) },
          loadAverage: readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' '),
          redisPeakMemoryServerWideMB: Number((peak / 1048576).toFixed(1)),
          redisPeakKeysOfThisRunKB: Math.round(peakPrefix / 1024),
          workerStats: children.map((c) => JSON.parse(lastStats.get(c.pid!) ?? '{}') as object),
        }),
      );
      // A benchmark that sent someone the same SMS twice has failed, whatever its speed.
      if (after.duplicates > 0 || accepted !== recipients) process.exitCode = 1;
    } finally {
      for (const c of children) c.kill('SIGTERM');
      await Promise.all(children.map((c) => new Promise((r) => (c.exitCode !== null ? r(null) : c.once('exit', r)))));
    }
  });
}

interface ScratchDeployment {
  database: string;
  prefix: string;
  /** Environment for worker processes and loadConfig(). */
  env: Record<string, string>;
  pg: Pool;
  redis: Redis;
}

/** A migrated scratch database and Redis prefix for one measurement, removed afterwards whatever happens. */
async function withScratchDeployment(sim: RunningSimulator, extraEnv: Record<string, string>, fn: (d: ScratchDeployment) => Promise<void>): Promise<void> {
  const suffix = randomBytes(4).toString('hex');
  const database = `bulksms_bench_${suffix}`;
  const url = new URL(process.env.DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres');
  url.pathname = `/${database}`;
  const prefix = `bench-${suffix}`;
  await migrate(url.toString());
  const env = {
    DATABASE_URL: url.toString(),
    REDIS_URL,
    QUEUE_PREFIX: prefix,
    TWOFACTOR_API_KEY: API_KEY,
    LOG_LEVEL: 'warn',
    TWOFACTOR_BASE_URL: sim.url,
    ...extraEnv,
  };
  const pg = new Pool({ connectionString: env.DATABASE_URL, max: 4 });
  // pg.end() can resolve before an idle connection's socket is closed; DROP DATABASE … WITH (FORCE) then terminates
  // that backend, and its "terminating connection" error on a pool without a listener ended the whole bench (57P01).
  pg.on('error', () => undefined);
  const redis = new Redis(REDIS_URL);
  try {
    await fn({ database, prefix, env, pg, redis });
  } finally {
    await deleteKeysWithPrefix(redis, prefix);
    redis.disconnect();
    await pg.end();
    await withClient(maintenanceUrl(env.DATABASE_URL).adminUrl, (c) => c.query(`DROP DATABASE IF EXISTS ${quoteIdent(database)} WITH (FORCE)`));
  }
}

/** Redis footprint of a 1M-recipient campaign while it is being fed (the window, not the campaign, is in Redis). */
async function millionFootprint(sim: RunningSimulator): Promise<void> {
  await withScratchDeployment(sim, { SMS_RATE_LIMIT: '2000', WORKER_OPTS: '{"campaignServices":false}' }, async ({ prefix, env, pg, redis }) => {
    let child: ChildProcess | undefined;
    try {
      await sim.configure({ rate: 2000, latencyMs: [50, 150], reportRetentionMs: 0 });
      const { campaignId } = await seedCampaign(pg, { recipients: 1_000_000 });
      const t0 = Date.now();
      await startCampaign({ pg, redis, config: loadConfig(env) }, campaignId);
      const materialiseMs = Date.now() - t0;
      child = await spawnWorker(env);
      let peak = 0;
      for (let i = 0; i < 10; i++) {
        await new Promise((r) => setTimeout(r, 1000));
        peak = Math.max(peak, await prefixMemory(redis, prefix));
      }
      console.log(JSON.stringify({ scenario: '1M-recipient campaign queued', materialiseMs, redisKeysOfThisCampaignPeakKB: Math.round(peak / 1024) }));
    } finally {
      child?.kill('SIGTERM');
      if (child) await new Promise((r) => child!.once('exit', r));
    }
  });
}

async function main(): Promise<void> {
  const sim = await startSimulatorProcess(API_KEY, ['--rate', '200', '--latency', '100-500']);
  try {
    for (const s of scenarios) for (const w of workerCounts) await runScenario(s, w, sim);
    if (million) await millionFootprint(sim);
  } finally {
    await sim.close();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
