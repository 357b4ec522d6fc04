/**
 * The simulator in a process of its own, driven over its admin endpoints (`/__config`, `/__stats`, `/__reset`).
 *
 * A provider does not share an event loop with the sender it judges. The simulator stamps a request's arrival
 * when its event loop gets to it; in the sender's process every stamp also waits for the sender's own work
 * (the demo's worker, progress bar and webhook), and evenly paced requests stamped late in a bunch count as
 * one request too many in a second: the demo's in-process simulator showed "max 201 requests in any 1 s" at a
 * limit of 200 in some runs.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { projectPath } from '../lib/project-path';
import type { SimulatorOptions, SimulatorStats } from './server';

export interface SimulatorChild {
  url: string;
  /** The simulator's process id (for its CPU time or scheduling priority). */
  pid: number;
  /** POST /__config: validated by the simulator, a rejected patch throws. */
  configure(patch: Partial<SimulatorOptions>): Promise<void>;
  stats(): Promise<SimulatorStats>;
  /** POST /__reset: counters, windows and sessions start over. */
  reset(): Promise<void>;
  /** SIGTERM, resolved once the process has exited. */
  close(): Promise<void>;
}

/**
 * The simulator's clock is only as steady as its garbage collector. It keeps every session (for delivery
 * reports), so each young-generation collection copies and promotes them: with V8's default young generation
 * those pauses measured p50 6.7 / p90 13 / max 40 ms at 2000 rps (`node --trace-gc`, bench:http-floor); a 1 MB
 * semi-space gives p50 1.1 / p90 1.4 / max 4 ms for ~2 × the collector's total time, which the simulator can
 * spare. Single-threaded GC because benchmarks run it at real-time priority: a 36 ms major collection with
 * helper threads on both cores once froze every worker, Redis and PostgreSQL with it (traced at 200 rps,
 * 4 workers). Full collections pause longer as the heap grows, and every burst of 429s in a 2000 rps bench came
 * 0.9–1 s after one (the pause delays the stamps of the requests arriving during it; the window ending a second
 * later holds them plus a full second), so growth is capped at 1.5 × per collection: V8's own factor grew the
 * heap to 230 MB after a quiet stretch, and collections of that heap paused 16–22 ms; now 1.6–6 ms.
 */
export const SIMULATOR_NODE_ARGS = ['--max-semi-space-size=1', '--single-threaded-gc', '--heap-growing-percent=50'];

/**
 * Starts a node process that prints `listening on <url>` on stderr; resolves with the URL. `ownProcessGroup`: out of
 * reach of a terminal's Ctrl-C (SIGINT to the whole foreground group), for a child that ends on its own when the IPC
 * channel closes, as `bulksms simulator` does; any other would outlive a Ctrl-C'd parent.
 */
export async function spawnListening(args: string[], apiKey: string, opts: { ownProcessGroup?: boolean } = {}): Promise<{ child: ChildProcess; url: string }> {
  const child: ChildProcess = spawn(process.execPath, args, {
    // The simulator's one valid key; its logs stay quiet unless something is wrong.
    env: { ...process.env, TWOFACTOR_API_KEY: apiKey, LOG_LEVEL: 'warn' },
    // The IPC channel is how the child knows when this process is gone, however it ended (`bulksms simulator`
    // leaves on 'disconnect'); unreferenced, so it never keeps this process alive by itself.
    stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
    detached: opts.ownProcessGroup === true,
  });
  child.channel?.unref();
  const url = await new Promise<string>((resolve, reject) => {
    let err = '';
    child.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
      const m = /listening on (http:\/\/\S+)/.exec(err);
      if (m) resolve(m[1]!);
    });
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`server exited with ${code}: ${err}`)));
  });
  return { child, url };
}

/** `bulksms simulator --port 0 …args` in a child process; it exits when this process does, even when killed. */
export async function startSimulatorChild(apiKey: string, args: string[] = []): Promise<SimulatorChild> {
  // Its own process group: a Ctrl-C took the provider down with the demo's sender, which then could neither finish its
  // requests in flight nor read the counts for its summary ("error: fetch failed"). It ends with this process anyway.
  const { child, url } = await spawnListening([...SIMULATOR_NODE_ARGS, projectPath('bin', 'bulksms.js'), 'simulator', '--port', '0', ...args], apiKey, {
    ownProcessGroup: true,
  });
  const killChild = (): void => void child.kill('SIGTERM');
  process.once('exit', killChild);
  const post = async (p: string, body?: unknown): Promise<void> => {
    const res = await fetch(`${url}${p}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body ?? {}) });
    if (!res.ok) throw new Error(`simulator ${p}: ${res.status} ${await res.text()}`);
    await res.arrayBuffer();
  };
  return {
    url,
    pid: child.pid!,
    configure: (patch) => post('/__config', patch),
    reset: () => post('/__reset'),
    async stats() {
      const res = await fetch(`${url}/__stats`);
      if (!res.ok) throw new Error(`simulator /__stats: ${res.status} ${await res.text()}`);
      return (await res.json()) as SimulatorStats;
    },
    close: () =>
      new Promise<void>((resolve) => {
        process.off('exit', killChild);
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}
