/**
 * `npm run chaos -- [--recipients 20000] [--only <n>] [--rate 400] [--allow-pg-restart]` (400/s keeps 6 × 20,000 under 10 min)
 * Chaos suite (issue 8): each scenario runs one campaign against real PostgreSQL, Redis, two real
 * `bulksms worker` processes and the 2Factor simulator (sliding-window enforcement, duplicate accounting),
 * injects one fault, waits for the campaign to complete and prints one table row. Counts come from the
 * contract statuses in PostgreSQL (messages table); duplicates and window violations from the simulator, and the
 * fullest second of the requests as written (`wire/limit`: kernel capture times, scripts/lib/wire-capture.ts).
 * The simulator runs in its own process (scripts/lib/simulator-process.ts, real-time priority where allowed),
 * configured over /__config and read over /__stats, like a provider on its own hardware: in the harness's
 * event loop, which also polls PostgreSQL and spawns workers, its stalls stamped arrivals late and bunched
 * (a window of 404 at 400/s, while the workers' written stream never exceeded the limit).
 * Exits 1 when any expectation fails: 0 duplicates, 0 skipped, 0 window violations, unknown ≤ requests that
 * could have been in flight at the fault, and (5, 6) the campaign paused with the reason, then completed.
 *
 * Redis is shared with other work on this machine, so "Redis wiped" deletes every key under the scenario's
 * QUEUE_PREFIX instead of FLUSHALL — for bulksms the same event, since all of its keys live under the prefix.
 * Restarting PostgreSQL would break every other run on a shared server: scenario 3 runs only with
 * --allow-pg-restart. Scenario 7 restarts Redis for real — every connection drops, every key is lost — on a
 * redis-server of its own (scripts/lib/redis-server.ts), so it needs no flag. The scratch database and every
 * prefix are removed at the end.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Pool } from 'pg';
import { Redis } from 'ioredis';
import { loadConfig } from '../src/config';
import { migrate } from '../src/db/migrate';
import { maintenanceUrl, quoteIdent, withClient } from '../src/db/pg';
import { getCampaignStatus, resumeCampaign, startCampaign } from '../src/sending/campaign-control';
import { deleteRedisPrefix } from '../test/helpers/env';
import { seedCampaign, statusCounts, waitFor } from '../test/helpers/sending-fixtures';
import type { SimulatorStats } from '../src/simulator/server';
import { startSimulatorProcess, type SimulatorProcess } from './lib/simulator-process';
import { readFlags } from './lib/flags';
import { startRedisServer, type RedisServer } from './lib/redis-server';
import { canCaptureWire, startWireCapture, type WireCapture } from './lib/wire-capture';

const flags = readFlags();
const flag = flags.value;
const RECIPIENTS = Number(flag('recipients', '20000'));
const RATE = Number(flag('rate', '400'));
const ONLY = flag('only', '');
const ALLOW_PG_RESTART = flags.has('allow-pg-restart');
/** Per-worker requests in flight; 200 rps × ≤150 ms latency needs ~30. */
const CONCURRENCY = 50;
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const API_KEY = 'chaos-key-0000-1111-2222-333344445555';
const BIN = path.join(__dirname, '..', 'bin', 'bulksms.js');
const suffix = randomBytes(4).toString('hex');
const baseUrl = new URL(process.env.DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres');
baseUrl.pathname = `/bulksms_chaos_${suffix}`;
const DATABASE_URL = baseUrl.toString();

interface Ctx {
  sim: SimulatorProcess;
  pg: Pool;
  redis: Redis;
  /** The scenario's own redis-server (scenarios with ownRedis). */
  redisServer: RedisServer | null;
  prefix: string;
  campaignId: string;
  workers: ChildProcess[];
  spawnWorker(): ChildProcess;
  /** Waits until the provider accepted this many recipients in this scenario. */
  accepted(n: number): Promise<void>;
  deps(): Parameters<typeof resumeCampaign>[0];
  notes: string[];
  /** Failed expectations specific to the scenario. */
  failures: string[];
  /** When the fault was injected (epoch ms), to place the worst second relative to it. */
  faultAt?: number;
}

interface Scenario {
  n: number;
  name: string;
  /** Upper bound for `unknown`: requests that could have been in flight when the fault hit (final simulator stats). */
  unknownBound(stats: SimulatorStats): number;
  fault(ctx: Ctx): Promise<void>;
  skip?: string;
  /** Runs against a redis-server of its own instead of REDIS_URL (it restarts it). */
  ownRedis?: boolean;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Both workers' in-flight requests plus one batch each claimed but not yet sent. */
const fleetInFlight = 2 * 2 * CONCURRENCY;

async function pausedThenResume(ctx: Ctx, reasonPattern: RegExp, fix: () => Promise<void>): Promise<void> {
  const paused = await waitFor('campaign paused', async () => {
    const s = await getCampaignStatus(ctx, ctx.campaignId);
    return s.status === 'paused' ? s : null;
  }, 120_000, 200);
  ctx.notes.push(`paused: ${paused.pauseReason ?? '(no reason)'}`);
  if (!reasonPattern.test(paused.pauseReason ?? '')) ctx.failures.push(`pause reason "${paused.pauseReason}" does not match ${reasonPattern}`);
  process.stderr.write(`chaos:   paused (${paused.pauseReason}); fixing the fault and resuming\n`);
  await fix();
  await sleep(500);
  await resumeCampaign(ctx.deps(), ctx.campaignId);
  process.stderr.write('chaos:   resumed\n');
}

const scenarios: Scenario[] = [
  {
    n: 1,
    name: 'SIGKILL a worker ×3',
    unknownBound: () => 3 * 2 * CONCURRENCY,
    async fault(ctx) {
      for (let k = 1; k <= 3; k++) {
        await ctx.accepted(Math.floor((RECIPIENTS * k) / 5));
        const victim = ctx.workers[k % 2]!;
        signal(victim, 'SIGKILL');
        await new Promise((r) => (victim.exitCode !== null || victim.signalCode !== null ? r(null) : victim.once('exit', r)));
        ctx.workers[k % 2] = ctx.spawnWorker();
      }
    },
  },
  {
    n: 2,
    name: 'Redis wiped (prefix)',
    unknownBound: () => fleetInFlight,
    async fault(ctx) {
      await ctx.accepted(Math.floor(RECIPIENTS / 3));
      ctx.faultAt = Date.now();
      await deleteRedisPrefix(REDIS_URL, ctx.prefix);
    },
  },
  {
    n: 3,
    name: 'PostgreSQL restarted',
    skip: ALLOW_PG_RESTART ? undefined : 'skipped: needs exclusive PostgreSQL (--allow-pg-restart)',
    unknownBound: () => fleetInFlight,
    async fault(ctx) {
      await ctx.accepted(Math.floor(RECIPIENTS / 3));
      const version = execFileSync('pg_lsclusters', ['-h']).toString().trim().split(/\s+/)[0]!;
      // Our own pools lose their connections too; pg.Pool replaces broken clients on the next query.
      ctx.faultAt = Date.now();
      execFileSync('pg_ctlcluster', ['--skip-systemctl-redirect', version, 'main', 'restart'], { stdio: 'inherit' });
    },
  },
  {
    n: 4,
    name: 'provider 502/hang/429',
    // A hung request is in doubt by definition, and the client deliberately treats an HTML 502 as "may have
    // reached the provider" (a real gateway 502 can follow processing), so each is one request in flight at a
    // fault. 429s are certainly not sent and are retried. Timeouts of slow (not hung) answers exceed this bound.
    unknownBound: (stats) => (stats.errors.hang ?? 0) + (stats.errors.http_502 ?? 0),
    async fault(ctx) {
      // Half the faults strike after the provider accepted the send: re-sending what is in doubt would then show
      // as duplicates (with every fault before acceptance, this row's "0 duplicates" could not fail).
      await ctx.sim.configure({ failRate: 0.05, hangRate: 0.01, faultAfterAccept: 0.5 });
      for (let burst = 1; burst <= 2; burst++) {
        await ctx.accepted(Math.floor((RECIPIENTS * burst) / 4));
        await ctx.sim.configure({ rate: Math.max(1, Math.floor(RATE / 4)) });
        await sleep(1500);
        await ctx.sim.configure({ rate: RATE });
      }
      ctx.notes.push(`429s=${(await ctx.sim.stats()).throttled}`);
    },
  },
  {
    n: 5,
    name: 'Invalid API Key, fixed',
    // Every answer here is definite (refused, or accepted): nothing may end unknown.
    unknownBound: () => 0,
    async fault(ctx) {
      // Counted in API requests since the simulator started (one process per scenario).
      await ctx.sim.configure({ invalidKeyFromRequest: Math.max(2, Math.floor(RECIPIENTS / 4)) });
      await pausedThenResume(ctx, /invalid api key/i, () => ctx.sim.configure({ invalidKeyFromRequest: null }));
    },
  },
  {
    n: 6,
    name: 'balance out, topped up',
    // Every answer here is definite (refused, or accepted): nothing may end unknown.
    unknownBound: () => 0,
    async fault(ctx) {
      await ctx.sim.configure({ balance: Math.floor(RECIPIENTS / 2) });
      await pausedThenResume(ctx, /balance|credit/i, () => ctx.sim.configure({ balance: null }));
    },
  },
  {
    n: 7,
    name: 'Redis restarted (empty)',
    ownRedis: true,
    unknownBound: () => fleetInFlight,
    async fault(ctx) {
      await ctx.accepted(Math.floor(RECIPIENTS / 3));
      ctx.faultAt = Date.now();
      await ctx.redisServer!.stop();
      await sleep(1500);
      await ctx.redisServer!.start();
    },
  },
];

interface Row {
  n: number;
  name: string;
  cells: (string | number)[];
  ok: boolean;
  /** Not run (it needs a flag): shown as such, never as a passed row. */
  skipped?: boolean;
  notes: string[];
}

/** Workers the suite itself signalled (its SIGKILLs and the final SIGTERM): any other death by a signal is a crash. */
const signalledBySuite = new WeakSet<ChildProcess>();

function signal(child: ChildProcess, sig: NodeJS.Signals): void {
  signalledBySuite.add(child);
  child.kill(sig);
}

function spawnWorker(prefix: string, redisUrl: string, simUrl: string, stderrTail: string[], crashed: string[]): ChildProcess {
  const child = spawn(process.execPath, [BIN, 'worker', '--concurrency', String(CONCURRENCY)], {
    env: {
      ...process.env,
      DATABASE_URL,
      REDIS_URL: redisUrl,
      QUEUE_PREFIX: prefix,
      TWOFACTOR_BASE_URL: simUrl,
      TWOFACTOR_API_KEY: API_KEY,
      SMS_RATE_LIMIT: String(RATE),
      SMS_REQUEST_TIMEOUT_MS: '5000',
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  child.stderr!.on('data', (d: Buffer) => {
    stderrTail.push(d.toString());
    if (stderrTail.length > 20) stderrTail.shift();
  });
  // Killed by the suite: its signal, or exit 0 after its SIGTERM. Anything else is a worker that died by itself — a
  // signal from elsewhere too (the OOM killer): the other worker would finish the campaign and hide it.
  child.once('exit', (code, sig) => {
    if (code !== null && code !== 0) crashed.push(`worker ${child.pid} exited with code ${code} by itself`);
    if (code === null && !signalledBySuite.has(child)) crashed.push(`worker ${child.pid} was killed by ${sig ?? 'a signal'} (not the suite's)`);
  });
  return child;
}

/** The simulator as chaos ran it in-process before: 20–150 ms answers, final delivery reports at once. */
const SIMULATOR_ARGS = ['--rate', String(RATE), '--latency', '20-150', '--dlr-delay-ms', '0'];

async function runScenario(s: Scenario, redis: Redis, logDir: string): Promise<Row> {
  if (s.skip) return { n: s.n, name: s.name, cells: Array<string>(10).fill('-'), ok: true, skipped: true, notes: [s.skip] };
  const sim = await startSimulatorProcess(API_KEY, SIMULATOR_ARGS, { logPath: path.join(logDir, `accepted-${s.n}.jsonl`) });
  const wire = await startWireCapture(Number(new URL(sim.url).port)).catch(async (err: unknown) => {
    await sim.close();
    throw err;
  });
  const redisServer = s.ownRedis ? await startRedisServer() : null;
  const ownClient = redisServer ? new Redis(redisServer.url) : null;
  ownClient?.on('error', () => undefined); // it reconnects after the restart
  try {
    return await runCampaign(s, ownClient ?? redis, redisServer, sim, wire);
  } finally {
    await wire?.stop().catch(() => undefined);
    ownClient?.disconnect();
    await redisServer?.stop();
    await sim.close();
  }
}

async function runCampaign(s: Scenario, redis: Redis, redisServer: RedisServer | null, sim: SimulatorProcess, wire: WireCapture | null): Promise<Row> {
  // A pool per scenario: one scenario's broken or stuck connections (PostgreSQL restart) cannot starve the next.
  const pg = new Pool({ connectionString: DATABASE_URL, max: 8 });
  pg.on('error', () => undefined); // a PostgreSQL restart kills idle clients; the pool replaces them
  const prefix = `chaos-${suffix}-${s.n}`;
  const redisUrl = redisServer?.url ?? REDIS_URL;
  const config = loadConfig({ DATABASE_URL, REDIS_URL: redisUrl, QUEUE_PREFIX: prefix, TWOFACTOR_API_KEY: API_KEY, SMS_RATE_LIMIT: String(RATE) });
  const stderrTail: string[] = [];
  const crashed: string[] = [];
  const spawnOne = (): ChildProcess => spawnWorker(prefix, redisUrl, sim.url, stderrTail, crashed);
  const workers = [spawnOne(), spawnOne()];
  const { campaignId, phones } = await seedCampaign(pg, { recipients: RECIPIENTS, text: 'Chaos {{name}}' });
  const ctx: Ctx = {
    sim, pg, redis, redisServer, prefix, campaignId, workers,
    spawnWorker: spawnOne,
    accepted: (n) => waitFor(`${n} accepted`, async () => (await sim.stats()).acceptedRecipients >= n, 300_000, 50).then(() => undefined),
    deps: () => ({ pg, redis, config }),
    notes: [],
    failures: [],
  };
  const started = Date.now();
  try {
    await startCampaign(ctx.deps(), campaignId);
    await s.fault(ctx);
    const timeoutMs = Math.max(180_000, (RECIPIENTS / RATE) * 10_000);
    await waitFor('campaign completed', async () => (await getCampaignStatus(ctx, campaignId)).status === 'completed', timeoutMs, 250);
  } catch (err) {
    ctx.failures.push(String(err));
    if (stderrTail.length) ctx.notes.push(`worker stderr: ${stderrTail.join('').slice(-500)}`);
  } finally {
    for (const w of workers) if (w.exitCode === null && w.signalCode === null) signal(w, 'SIGTERM');
    await Promise.all(workers.map((w) => (w.exitCode !== null || w.signalCode !== null ? null : new Promise((r) => w.once('exit', r)))));
  }
  const seconds = (Date.now() - started) / 1000;
  const counts = await statusCounts(pg, campaignId);
  const stats = await sim.stats();
  const onWire = await wire?.stop();
  const accepted = await sim.accepted();
  const { rows } = await pg.query<{ phone: string; status: string }>(`SELECT phone, status::text AS status FROM messages WHERE campaign_id = $1`, [campaignId]);
  const status = new Map(rows.map((r) => [r.phone, r.status]));
  // Skipped: no final-or-unknown state, or recorded as sent although the provider never accepted it.
  const skipped = phones.filter((p) => {
    const st = status.get(p);
    if (st === 'sent' || st === 'delivered') return !accepted.has(p);
    return st !== 'failed' && st !== 'unknown';
  }).length;
  const duplicates = Math.max(stats.duplicates, phones.filter((p) => (accepted.get(p) ?? 0) > 1).length);
  const violations = Math.max(0, stats.maxWindow - RATE);
  const sent = (counts.sent ?? 0) + (counts.delivered ?? 0);
  const unknown = counts.unknown ?? 0;
  const bound = s.unknownBound(stats);
  ctx.failures.push(...crashed);
  if (duplicates) ctx.failures.push(`${duplicates} duplicates`);
  if (skipped) ctx.failures.push(`${skipped} skipped`);
  if (violations) {
    const at = stats.maxWindowAt;
    const where = at === null ? '' : ctx.faultAt ? ` (the worst second ended ${((at - ctx.faultAt) / 1000).toFixed(2)} s after the fault)` : ` (the worst second ended ${((at - started) / 1000).toFixed(2)} s into the run)`;
    // Which clock went over: the simulator's stamps (its own stalls bunch them) or the requests as written (our pacing).
    const written = onWire ? `; on the wire, as the workers wrote them: ${onWire.maxWindow} in the fullest second` : '';
    ctx.failures.push(`window ${stats.maxWindow} > ${RATE}${where}${written}`);
  }
  if (unknown > bound) ctx.failures.push(`unknown ${unknown} > bound ${bound}`);
  // The simulator fails no number (its delivery-report failure rate is 0): a failed message is a lost one.
  if (counts.failed) ctx.failures.push(`${counts.failed} failed (nothing here should fail)`);
  const reasons = await pg.query<{ reason: string; n: number }>(
    `SELECT coalesce(failure_reason, '(none)') AS reason, count(*)::int AS n FROM messages WHERE campaign_id = $1 AND status = 'unknown' GROUP BY 1 ORDER BY 2 DESC LIMIT 3`,
    [campaignId],
  );
  for (const r of reasons.rows) ctx.notes.push(`unknown ×${r.n}: ${r.reason.slice(0, 120)}`);
  await deleteRedisPrefix(redisUrl, prefix);
  void pg.end().catch(() => undefined);
  return {
    n: s.n,
    name: s.name,
    cells: [RECIPIENTS, sent, counts.failed ?? 0, `${unknown}≤${bound}`, duplicates, skipped, violations, `${stats.maxWindow}/${RATE}`, onWire ? `${onWire.maxWindow}/${RATE}` : 'n/a', seconds.toFixed(1)],
    ok: ctx.failures.length === 0,
    notes: [...ctx.failures.map((f) => `FAIL ${f}`), ...ctx.notes],
  };
}

function printTable(rows: Row[]): void {
  const head = ['#', 'scenario', 'recipients', 'sent', 'failed', 'unknown≤bound', 'dups', 'skipped', 'violations', 'maxWin/limit', 'wire/limit', 'seconds', 'ok'];
  const body = rows.map((r) => [String(r.n), r.name, ...r.cells.map(String), r.skipped ? 'not run' : r.ok ? 'ok' : 'FAIL']);
  const widths = head.map((h, i) => Math.max(h.length, ...body.filter((b) => b.length > i + 1 || i < 2).map((b) => (b[i] ?? '').length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i] ?? c.length)).join(' | ')} |`;
  process.stdout.write(`${line(head)}\n|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|\n`);
  for (const b of body) process.stdout.write(`${line(b)}\n`);
  for (const r of rows) for (const n of r.notes) process.stdout.write(`  #${r.n}: ${n}\n`);
}

async function main(): Promise<void> {
  await migrate(DATABASE_URL);
  const redis = new Redis(REDIS_URL);
  const logDir = await mkdtemp(path.join(os.tmpdir(), 'bulksms-chaos-'));
  const rows: Row[] = [];
  if (!canCaptureWire()) process.stderr.write('note: no wire view (needs root and tcpdump): the wire/limit column says n/a\n');
  try {
    for (const s of scenarios.filter((x) => !ONLY || String(x.n) === ONLY)) {
      process.stderr.write(`chaos: scenario ${s.n} (${s.name}), ${RECIPIENTS} recipients at ${RATE}/s…\n`);
      rows.push(await runScenario(s, redis, logDir));
    }
  } finally {
    printTable(rows);
    redis.disconnect();
    await rm(logDir, { recursive: true, force: true });
    for (const s of scenarios) await deleteRedisPrefix(REDIS_URL, `chaos-${suffix}-${s.n}`);
    await withClient(maintenanceUrl(DATABASE_URL).adminUrl, (c) => c.query(`DROP DATABASE IF EXISTS ${quoteIdent(`bulksms_chaos_${suffix}`)} WITH (FORCE)`));
  }
  process.stdout.write(`load average: ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}\n`);
  if (rows.some((r) => !r.ok)) process.exitCode = 1;
}

main().catch((err: unknown) => {
  process.stderr.write(`chaos failed: ${String(err)}\n`);
  process.exit(1);
});
