/**
 * Campaign benchmark: (1) the create-time segments/credits estimate over a big list (streamed keyset pages),
 * (2) how late `--at` schedules fire through BullMQ (due instant → startRun called).
 * Uses a scratch database and its own Redis prefix, dropped afterwards.
 *
 *   npm run bench:campaign -- [--contacts 200000] [--schedules 20] [--db postgresql://…/bulksms_bench_campaign]
 */
import { randomBytes } from 'node:crypto';
import { deleteKeysWithPrefix } from '../src/db/redis';
import { loadConfig } from '../src/config';
import { createContainer } from '../src/container';
import { createLogger } from '../src/logger';
import { migrate } from '../src/db/migrate';
import { maintenanceUrl, quoteIdent, withClient } from '../src/db/pg';
import { createCampaign } from '../src/campaign/campaign-service';
import { startScheduler } from '../src/campaign/scheduler';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i !== -1 && process.argv[i + 1] ? process.argv[i + 1]! : fallback;
}

const pct = (xs: number[], p: number): number => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;

async function main(): Promise<void> {
  const contacts = Number(arg('contacts', '200000'));
  const schedules = Number(arg('schedules', '20'));
  const base = loadConfig();
  const dbUrl = arg('db', (() => { const u = new URL(base.DATABASE_URL); u.pathname = '/bulksms_bench_campaign'; return u.toString(); })());
  const prefix = `bulksms-bench-${randomBytes(3).toString('hex')}`;
  await migrate(dbUrl);
  const config = loadConfig({ ...process.env, DATABASE_URL: dbUrl, QUEUE_PREFIX: prefix, LOG_LEVEL: 'warn' });
  const c = createContainer({ config, logger: createLogger({ level: 'warn' }) });
  try {
    const list = await c.pg.query<{ id: string }>(
      `INSERT INTO contact_lists (name, status, columns) VALUES ($1, 'ready', '{name,city}') RETURNING id`, [`bench-${prefix}`],
    );
    const t0 = performance.now();
    // 2% of the contacts live in a city spelled in Devanagari: their messages are UCS-2.
    await c.pg.query(
      `INSERT INTO contacts (list_id, phone, raw_phone, variables, source_line)
       SELECT $1, '+91' || (9000000000 + g), 'x', jsonb_build_object('name', 'Customer ' || g,
              'city', CASE WHEN g % 50 = 0 THEN 'मुंबई' ELSE 'Mumbai' END), g
         FROM generate_series(1, $2::int) g`,
      [list.rows[0]!.id, contacts],
    );
    console.log(`seeded ${contacts} contacts in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

    const t1 = performance.now();
    const rss0 = process.memoryUsage().rss;
    const r = await createCampaign(c, {
      name: 'bench', list: list.rows[0]!.id, type: 'transactional', from: 'TFCTOR',
      text: 'Dear {{name}}, your order from our {{city}} store has shipped. Track it at https://example.com/t',
    });
    const secs = (performance.now() - t1) / 1000;
    console.log(
      `estimate: ${r.recipients} recipients in ${secs.toFixed(2)} s (${Math.round(r.recipients / secs)} contacts/s), ` +
        `${r.encoding} ${r.segmentsMin}-${r.segmentsMax} segments, ${r.credits} credits, RSS +${Math.round((process.memoryUsage().rss - rss0) / 1e6)} MB`,
    );

    const late: number[] = [];
    const scheduler = await startScheduler(c, {
      startRun: async (_id, _trigger, { dueAt }) => void late.push(Date.now() - dueAt.getTime()),
    });
    try {
      const start = Date.now() + 1500;
      // --at campaigns on a tiny list so creation is instant; due every 100 ms.
      const small = await c.pg.query<{ id: string }>(`INSERT INTO contact_lists (name, status) VALUES ('small', 'ready') RETURNING id`);
      for (let i = 0; i < schedules; i++) {
        await createCampaign(c, { name: `at${i}`, list: small.rows[0]!.id, type: 'transactional', from: 'TFCTOR', text: 'x', at: new Date(start + i * 100).toISOString() });
      }
      const deadline = Date.now() + 5000 + schedules * 100;
      while (late.length < schedules && Date.now() < deadline) await new Promise((res) => setTimeout(res, 50));
    } finally {
      await scheduler.close();
    }
    console.log(`--at firing lateness over ${late.length}/${schedules}: p50 ${pct(late, 50)} ms, p95 ${pct(late, 95)} ms, max ${Math.max(...late)} ms`);
  } finally {
    await c.close();
    const { Redis } = await import('ioredis');
    const redis = new Redis(config.REDIS_URL);
    await deleteKeysWithPrefix(redis, prefix);
    redis.disconnect();
    if (!process.argv.includes('--db')) {
      await withClient(maintenanceUrl(dbUrl).adminUrl, (pg) => pg.query(`DROP DATABASE IF EXISTS ${quoteIdent(maintenanceUrl(dbUrl).database)} WITH (FORCE)`));
    }
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
