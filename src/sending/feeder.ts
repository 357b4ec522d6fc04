/**
 * The feeder moves messages from PostgreSQL into Redis in a bounded window: at most `window` requests' worth of
 * messages of all running runs are `queued`/`sending` at any time, so a 1M-recipient campaign costs Redis a few
 * dozen jobs, not a million. Window and batches count requests, not messages: a run packing P numbers per
 * request (opt-in packing) gets P messages per unit, or it would starve at 1/P of the rate (measured: a run
 * packed 10 per request at 200 requests/s reached 568 messages/s of its 2,000 with message-counted units).
 * One feeder is active fleet-wide (PostgreSQL session advisory lock; a crashed leader's lock goes with its
 * connection). The leader also completes finished runs, expires stale claims and detects Redis data loss.
 */
import { randomBytes } from 'node:crypto';
import type { Queue } from 'bullmq';
import type { Client, Pool } from 'pg';
import type { Logger } from '../logger';
import type { Redis } from '../db/redis';
import { compareIds } from './ids';
import { batchJobId, type SendJobData } from './keys';
import { expireStaleSending, requeueAllQueued, requeueStaleQueued } from './recovery';
import { completeFinishedRuns } from './run-completion';

export interface FeederOptions {
  /** Max requests' worth of messages queued+sending at once, fleet-wide (a request carries a run's pack size). */
  window: number;
  /** Requests' worth of message ids per BullMQ job (batchSize × the run's pack size ids). */
  batchSize: number;
  tickMs: number;
  /**
   * Wait between passes while no run is running (default 1000 ms). An idle pass every tickMs was ~0.9 % of a
   * core per leader for nothing (a PostgreSQL query and a Redis call ten times a second); a start or resume
   * does not wait for it: the worker wakes the feeder when the control channel announces a running campaign.
   */
  idleTickMs?: number;
  /** `sending` older than this becomes `unknown`. */
  leaseMs: number;
  /** `queued` older than this is assumed to have lost its job. */
  staleQueuedMs: number;
  epochKey: string;
  lockKey: string;
  /**
   * The leader's lock session ends once it has been silent this long (default 15 s; PostgreSQL's
   * idle_session_timeout), and a live leader speaks on it three times as often. A leader killed by a signal closes
   * its connection, but one whose host is lost (power, a kernel panic, a network partition, a frozen VM) closes
   * nothing: PostgreSQL kept its session, and the lock, until TCP keep-alive gave up — two hours and more by
   * default — and the fleet fed nothing and recovered no claim meanwhile.
   */
  leaderIdleMs?: number;
}

interface RunRow {
  id: string;
  campaign_id: string;
  /** Numbers per request (campaigns.pack_size); 1 without packing. */
  pack: number;
}

export interface Feeder {
  /** One feeding pass (exposed for tests); returns requests' worth enqueued (the window's unit). */
  tick(): Promise<number>;
  isLeader(): boolean;
  /** Runs the next pass now instead of after the current wait (a campaign was started or resumed). */
  wake(): void;
  close(): Promise<void>;
}

