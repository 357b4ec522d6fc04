/**
 * The poller's backstop sweep of parked (early) delivery reports must cost a page of index probes, not a read of
 * every session id in `messages`: reports of sessions never recorded pile up (every SMS of the account's other
 * products when 2Factor posts the account's callbacks here, `unknown` sends), and the sweep runs on every poll of
 * every worker. Measured with PostgreSQL's own counters of the tuples read from `messages`.
 */
import { Pool } from 'pg';
import { createEarlyReportSweeper, sweepEarlyReports } from '../../../src/delivery/early-reports';
import { useTestEnv } from '../../helpers/env';
import { seedSentMessages } from '../../fixtures/seed-messages';

const env = useTestEnv();

/** Tuples read from `messages` (heap and every index) so far, as PostgreSQL counts them. */
async function messagesTuplesRead(pg: Pool): Promise<number> {
  const { rows } = await pg.query<{ n: string }>(
    `SELECT (SELECT COALESCE(seq_tup_read, 0) + COALESCE(idx_tup_fetch, 0) FROM pg_stat_user_tables WHERE relname = 'messages')
          + (SELECT COALESCE(sum(idx_tup_read), 0) FROM pg_stat_user_indexes WHERE relname = 'messages') AS n`,
  );
  return Number(rows[0]!.n);
}

it('a sweep of the parked reports reads a page of them, not every session id in messages; a recorded one is still applied', async () => {
  const c = env.container();
  // A year of history: 60,000 messages of a run finished long ago, all with their session ids.
  const old = await seedSentMessages(c.pg, 'history', [{ phone: '+919800000000', sessionId: 'H0', status: 'delivered' }]);
  await c.pg.query(
    `INSERT INTO messages (run_id, campaign_id, phone, text, status, session_id, sent_at)
     SELECT $1, $2, '+9198' || lpad(g::text, 8, '0'), 'hi', 'delivered', md5(g::text), now() - interval '300 days'
       FROM generate_series(1, 60000) AS g`,
    [old.runId, old.campaignId],
  );
  await c.pg.query(`UPDATE campaign_runs SET status = 'completed', completed_at = now() - interval '300 days' WHERE id = $1`, [old.runId]);
  // 5,000 reports of sessions this database never recorded, and one whose session was recorded without the hook.
  await c.pg.query(
    `INSERT INTO early_delivery_reports (session_id, phone, state)
     SELECT md5('foreign' || g), '9187' || lpad(g::text, 8, '0'), 'delivered' FROM generate_series(1, 5000) AS g`,
  );
  const recorded = await seedSentMessages(c.pg, 'recorded', [{ phone: '+919876520001', sessionId: 'REC-1' }]);
  await c.pg.query(`INSERT INTO early_delivery_reports (session_id, phone, state) VALUES ('REC-1', '919876520001', 'delivered')`);
  await c.pg.query('ANALYZE messages');
  await c.pg.query('ANALYZE early_delivery_reports');

  // One connection, so that its statistics can be flushed on demand (pg_stat_force_next_flush) before reading them.
  const pg = new Pool({ connectionString: env.config.DATABASE_URL, max: 1 });
  try {
    await pg.query('SELECT pg_stat_force_next_flush()');
    const before = await messagesTuplesRead(c.pg);
    expect(await sweepEarlyReports({ ...c, pg })).toEqual({ applied: 1, expired: 0 });
    await pg.query('SELECT pg_stat_force_next_flush()');
    const read = (await messagesTuplesRead(c.pg)) - before;
    expect(await statusOf(recorded.ids.get('+919876520001')!)).toBe('delivered');
    // A tour of the table is six pages of 1000 parked reports, one index probe each (nearly all finding nothing, and
    // the one that does reading its session's message twice); the old sweep read all 60,000 session ids of `messages`.
    expect(read).toBeLessThan(1_000);
  } finally {
    await pg.end();
  }
}, 60_000);

it("the poller's sweeper reads one page per sweep, going on where the last one stopped, and starts over at the end", async () => {
  const c = env.container();
  const s = await seedSentMessages(c.pg, 'pages', [
    { phone: '+919876530001', sessionId: 'PAGE-A' },
    { phone: '+919876530002', sessionId: 'PAGE-Z' },
  ]);
  await c.pg.query(`DELETE FROM early_delivery_reports`);
  // Parked in key order: five strangers, then PAGE-Z; pages of three.
  await c.pg.query(
    `INSERT INTO early_delivery_reports (session_id, phone, state)
     SELECT 'PAGE-M' || g, '9187000000' || g, 'delivered' FROM generate_series(1, 5) AS g`,
  );
  await c.pg.query(`INSERT INTO early_delivery_reports (session_id, phone, state) VALUES ('PAGE-Z', '919876530002', 'delivered')`);
  const sweeper = createEarlyReportSweeper({ pageSize: 3 });
  const applied: number[] = [];
  for (let i = 0; i < 2; i++) applied.push((await sweeper.sweep(c)).applied);
  expect(applied).toEqual([0, 1]); // PAGE-Z sits on the second page
  expect(await statusOf(s.ids.get('+919876530002')!)).toBe('delivered');
  // Past the end: the next sweep starts over, and finds a report parked since at the front.
  await c.pg.query(`INSERT INTO early_delivery_reports (session_id, phone, state) VALUES ('PAGE-A', '919876530001', 'failed')`);
  expect((await sweeper.sweep(c)).applied).toBe(1);
  expect(await statusOf(s.ids.get('+919876530001')!)).toBe('failed');
});

async function statusOf(id: string): Promise<string> {
  const { rows } = await env.container().pg.query<{ status: string }>(`SELECT status::text FROM messages WHERE id = $1`, [id]);
  return rows[0]!.status;
}
