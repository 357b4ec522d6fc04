/**
 * Import benchmark: generates a realistic contact CSV (mixed phone spellings, ~2% invalid, ~1% duplicates,
 * a few variable columns, some quoted fields), imports it into a scratch database and prints rows/s, wall
 * time and peak RSS.
 *
 *   npm run bench:import -- [--rows 1000000] [--keep-file] [--db postgresql://…/bulksms_bench]
 */
import { createReadStream, createWriteStream, existsSync, statSync, unlinkSync } from 'node:fs';
import { once } from 'node:events';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../src/config';
import { createContainer } from '../src/container';
import { createLogger } from '../src/logger';
import { migrate } from '../src/db/migrate';
import { importContacts } from '../src/import/import-contacts';
import { fastIndianMobile } from '../src/import/phone';
import { prng } from '../src/demo/sample-csv';
import { processCpuSeconds } from './lib/proc-cpu';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i !== -1 && process.argv[i + 1] ? process.argv[i + 1]! : fallback;
}

const NAMES = ['Aarav', 'Priya', 'Rohan', 'Ananya', 'Vikram', 'Sneha', 'Arjun', 'Kavya', 'Rahul', 'Isha'];
const SURNAMES = ['Sharma', 'Patel', 'Iyer', 'Reddy', 'Singh', 'Gupta', 'Nair', 'Das'];
const CITIES = ['Mumbai', 'Delhi', 'Bengaluru', 'Chennai', 'Kolkata', 'Pune', 'Hyderabad', 'Jaipur'];
const INVALID = ['abc', '12345', '022 2345 6789', '', '98765432101', '+1 555', 'N/A', '0000000000'];

function spell(n: string, r: number): string {
  if (r < 0.4) return n;
  if (r < 0.6) return `+91${n}`;
  if (r < 0.7) return `91${n}`;
  if (r < 0.8) return `0${n}`;
  if (r < 0.9) return `+91 ${n.slice(0, 5)} ${n.slice(5)}`;
  if (r < 0.95) return `${n.slice(0, 3)}-${n.slice(3, 6)}-${n.slice(6)}`;
  return `(${n.slice(0, 3)}) ${n.slice(3, 6)}.${n.slice(6)}`;
}

async function generate(file: string, rows: number): Promise<void> {
  const rnd = prng(42);
  const out = createWriteStream(file);
  const recent: string[] = [];
  let chunk = 'Name,Mobile Number,City,Amount,Note\n';
  for (let i = 0; i < rows; i++) {
    let phone: string;
    const r = rnd();
    if (r < 0.02) phone = INVALID[Math.floor(rnd() * INVALID.length)]!;
    else if (r < 0.03 && recent.length) phone = spell(recent[Math.floor(rnd() * recent.length)]!, rnd());
    else {
      let n: string;
      do n = String(6000000000 + Math.floor(rnd() * 4000000000));
      while (fastIndianMobile(n) === null);
      if (recent.length < 1000) recent.push(n);
      else recent[Math.floor(rnd() * 1000)] = n;
      phone = spell(n, rnd());
    }
    const name = `${NAMES[i % NAMES.length]} ${SURNAMES[Math.floor(rnd() * SURNAMES.length)]}`;
    const note = rnd() < 0.05 ? `"likes ""offers"", calls"` : `order ${i}`;
    chunk += `${rnd() < 0.1 ? `"${name}"` : name},${phone},${CITIES[i % CITIES.length]},${(rnd() * 5000).toFixed(2)},${note}\n`;
    if (chunk.length > 1 << 16) {
      if (!out.write(chunk)) await once(out, 'drain');
      chunk = '';
    }
  }
  out.end(chunk);
  await once(out, 'finish');
}

/** CPU seconds used so far by the PostgreSQL backends serving this database (same host only). */
async function backendCpuSeconds(pg: { query: (sql: string) => Promise<{ rows: { pid: number }[] }> }): Promise<number | null> {
  const { rows } = await pg.query('SELECT pid FROM pg_stat_activity WHERE datname = current_database()');
  let seconds = 0;
  for (const { pid } of rows) {
    const used = processCpuSeconds(pid);
    if (used === null) return null; // not on this host (or not Linux)
    seconds += used;
  }
  return seconds;
}

async function main(): Promise<void> {
  const rows = Number(arg('rows', '1000000'));
  const dbUrl = arg('db', process.env.BENCH_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/bulksms_bench');
  const file = path.join(os.tmpdir(), `bulksms-bench-${rows}.csv`);
  if (!existsSync(file)) {
    const t = Date.now();
    await generate(file, rows);
    process.stderr.write(`generated ${file} (${(statSync(file).size / 1e6).toFixed(1)} MB) in ${Date.now() - t} ms\n`);
  }
  await migrate(dbUrl);
  const config = loadConfig({ ...process.env, DATABASE_URL: dbUrl, REPORTS_DIR: path.join(os.tmpdir(), 'bulksms-bench-reports') });
  const c = createContainer({ config, logger: createLogger({ level: 'warn' }) });
  const listName = `bench-${Date.now()}`;
  let peakRss = process.memoryUsage.rss();
  const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage.rss())), 50);
  // Open the pool's connections first so their backends exist (and are counted) before timing starts.
  await Promise.all([c.pg.query('SELECT 1'), c.pg.query('SELECT 1')]);
  // Every run deletes its list afterwards; without a vacuum (autovacuum may be off, as on the dev box) the
  // dead rows of earlier runs pile up and each run inserts into ever larger tables and indexes.
  await c.pg.query('VACUUM contacts');
  const pgCpuBefore = await backendCpuSeconds(c.pg);
  const cpuBefore = process.cpuUsage();
  const started = process.hrtime.bigint();
  try {
    const result = await importContacts(c, createReadStream(file, { highWaterMark: 64 * 1024 }), { listName, fileName: file });
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    clearInterval(sampler);
    const cpu = process.cpuUsage(cpuBefore);
    const pgCpuAfter = await backendCpuSeconds(c.pg);
    peakRss = Math.max(peakRss, process.memoryUsage.rss(), process.resourceUsage().maxRSS * 1024);
    const summary = {
      rows: result.rows,
      accepted: result.accepted,
      rejected: result.rejected,
      duplicates: result.duplicates,
      suppressed: result.suppressed,
      wallSeconds: Number(seconds.toFixed(2)),
      rowsPerSecond: Math.round(result.rows / seconds),
      peakRssMB: Math.round(peakRss / 1024 / 1024),
      // Load-independent view for a shared machine: with parsing and writing overlapped, the wall time on
      // an idle 2-core host approaches max(nodeCpu, postgresCpu).
      nodeCpuSeconds: Number(((cpu.user + cpu.system) / 1e6).toFixed(2)),
      postgresCpuSeconds: pgCpuBefore === null || pgCpuAfter === null ? null : Number((pgCpuAfter - pgCpuBefore).toFixed(2)),
      loadAverage1m: Number(os.loadavg()[0]!.toFixed(1)),
    };
    process.stdout.write(`${JSON.stringify(summary)}\n`);
    await c.pg.query('DELETE FROM contact_lists WHERE id = $1', [result.listId]);
    await c.pg.query('VACUUM contacts');
    if (result.rejectReport) unlinkSync(result.rejectReport);
  } finally {
    clearInterval(sampler);
    if (!process.argv.includes('--keep-file') && rows > 1_000_000) unlinkSync(file);
    await c.close();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exitCode = 1;
});
