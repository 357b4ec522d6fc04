/**
 * The 2Factor simulator in its own process, for benchmarks: a provider does not share an event loop with the
 * harness that polls PostgreSQL and Redis, and arrival times measured in a busy harness would show jitter the
 * sender did not cause. Same surface as the in-process RunningSimulator, over the simulator's admin endpoints.
 *
 * It also does not share our CPUs. On a 2-core box the workers, PostgreSQL and Redis keep both cores busy,
 * and a simulator waiting for a core stamps requests late, in bunches: evenly paced requests then look like
 * a burst (measured: write→arrival p99.9 13–21 ms, max 41 ms, enough to put 207 requests into one second
 * at 200/s). So the simulator runs at real-time priority where we may set it (root, `chrt`): it then gets a
 * core the moment a request arrives, as a provider on its own hardware would. Otherwise it runs as it is
 * and the harness says so.
 *
 * With a `logPath` the process appends accepted recipients there (`--log`), and accepted() reads them back
 * per number, as the in-process test simulator does, for per-recipient duplicate and gap checks.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import type { SimulatorOptions, SimulatorStats } from '../../src/simulator/server';
import { readAcceptedLog } from '../../test/helpers/accepted-log';

export interface SimulatorProcess {
  url: string;
  /** The simulator's process id (for its CPU time). */
  pid: number;
  /** POST /__config: validated by the simulator, a rejected patch throws. */
  configure(patch: Partial<SimulatorOptions>): Promise<void>;
  stats(): Promise<SimulatorStats>;
  reset(): Promise<void>;
  /** Accepted count per number (with the leading +) from the `--log` file; needs `logPath`, call before close(). */
  accepted(): Promise<Map<string, number>>;
  close(): Promise<void>;
}

export interface SimulatorProcessOptions {
  /** JSONL log of accepted recipients (`--log`). */
  logPath?: string;
}

const BIN = path.join(__dirname, '..', '..', 'bin', 'bulksms.js');

/**
 * The simulator is the clock of every window measurement: it stamps a request when its event loop gets to it,
 * so its own pauses shift stamps late, and a shifted stamp at the start of a second can put one request too
 * many into that second. It keeps every session (for delivery reports), so each young-generation collection
 * copies and promotes them: with V8's default young generation those pauses measured p50 6.7 / p90 13 / max
 * 40 ms at 2000 rps (`node --trace-gc`, bench:http-floor); a 1 MB semi-space gives p50 1.1 / p90 1.4 / max
 * 4 ms for ~2 × the collector's total time, which the simulator can spare. Single-threaded GC because the
 * simulator runs at real-time priority: a 36 ms major collection with helper threads on both cores once froze
 * every worker, Redis and PostgreSQL with it (traced at 200 rps, 4 workers).
 *
 * Full collections remain, and every burst of 429s in a 2000 rps bench came 0.9–1 s after one (traced: the
 * pause delays the stamps of the requests arriving during it, and the window ending a second later holds
 * them plus a full second). Their pause grows with the heap, so the heap is kept small: `bulksms simulator`
 * loads only the simulator (simulator-main.ts), sessions are packed (session-store.ts), bench:send drops final
 * reports (reportRetentionMs 0) and growth is capped at 1.5 × per collection — V8's own factor grew the heap to
 * 230 MB after a quiet stretch, and the collections of that heap paused 16–22 ms; now 1.6–6 ms over 60 s at
 * 2000 rps, and no bench:send row shows a 1 s window over the limit.
 */
const SIMULATOR_NODE_ARGS = ['--max-semi-space-size=1', '--single-threaded-gc', '--heap-growing-percent=50'];

/** Starts a node process that prints `listening on <url>` on stderr; resolves with the URL. */
export async function spawnListening(args: string[], apiKey: string): Promise<{ child: ChildProcess; url: string }> {
  const child: ChildProcess = spawn(process.execPath, args, {
    env: { ...process.env, TWOFACTOR_API_KEY: apiKey, LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'inherit', 'pipe'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    let err = '';
    child.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
      const m = /listening on (http:\/\/\S+)/.exec(err);
      if (m) resolve(m[1]!);
    });
    child.once('exit', (code) => reject(new Error(`server exited with ${code}: ${err}`)));
  });
  return { child, url };
}

/**
 * Gives all of a process's threads real-time (SCHED_FIFO) priority; returns false where that is not allowed.
 * Safe for a mostly idle event-loop process; the kernel's RT throttling keeps 5 % of each second for others.
 */
function realTimePriority(pid: number): boolean {
  if (process.env.BENCH_SIMULATOR_RT === '0') return false; // for A/B runs without it
  const r = spawnSync('chrt', ['--all-tasks', '--fifo', '--pid', '20', String(pid)], { stdio: 'ignore' });
  return r.status === 0;
}

export async function startSimulatorProcess(apiKey: string, args: string[] = [], opts: SimulatorProcessOptions = {}): Promise<SimulatorProcess> {
  const logArgs = opts.logPath ? ['--log', opts.logPath] : [];
  const { child, url } = await spawnListening([...SIMULATOR_NODE_ARGS, BIN, 'simulator', '--port', '0', ...args, ...logArgs], apiKey);
  if (!realTimePriority(child.pid!)) {
    process.stderr.write('note: could not give the simulator real-time priority (needs root and chrt); its arrival times include CPU contention\n');
  }
  const post = async (p: string, body?: unknown): Promise<unknown> => {
    const res = await fetch(`${url}${p}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body ?? {}) });
    if (!res.ok) throw new Error(`simulator ${p}: ${res.status} ${await res.text()}`);
    return res.json();
  };
  const stats = async (): Promise<SimulatorStats> => {
    const res = await fetch(`${url}/__stats`);
    if (!res.ok) throw new Error(`simulator /__stats: ${res.status} ${await res.text()}`);
    return (await res.json()) as SimulatorStats;
  };
  return {
    url,
    pid: child.pid!,
    configure: async (patch) => void (await post('/__config', patch)),
    reset: async () => void (await post('/__reset')),
    stats,
    async accepted() {
      if (!opts.logPath) throw new Error('accepted() needs the simulator process started with a logPath');
      return readAcceptedLog(opts.logPath, (await stats()).acceptedRecipients);
    },
    close: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}
