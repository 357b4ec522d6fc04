/**
 * How many send requests/s the simulator sustains on one core (it is single-threaded), zero latency, no rate
 * limit, with real keep-alive HTTP clients. The simulator runs as its own process (`bulksms simulator`), so
 * the load generator does not share its event loop; its CPU time is read from /proc to report requests per
 * CPU-second as well: the fairer number on a busy, shared machine. `--baseline` also measures a bare
 * node:http server answering a fixed envelope the same way, to show what the machine allows at that moment.
 *
 *   npm run bench:simulator -- [--duration 5] [--connections 64] [--recipients 1] [--baseline]
 *   (env BENCH_DURATION_S / BENCH_CONNECTIONS / BENCH_RECIPIENTS work as well)
 */
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Pool } from 'undici';

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
const TICKS = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;

const BARE_SERVER = `
const s = require('node:http').createServer((req, res) => {
  req.on('data', () => undefined);
  req.on('end', () => { const b = '{"Status":"Success","Details":"0123456789abcdef0123456789abcdef"}';
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': b.length }); res.end(b); });
});
s.listen(0, '127.0.0.1', () => process.stderr.write('listening on http://127.0.0.1:' + s.address().port + '\\n'));`;

function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // After "pid (comm) ", utime and stime are the 12th and 13th fields.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / TICKS;
}

async function startChild(args: string[]): Promise<{ url: string; pid: number; stop: () => void }> {
  const child = spawn(process.execPath, args, {
    env: { ...process.env, TWOFACTOR_API_KEY: KEY, LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'inherit', 'pipe'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    let err = '';
    child.stderr!.on('data', (c: Buffer) => {
      err += c.toString();
      const m = /listening on (http:\/\/\S+)/.exec(err);
      if (m) resolve(m[1]!);
    });
    child.on('exit', (code) => reject(new Error(`server exited (${code}): ${err}`)));
  });
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

async function measure(name: string, args: string[]): Promise<Record<string, unknown>> {
  const server = await startChild(args);
  const pool = new Pool(server.url, { connections: CONNECTIONS, pipelining: 1 });
  const to = Array.from({ length: RECIPIENTS }, (_, i) => `9198${String(i).padStart(8, '0')}`).join(',');
  const body = new URLSearchParams({ module: 'TRANS_SMS', apikey: KEY, to, from: 'BENCHX', msg: 'Your code is 123456' }).toString();
  try {
    const warm = Date.now() + 1_000;
    await Promise.all(Array.from({ length: CONNECTIONS }, () => load(pool, body, warm, [])));
    const cpu0 = cpuSeconds(server.pid);
    const t0 = performance.now();
    const latencies: number[] = [];
    const until = Date.now() + DURATION_S * 1_000;
    const ok = (await Promise.all(Array.from({ length: CONNECTIONS }, () => load(pool, body, until, latencies)))).reduce((a, b) => a + b, 0);
    const elapsed = (performance.now() - t0) / 1_000;
    const cpu = cpuSeconds(server.pid) - cpu0;
    latencies.sort((a, b) => a - b);
    const pct = (p: number): number => Number((latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))] ?? 0).toFixed(2));
    return {
      server: name,
      requests: latencies.length,
      accepted: ok,
      requestsPerSecond: Math.round(latencies.length / elapsed),
      serverCpuSeconds: Number(cpu.toFixed(2)),
      requestsPerServerCpuSecond: cpu > 0 ? Math.round(latencies.length / cpu) : null,
      latencyMs: { p50: pct(0.5), p99: pct(0.99) },
    };
  } finally {
    await pool.close();
    server.stop();
  }
}

async function main(): Promise<void> {
  const bin = join(__dirname, '..', 'bin', 'bulksms.js');
  const results = [await measure('simulator', [bin, 'simulator', '--port', '0', '--latency', '0', '--rate', '0', '--dlr-delay-ms', '0'])];
  if (BASELINE) results.push(await measure('bare node:http', ['-e', BARE_SERVER]));
  const sim = results[0]!;
  if (sim.accepted !== sim.requests) throw new Error(`only ${String(sim.accepted)} of ${String(sim.requests)} sends were accepted`);
  process.stdout.write(`${JSON.stringify({ durationS: DURATION_S, connections: CONNECTIONS, recipientsPerRequest: RECIPIENTS, results }, null, 2)}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
