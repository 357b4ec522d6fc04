/**
 * How many send requests/s the simulator sustains on one core (it is single-threaded), zero latency, no rate
 * limit, with real keep-alive HTTP clients. The simulator runs as its own process (`bulksms simulator`), so
 * the load generator does not share its event loop; its CPU time is read from /proc to report requests per
 * CPU-second as well: the fairer number on a busy, shared machine. `--baseline` also runs a bare node:http
 * server answering a fixed envelope, driven at the same time with half the connections each, so both see the
 * same machine noise and the ratio between them is meaningful.
 *
 *   npm run bench:simulator -- [--duration 5] [--connections 64] [--recipients 1] [--baseline]
 *   (env BENCH_DURATION_S / BENCH_CONNECTIONS / BENCH_RECIPIENTS work as well)
 */
import { join } from 'node:path';
import type { ServerResponse } from 'node:http';
import { Pool } from 'undici';
import { resolveOptions } from '../src/simulator/options';
import { handleSend } from '../src/simulator/r1';
import { Simulator } from '../src/simulator/simulator';
import { spawnListening } from './lib/simulator-process';
import { processCpuSeconds } from './lib/proc-cpu';

function arg(name: string, env: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const raw = i >= 0 ? process.argv[i + 1] : process.env[env];
  const n = Number(raw ?? fallback);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name} must be a positive number`);
  return n;
}

const DURATION_S = arg('duration', 'BENCH_DURATION_S', 5);
const CONNECTIONS = arg('connections', 'BENCH_CONNECTIONS', 64);
const RECIPIENTS = arg('recipients', 'BENCH_RECIPIENTS', 1);
const BASELINE = process.argv.includes('--baseline');
const KEY = 'bench-key-00000000-0000-0000-0000-000000000000';

const BARE_SERVER = `
const s = require('node:http').createServer((req, res) => {
  req.on('data', () => undefined);
  req.on('end', () => { const b = '{"Status":"Success","Details":"0123456789abcdef0123456789abcdef"}';
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': b.length }); res.end(b); });
});
s.listen(0, '127.0.0.1', () => process.stderr.write('listening on http://127.0.0.1:' + s.address().port + '\\n'));`;

const cpuSeconds = (pid: number): number => processCpuSeconds(pid) ?? 0;

async function startChild(args: string[]): Promise<{ url: string; pid: number; stop: () => void }> {
  const { child, url } = await spawnListening(args, KEY);
  return { url, pid: child.pid!, stop: () => child.kill('SIGTERM') };
}

async function load(pool: Pool, body: string, untilMs: number, latencies: number[]): Promise<number> {
  let ok = 0;
  while (Date.now() < untilMs) {
    const t0 = performance.now();
    const res = await pool.request({ path: '/API/R1/', method: 'POST', body, headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    const text = await res.body.text();
    latencies.push(performance.now() - t0);
    if (res.statusCode === 200 && text.includes('"Success"')) ok++;
  }
  return ok;
}

interface Target {
  name: string;
  args: string[];
}

/** Drives every target at once (connections split evenly) so a noisy machine affects all of them alike. */
async function measure(targets: Target[]): Promise<Record<string, unknown>[]> {
  const servers = await Promise.all(targets.map((t) => startChild(t.args)));
  const perServer = Math.max(1, Math.floor(CONNECTIONS / targets.length));
  const pools = servers.map((s) => new Pool(s.url, { connections: perServer, pipelining: 1 }));
  const to = Array.from({ length: RECIPIENTS }, (_, i) => `9198${String(i).padStart(8, '0')}`).join(',');
  const body = new URLSearchParams({ module: 'TRANS_SMS', apikey: KEY, to, from: 'BENCHX', msg: 'Your code is 123456' }).toString();
  const drive = (until: number, latencies: number[][]): Promise<number[]> =>
    Promise.all(
      pools.map(async (pool, i) => {
        const runs = Array.from({ length: perServer }, () => load(pool, body, until, latencies[i]!));
        return (await Promise.all(runs)).reduce((a, b) => a + b, 0);
      }),
    );
  try {
    await drive(Date.now() + 1_000, pools.map(() => [])); // warm-up: connections, JIT
    const cpu0 = servers.map((s) => cpuSeconds(s.pid));
    const t0 = performance.now();
    const latencies = pools.map((): number[] => []);
    const accepted = await drive(Date.now() + DURATION_S * 1_000, latencies);
    const elapsed = (performance.now() - t0) / 1_000;
    return targets.map((t, i) => {
      const cpu = cpuSeconds(servers[i]!.pid) - cpu0[i]!;
      const lat = latencies[i]!.sort((a, b) => a - b);
      const pct = (p: number): number => Number((lat[Math.min(lat.length - 1, Math.floor(lat.length * p))] ?? 0).toFixed(2));
      return {
        server: t.name,
        connections: perServer,
        requests: lat.length,
        accepted: accepted[i],
        requestsPerSecond: Math.round(lat.length / elapsed),
        serverCpuSeconds: Number(cpu.toFixed(2)),
        requestsPerServerCpuSecond: cpu > 0 ? Math.round(lat.length / cpu) : null,
        latencyMs: { p50: pct(0.5), p99: pct(0.99) },
      };
    });
  } finally {
    await Promise.all(pools.map((p) => p.close()));
    servers.forEach((s) => s.stop());
  }
}

/**
 * CPU time of the simulator's own send logic (parse, checks, session, stats, answer) without the HTTP stack,
 * in-process against a stub response: adds to whatever node:http itself costs per request.
 */
function handlerCpuMicros(iterations = 50_000): number {
  const sim = new Simulator(resolveOptions({ apiKey: KEY, rate: null }));
  const stub = { headersSent: false, destroyed: false, writeHead: () => stub, end: () => stub };
  const res = stub as unknown as ServerResponse;
  const body = new URLSearchParams({ module: 'TRANS_SMS', apikey: KEY, to: '919876543210', from: 'BENCHX', msg: 'Your code is 123456' }).toString();
  for (let i = 0; i < 5_000; i++) handleSend(sim, new URLSearchParams(body), res, performance.now());
  const t0 = process.cpuUsage();
  for (let i = 0; i < iterations; i++) handleSend(sim, new URLSearchParams(body), res, performance.now());
  const used = process.cpuUsage(t0);
  void sim.close();
  return Number(((used.user + used.system) / iterations).toFixed(2));
}

async function main(): Promise<void> {
  const bin = join(__dirname, '..', 'bin', 'bulksms.js');
  const targets: Target[] = [{ name: 'simulator', args: [bin, 'simulator', '--port', '0', '--latency', '0', '--rate', '0', '--dlr-delay-ms', '0'] }];
  if (BASELINE) targets.push({ name: 'bare node:http', args: ['-e', BARE_SERVER] });
  const results = await measure(targets);
  const sim = results[0]!;
  if (sim.accepted !== sim.requests) throw new Error(`only ${String(sim.accepted)} of ${String(sim.requests)} sends were accepted`);
  const summary: Record<string, unknown> = { durationS: DURATION_S, recipientsPerRequest: RECIPIENTS, results, handlerCpuMicrosPerSend: handlerCpuMicros() };
  if (results[1]) {
    const ratio = Number(sim.requestsPerServerCpuSecond) / Number(results[1].requestsPerServerCpuSecond);
    summary.simulatorCostVsBareServer = `${ratio.toFixed(2)}x the requests per CPU-second of a bare node:http server`;
  }
  process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
