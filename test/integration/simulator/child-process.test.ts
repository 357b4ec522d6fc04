/**
 * The simulator as a child process (the demo's and the benchmarks' provider): driven over its admin endpoints,
 * and gone when the process that started it is gone, even when that one was killed outright.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { startSimulatorChild, type SimulatorChild } from '../../../src/simulator/child-process';
import { pidAlive } from '../../helpers/process';

const KEY = 'child-key-1a2b3c4d-5e6f-7a8b-9c0d-1e2f3a4b5c6d';
const ROOT = join(__dirname, '../../..');

async function waitUntil(check: () => boolean, ms: number): Promise<boolean> {
  for (const end = Date.now() + ms; Date.now() < end; await new Promise((r) => setTimeout(r, 50))) if (check()) return true;
  return check();
}

describe('simulator child process', () => {
  let sim: SimulatorChild | undefined;
  afterEach(async () => {
    await sim?.close();
    sim = undefined;
  });

  it('is configured, counts requests and resets over its admin endpoints', async () => {
    sim = await startSimulatorChild(KEY);
    await sim.configure({ rate: 3, latencyMs: [0, 0] });
    const send = () =>
      fetch(`${sim!.url}/API/R1/`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ module: 'TRANS_SMS', apikey: KEY, to: '919876543210', from: 'BLKSMS', msg: 'hello' }).toString(),
      }).then((r) => r.status);
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push(await send());
    expect(statuses).toEqual([200, 200, 200, 429]);
    const stats = await sim.stats();
    expect(stats.requests).toBe(4);
    expect(stats.throttled).toBe(1);
    await expect(sim.configure({ rate: -1 } as never)).rejects.toThrow(/__config: 400/);
    await sim.reset();
    expect((await sim.stats()).requests).toBe(0);
  });

  it('exits when the process that started it is killed', async () => {
    // A parent that starts the simulator, prints its pid and then waits to be killed.
    const script = `require('./src/simulator/child-process').startSimulatorChild(${JSON.stringify(KEY)})
      .then((s) => { process.stdout.write('pid ' + s.pid + '\\n'); setInterval(() => {}, 1000); });`;
    const parent = spawn(process.execPath, ['-r', 'tsx/cjs', '-e', script], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    const pid = await new Promise<number>((resolve, reject) => {
      let out = '';
      parent.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /pid (\d+)/.exec(out);
        if (m) resolve(Number(m[1]));
      });
      parent.once('exit', (code) => reject(new Error(`parent exited with ${code}`)));
    });
    try {
      expect(pidAlive(pid)).toBe(true);
      parent.kill('SIGKILL');
      expect(await waitUntil(() => !pidAlive(pid), 10_000)).toBe(true);
    } finally {
      if (pidAlive(pid)) process.kill(pid, 'SIGKILL'); // an orphan would hold this test's pipes open
    }
  }, 30_000);

  it("keeps answering when a Ctrl-C reaches its parent's process group (the demo then reads its counts)", async () => {
    // A terminal's Ctrl-C is SIGINT to the whole foreground process group. The child shared its parent's, so it shut
    // down with it: `npm run demo` stopped by Ctrl-C ended "error: fetch failed" instead of pausing and summing up.
    const script = `process.on('SIGINT', () => {});
      require('./src/simulator/child-process').startSimulatorChild(${JSON.stringify(KEY)}).then((s) => {
        process.on('SIGINT', () => setTimeout(() => s.stats().then(
          () => process.stdout.write('stats ok\\n'),
          (e) => process.stdout.write('stats failed: ' + e.message + '\\n')), 500));
        process.stdout.write('pid ' + s.pid + '\\n');
        setInterval(() => {}, 1000);
      });`;
    // detached: the parent leads a process group of its own, as a shell's foreground job does.
    const parent = spawn(process.execPath, ['-r', 'tsx/cjs', '-e', script], { cwd: ROOT, detached: true, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    parent.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    let pid: number | undefined;
    try {
      expect(await waitUntil(() => /pid \d+/.test(out), 20_000)).toBe(true);
      pid = Number(/pid (\d+)/.exec(out)![1]);
      process.kill(-parent.pid!, 'SIGINT');
      expect(await waitUntil(() => /stats /.test(out), 10_000)).toBe(true);
      expect(out).toContain('stats ok');
    } finally {
      process.kill(-parent.pid!, 'SIGKILL');
      if (pid !== undefined && (await waitUntil(() => !pidAlive(pid!), 10_000)) === false) process.kill(pid, 'SIGKILL');
    }
  }, 40_000);
});
