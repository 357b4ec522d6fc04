/**
 * The 2Factor simulator for benchmarks, chaos runs and crash tests: in its own process (src/simulator/child-process.ts
 * says why), so arrival times measured there show no jitter of the harness that polls PostgreSQL and Redis.
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
import { spawnSync } from 'node:child_process';
import { startSimulatorChild, type SimulatorChild } from '../../src/simulator/child-process';
import { readAcceptedLog } from '../../test/helpers/accepted-log';

export { spawnListening } from '../../src/simulator/child-process';

export interface SimulatorProcess extends SimulatorChild {
  /** Accepted count per number (with the leading +) from the `--log` file; needs `logPath`, call before close(). */
  accepted(): Promise<Map<string, number>>;
}

export interface SimulatorProcessOptions {
  /** JSONL log of accepted recipients (`--log`). */
  logPath?: string;
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

/** The simulator in its own process (src/simulator/child-process.ts), at real-time priority where allowed. */
export async function startSimulatorProcess(apiKey: string, args: string[] = [], opts: SimulatorProcessOptions = {}): Promise<SimulatorProcess> {
  const logArgs = opts.logPath ? ['--log', opts.logPath] : [];
  const sim = await startSimulatorChild(apiKey, [...args, ...logArgs]);
  if (!realTimePriority(sim.pid)) {
    process.stderr.write('note: could not give the simulator real-time priority (needs root and chrt); its arrival times include CPU contention\n');
  }
  return {
    ...sim,
    async accepted() {
      if (!opts.logPath) throw new Error('accepted() needs the simulator process started with a logPath');
      return readAcceptedLog(opts.logPath, (await sim.stats()).acceptedRecipients);
    },
  };
}
