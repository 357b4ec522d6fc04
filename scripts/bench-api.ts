/**
 * API throughput on a throw-away database: seeds one campaign with BENCH_MESSAGES messages (30 % failed),
 * then times the streamed failures.csv export, a full keyset walk of /messages, a /metrics scrape and /health.
 *   BENCH_MESSAGES=200000 npm run bench:api
 */
import { request } from 'undici';
import { loadConfig } from '../src/config';
import { createContainer } from '../src/container';
import { createLogger } from '../src/logger';
import { maintenanceUrl, quoteIdent, withClient } from '../src/db/pg';
import { migrate } from '../src/db/migrate';
import { buildServer } from '../src/api/server';
import type { ApiServices } from '../src/api/deps';

const N = Number(process.env.BENCH_MESSAGES ?? 50_000);
const TOKEN = 'bench-token-0123456789abcdef';

async function main(): Promise<void> {
  const base = loadConfig();
  const db = `bulksms_bench_api_${process.pid}`;
  const url = new URL(base.DATABASE_URL);
  url.pathname = `/${db}`;
  await migrate(url.toString());
  const config = loadConfig({ ...process.env, DATABASE_URL: url.toString(), API_TOKEN: TOKEN, LOG_LEVEL: 'silent' });
  const container = createContainer({ config, logger: createLogger({ level: 'silent' }) });
  const notUsed = new Proxy({}, { get: () => async () => { throw new Error('not used by the benchmark'); } }) as ApiServices;
  const app = await buildServer({ container, services: notUsed, options: { dashboard: false } });
  try {
    const t0 = performance.now();
    const { rows } = await container.pg.query<{ c: string; r: string }>(
      `WITH l AS (INSERT INTO contact_lists (name, status) VALUES ('bench', 'ready') RETURNING id),
            c AS (INSERT INTO campaigns (name, list_id, type, sender, text, status)
                  SELECT 'bench', id, 'transactional', 'BENCH', 'hi', 'running' FROM l RETURNING id),
            r AS (INSERT INTO campaign_runs (campaign_id, run_number, status) SELECT id, 1, 'running' FROM c RETURNING id, campaign_id)
       SELECT r.campaign_id AS c, r.id AS r FROM r`,
    );
    const { c: campaignId, r: runId } = rows[0]!;
    await container.pg.query(
      `INSERT INTO messages (run_id, campaign_id, phone, status, outcome_class, failure_reason)
       SELECT $1, $2, '+91' || (9000000000 + g)::text,
              (CASE WHEN g % 10 < 3 THEN 'failed' ELSE 'sent' END)::"MessageStatus",
              (CASE WHEN g % 10 < 3 THEN 'permanent_recipient' ELSE 'accepted' END)::"OutcomeClass",
              CASE WHEN g % 10 < 3 THEN '=Invalid number ' || g ELSE NULL END
         FROM generate_series(1, $3::int) g`,
      [runId, campaignId, N],
    );
    await container.pg.query('ANALYZE messages');
    // The first Prisma query of a process pays the engine start-up (seconds); `serve` warms up before listening.
    await container.prisma.campaign.findFirst({ select: { id: true } });
    console.log(`seeded ${N} messages in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    const address = await app.listen({ port: 0, host: '127.0.0.1' });
    const auth = { authorization: `Bearer ${TOKEN}` };

    if (process.env.BENCH_EXPLAIN) {
      for (const sql of [
        `EXPLAIN ANALYZE SELECT id FROM messages WHERE campaign_id = $1 AND id > 20000 ORDER BY messages.id LIMIT 1001`,
        `EXPLAIN ANALYZE SELECT id FROM messages WHERE campaign_id = $1 AND status IN ('failed', 'unknown') ORDER BY messages.id`,
      ]) {
        const plan = await container.pg.query<{ 'QUERY PLAN': string }>(sql, [campaignId]);
        console.log(plan.rows.map((r) => r['QUERY PLAN']).join('\n'));
      }
    }
    let t = performance.now();
    const direct = await container.pg.query(
      `SELECT id, phone, status, outcome_class, failure_reason FROM messages WHERE campaign_id = $1 AND status IN ('failed', 'unknown') ORDER BY id`,
      [campaignId],
    );
    console.log(`baseline: SELECT of ${direct.rowCount} failures straight from pg in ${((performance.now() - t) / 1000).toFixed(2)} s`);

    t = performance.now();
    const csv = await request(`${address}/api/campaigns/${campaignId}/failures.csv`, { headers: auth });
    const text = await csv.body.text();
    const bytes = Buffer.byteLength(text);
    const lines = text.split('\n').length - 1;
    let s = (performance.now() - t) / 1000;
    console.log(`failures.csv: ${lines - 1} rows, ${(bytes / 1e6).toFixed(1)} MB in ${s.toFixed(2)} s = ${Math.round((lines - 1) / s)} rows/s`);

    t = performance.now();
    let cursor: string | null = null;
    let seen = 0;
    let pages = 0;
    do {
      const q: string = cursor ? `&cursor=${cursor}` : '';
      const res = await request(`${address}/api/campaigns/${campaignId}/messages?limit=1000${q}`, { headers: auth });
      const page = (await res.body.json()) as { items: unknown[]; nextCursor: string | null };
      seen += page.items.length;
      cursor = page.nextCursor;
      pages++;
    } while (cursor);
    s = (performance.now() - t) / 1000;
    console.log(`messages walk: ${seen} rows in ${pages} pages, ${s.toFixed(2)} s = ${Math.round(seen / s)} rows/s, ${((s * 1000) / pages).toFixed(1)} ms/page`);

    for (const path of ['/metrics', '/health']) {
      const times: number[] = [];
      for (let i = 0; i < 5; i++) {
        const t1 = performance.now();
        const res = await request(`${address}${path}`, { headers: auth });
        await res.body.dump();
        times.push(performance.now() - t1);
      }
      times.sort((a, b) => a - b);
      console.log(`${path}: median ${times[2]!.toFixed(1)} ms over 5 calls`);
    }
  } finally {
    await app.close();
    await container.close();
    await withClient(maintenanceUrl(url.toString()).adminUrl, (c) => c.query(`DROP DATABASE IF EXISTS ${quoteIdent(db)} WITH (FORCE)`));
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
