/**
 * Archive and restore throughput on a throw-away database: seeds one finished run of N messages, then times
 * `archiveExpiredRuns` (export + gzip + re-read/verify + batched delete) and `restoreArchive` (verify + load).
 *
 *   npm run bench:archive -- [--rows 100000] [--batch 5000]     (env BENCH_ROWS / BENCH_BATCH work as well)
 */
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { archiveExpiredRuns } from '../src/archive/archive';
import { restoreArchive } from '../src/archive/restore';
import { loadConfig } from '../src/config';
import { createContainer } from '../src/container';
import { migrate } from '../src/db/migrate';
import { maintenanceUrl, quoteIdent, withClient } from '../src/db/pg';

function arg(name: string, env: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const n = Number((i >= 0 ? process.argv[i + 1] : process.env[env]) ?? fallback);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`--${name} must be a positive integer`);
  return n;
}

const ROWS = arg('rows', 'BENCH_ROWS', 100_000);
const BATCH = arg('batch', 'BENCH_BATCH', 5000);

async function main(): Promise<void> {
  const base = new URL(process.env.DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/bulksms');
  base.pathname = `/bulksms_bench_archive_${process.pid}`;
  const url = base.toString();
  await migrate(url);
  const config = loadConfig({ DATABASE_URL: url, LOG_LEVEL: 'silent', ARCHIVE_DELETE_BATCH: String(BATCH) });
  const c = createContainer({ config });
  const dir = await mkdtemp(path.join(os.tmpdir(), 'bulksms-bench-archive-'));
  try {
    const list = await c.pg.query<{ id: string }>("INSERT INTO contact_lists (name, status) VALUES ('bench', 'ready') RETURNING id");
    const camp = await c.pg.query<{ id: string }>(
      "INSERT INTO campaigns (name, list_id, type, sender, status) VALUES ('bench', $1, 'transactional', 'BLKSMS', 'completed') RETURNING id",
      [list.rows[0]!.id],
    );
    const run = await c.pg.query<{ id: string }>(
      "INSERT INTO campaign_runs (campaign_id, run_number, status, completed_at) VALUES ($1, 1, 'completed', now() - interval '400 days') RETURNING id",
      [camp.rows[0]!.id],
    );
    let t = Date.now();
    await c.pg.query(
      `INSERT INTO messages (run_id, campaign_id, phone, text, status, session_id, provider_text, sent_at, delivered_at)
       SELECT $1, $2, '+9198' || lpad(g::text, 8, '0'), 'Dear customer ' || g || ', your OTP-free statement is ready.',
              'delivered', md5(g::text), 'Success', now() - interval '400 days', now() - interval '400 days'
         FROM generate_series(1, $3::int) g`,
      [run.rows[0]!.id, camp.rows[0]!.id, ROWS],
    );
    console.log(`seeded ${ROWS} messages in ${Date.now() - t} ms`);

    t = Date.now();
    const deleteMs: number[] = [];
    const archived = await archiveExpiredRuns(c, { dest: dir, onDeleteBatch: (_run, _rows, ms) => deleteMs.push(ms) });
    const archiveMs = Date.now() - t;
    const file = path.join(dir, 'runs', (await readdir(path.join(dir, 'runs')))[0]!);
    const bytes = (await stat(file)).size;
    console.log(
      `archive: ${archived.rows} rows in ${archiveMs} ms = ${Math.round((archived.rows / archiveMs) * 1000)} rows/s ` +
        `(export + verify + delete, batch ${BATCH}); file ${(bytes / 1e6).toFixed(2)} MB = ${(bytes / ROWS).toFixed(1)} B/row`,
    );
    deleteMs.sort((a, b) => a - b);
    console.log(
      `delete batches (rows locked): ${deleteMs.length} × ${BATCH} rows, median ${deleteMs[Math.floor(deleteMs.length / 2)]!.toFixed(1)} ms, ` +
        `max ${deleteMs[deleteMs.length - 1]!.toFixed(1)} ms (row locks are held only this long)`,
    );
    t = Date.now();
    const restored = await restoreArchive(c, dir);
    const restoreMs = Date.now() - t;
    console.log(`restore: ${restored.inserted} rows in ${restoreMs} ms = ${Math.round((restored.inserted / restoreMs) * 1000)} rows/s`);
  } finally {
    await c.close();
    await rm(dir, { recursive: true, force: true });
    await withClient(maintenanceUrl(url).adminUrl, (a) => a.query(`DROP DATABASE IF EXISTS ${quoteIdent(maintenanceUrl(url).database)} WITH (FORCE)`));
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