export function startFeeder(deps: { pg: Pool; newClient: () => Client; redis: Redis; queue: Queue<SendJobData>; logger: Logger }, opts: FeederOptions): Feeder {
  const { pg, redis, queue, logger } = deps;
  let lockClient: Client | null = null;
  const leaderIdleMs = opts.leaderIdleMs ?? 15_000;
  /** Keeps the lock's session from the idle timeout while this process lives (see leaderIdleMs). */
  let heartbeat: NodeJS.Timeout | null = null;
  let stopped = false;
  let lastMaintenance = -Infinity;
  let lastCompletionCheck = -Infinity;
  /** The last pass found no running run. */
  let idle = false;
  let wakeUp: (() => void) | null = null;
  /** A wake (or close) came while no nap was running: the next nap returns at once instead of sleeping. */
  let woken = false;
  let running: Promise<unknown> = Promise.resolve();
  const generation = () => randomBytes(4).toString('hex');

  async function acquire(): Promise<boolean> {
    if (lockClient) return true;
    const client = deps.newClient();
    client.on('error', () => undefined);
    try {
      await client.connect();
      // Before the lock, so it is never held by a session the server would keep after this host is gone. A server
      // without the setting (PostgreSQL < 14) refuses it: the lock then lives as long as the connection, as before.
      await client.query(`SELECT set_config('idle_session_timeout', $1, false)`, [`${leaderIdleMs}ms`]).catch((err: unknown) => {
        logger.warn({ err }, 'feeder: PostgreSQL cannot end a silent leader session (idle_session_timeout); a lost leader host holds the lock until TCP gives up');
      });
      const { rows } = await client.query<{ ok: boolean }>(`SELECT pg_try_advisory_lock(hashtext($1)) AS ok`, [opts.lockKey]);
      if (!rows[0]?.ok) {
        await client.end();
        return false;
      }
      client.on('end', () => {
        if (lockClient !== client) return;
        lockClient = null;
        stopHeartbeat();
      });
      lockClient = client;
      startHeartbeat(client);
      logger.info('feeder: this worker is the leader');
      return true;
    } catch (err) {
      await client.end().catch(() => undefined);
      logger.warn({ err }, 'feeder: could not take the leader lock');
      return false;
    }
  }

  /**
   * A query on the lock's session every third of leaderIdleMs, one at a time (a silent link leaves it hanging: the
   * session then times out on the server, which is the point). An event loop stalled past leaderIdleMs loses the
   * lead; the next pass takes it again if it is free, and two feeders for a moment are harmless (SKIP LOCKED moves).
   */
  function startHeartbeat(client: Client): void {
    let inFlight = false;
    heartbeat = setInterval(() => {
      if (inFlight) return;
      inFlight = true;
      client
        .query('SELECT 1')
        .catch(() => undefined)
        .finally(() => (inFlight = false));
    }, Math.max(100, Math.floor(leaderIdleMs / 3)));
    heartbeat.unref();
  }

  function stopHeartbeat(): void {
    if (heartbeat) clearInterval(heartbeat);
    heartbeat = null;
  }

  /** Redis lost its data (FLUSHALL, failover without persistence): rebuild the queue from PostgreSQL. */
  async function checkEpoch(): Promise<void> {
    if (await redis.exists(opts.epochKey)) return;
    const generationId = generation();
    const set = await redis.set(opts.epochKey, generationId, 'NX');
    if (set !== 'OK') return;
    let requeued: number;
    try {
      requeued = await requeueAllQueued(pg);
    } catch (err) {
      // Not handed back: take the marker away again, so the next pass retries instead of leaving the rows to the
      // stale-queued sweep (minutes). Only our own marker (compare-and-delete), never a newer leader's.
      await redis.eval(`if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`, 1, opts.epochKey, generationId).catch(() => undefined);
      throw err;
    }
    if (requeued) logger.warn({ requeued }, 'feeder: Redis lost its data; queued messages handed back to the feeder');
  }

  async function enqueue(run: RunRow, ids: string[]): Promise<void> {
    const gen = generation();
    const jobs = [];
    const perJob = opts.batchSize * run.pack;
    for (let i = 0; i < ids.length; i += perJob) {
      const batch = ids.slice(i, i + perJob);
      const data: SendJobData = { campaignId: run.campaign_id, runId: run.id, ids: batch };
      jobs.push({ name: 'send', data, opts: { jobId: batchJobId(run.id, batch[0]!, batch.length, gen) } });
    }
    try {
      await queue.addBulk(jobs);
    } catch (err) {
      // Not enqueued: give the rows back so they are not stuck in `queued` until the stale sweep.
      await pg.query(`UPDATE messages SET status = 'pending', queued_at = NULL WHERE id = ANY($1::bigint[]) AND status = 'queued'`, [ids]);
      throw err;
    }
  }

  async function jobsInQueue(): Promise<number> {
    const counts = await queue.getJobCounts('wait', 'active', 'delayed', 'prioritized', 'waiting-children');
    return Object.values(counts).reduce((a, b) => a + b, 0);
  }

  async function completeFinished(runIds: string[]): Promise<void> {
    const done = await completeFinishedRuns(pg, runIds);
    if (done.length) logger.info({ runs: done.map((r) => r.runId) }, 'feeder: runs completed');
  }

  /** The run fed last: the next pass starts after it (see takingTurns). */
  let lastFedRunId: string | null = null;

  /**
   * The runs in creation order, starting after the one fed last. With more running runs than the window has
   * batches for, a pass feeds only the first few; always starting from the oldest, a later campaign got nothing
   * until every older one had drained its whole list.
   */
  function takingTurns<R extends { id: string }>(runs: readonly R[]): R[] {
    const start = runs.findIndex((r) => r.id === lastFedRunId) + 1;
    return [...runs.slice(start), ...runs.slice(0, start)];
  }

  async function feed(): Promise<number> {
    if (!(await acquire())) return 0;
    await checkEpoch();
    // Monotonic: a wall clock stepped back (NTP, an operator) stopped the recovery sweeps for as long as the step.
    const now = performance.now();
    if (now - lastMaintenance > 2000) {
      lastMaintenance = now;
      const expired = await expireStaleSending(pg, opts.leaseMs);
      const stale = await requeueStaleQueued(pg, opts.staleQueuedMs);
      if (expired || stale) logger.warn({ expired, stale }, 'feeder: recovered stale messages');
    }
    const runs = (
      await pg.query<RunRow>({
        name: 'bulksms-feeder-runs',
        text: `SELECT r.id, r.campaign_id, greatest(c.pack_size, 1) AS pack FROM campaign_runs r JOIN campaigns c ON c.id = r.campaign_id
          WHERE r.status = 'running' AND c.status = 'running' ORDER BY r.created_at`,
      })
    ).rows;
    idle = runs.length === 0;
    if (idle) return 0;
    // Room in the window from the jobs in Redis, not from counting queued/sending rows: while a run is sending,
    // the (run_id, status) index holds a dead entry for every message that passed through those statuses until
    // vacuum catches up, so that count cost milliseconds per tick (a bitmap scan does not mark them dead).
    // Every queued/sending message belongs to a job still in the queue; jobs × batchSize is an upper bound
    // (an active job may have finished part of its batch), so the window is never exceeded by live jobs.
    // Units are requests: a job holds batchSize requests' worth of its run's messages.
    const jobs = await jobsInQueue();
    let room = opts.window - jobs * opts.batchSize;
    let enqueued = 0; // requests' worth, like room
    const drained: string[] = [];
    // Share the window between runs so one huge campaign does not starve the others.
    const share = Math.max(opts.batchSize, Math.ceil(room / runs.length));
    for (const run of takingTurns(runs)) {
      const n = Math.min(room, share);
      if (n < Math.min(opts.batchSize, opts.window)) {
        // No room left for this run this tick; it may still be finished (checked below like a drained one).
        drained.push(run.id);
        continue;
      }
      // FOR SHARE: the status is read under the campaign row's lock, not from this statement's snapshot — a pause
      // committing mid-statement (it releases `queued` rows, and these are still `pending` to it) would otherwise
      // leave this move's rows queued under a paused campaign. SKIP LOCKED: a campaign a control change holds
      // (pause, cancel, retry: seconds for a big one) moves nothing this pass; waiting stalled every other campaign.
      const moved = await pg.query<{ id: string }>({
        name: 'bulksms-feeder-move',
        text: `UPDATE messages SET status = 'queued', queued_at = now(), updated_at = now()
          WHERE id IN (SELECT id FROM messages
                        WHERE run_id = $1 AND status = 'pending' AND (next_attempt_at IS NULL OR next_attempt_at <= now())
                          AND EXISTS (SELECT 1 FROM campaigns c WHERE c.id = $3 AND c.status = 'running' FOR SHARE SKIP LOCKED)
                        ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED)
        RETURNING id::text AS id`,
        values: [run.id, n * run.pack, run.campaign_id],
      });
      const ids = moved.rows.map((r) => r.id).sort(compareIds);
      if (ids.length) {
        await enqueue(run, ids);
        lastFedRunId = run.id;
      } else drained.push(run.id);
      const units = Math.ceil(ids.length / run.pack);
      room -= units;
      enqueued += units;
    }
    // A run that moved nothing may be finished. Checked at once when the queue is empty, otherwise at most every
    // half second: the NOT EXISTS walks the dead index entries of the run's moved rows (~2 ms at 40k messages).
    if (drained.length && (jobs === 0 || now - lastCompletionCheck >= 500)) {
      lastCompletionCheck = now;
      await completeFinished(drained);
    }
    // Run counters are not refreshed here while a run sends: every reader goes through getCampaignStatus,
    // which refreshes them, and the refresh scans the whole run (every 5 s it cost ~0.5 µs per message of the
    // run: 10 % of a core for a 1M-recipient run). Completion (above), start and cancel refresh them too.
    return enqueued;
  }

  const tick = (): Promise<number> => {
    const p = running.then(feed, feed);
    running = p.catch(() => undefined);
    return p;
  };

  const loop = async (): Promise<void> => {
    while (!stopped) {
      let enqueued = 0;
      try {
        enqueued = await tick();
      } catch (err) {
        logger.warn({ err }, 'feeder: pass failed');
      }
      // Re-run at once while there is backlog to fill, otherwise wait a tick (longer when idle or not the leader).
      const wait = !lockClient ? 1000 : idle ? (opts.idleTickMs ?? 1000) : enqueued >= opts.window / 2 ? 0 : opts.tickMs;
      await nap(wait);
    }
  };
  /**
   * Sleeps `ms`, or less when woken. A wake that came during the pass counts: a start announced while the pass
   * was reading the runs would otherwise wait an idle tick, and a close a whole one (60 s in a test: a hook timeout).
   */
  const nap = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      if (woken || stopped) {
        woken = false;
        resolve();
        return;
      }
      const done = (): void => {
        clearTimeout(timer);
        wakeUp = null;
        woken = false;
        resolve();
      };
      const timer = setTimeout(done, ms);
      wakeUp = done;
    });
  const looping = loop();

  return {
    tick,
    isLeader: () => lockClient !== null,
    wake: () => {
      woken = true;
      wakeUp?.();
    },
    async close() {
      stopped = true;
      wakeUp?.();
      await looping;
      await running;
      const client = lockClient;
      lockClient = null;
      stopHeartbeat();
      if (client) await client.end().catch(() => undefined);
    },
  };
}
