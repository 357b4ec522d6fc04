/**
 * The poller's claim reads the runs that can hold a due message, not every message ever kept: messages stay for
 * RETENTION_DAYS (a year by default), and each worker claims every ~2 s.
 */
import { CLAIM_SQL, createDlrPoller } from '../../../src/delivery/poller';
import { useTestEnv } from '../../helpers/env';
import { seedSentMessages } from '../../fixtures/seed-messages';

const env = useTestEnv();

const HOUR = 3_600_000;
const MAX_AGE = 72 * HOUR;

interface PlanNode {
  'Relation Name'?: string;
  'Actual Rows'?: number;
  'Actual Loops'?: number;
  'Rows Removed by Filter'?: number;
  Plans?: PlanNode[];
}

/** Rows of `messages` the plan's scans read (returned or filtered out; EXPLAIN gives both per loop). */
function messageRowsRead(node: PlanNode): number {
  const own = node['Relation Name'] === 'messages' ? ((node['Actual Rows'] ?? 0) + (node['Rows Removed by Filter'] ?? 0)) * (node['Actual Loops'] ?? 1) : 0;
  return own + (node.Plans ?? []).reduce((n, p) => n + messageRowsRead(p), 0);
}

describe('delivery report poller over a long history', () => {
  it('claims the due sessions of recent runs without reading the messages of runs finished long ago', async () => {
    const c = env.container();
    const now = new Date();
    const ago = (ms: number): Date => new Date(now.getTime() - ms);
    // History: a run finished 30 days ago, its 100,000 messages long final (or given up on, still `sent`).
    const old = await seedSentMessages(c.pg, 'history', [{ phone: '+919800000000', sessionId: 'H0', sentAt: ago(31 * 24 * HOUR) }]);
    await c.pg.query(
      `INSERT INTO messages (run_id, campaign_id, phone, text, status, session_id, sent_at)
       SELECT $1, $2, '+9197' || lpad(i::text, 8, '0'), 'hi', (CASE WHEN i % 50 = 0 THEN 'sent' ELSE 'delivered' END)::"MessageStatus",
              'H' || i, $3 FROM generate_series(1, 100000) AS i`,
      [old.runId, old.campaignId, ago(31 * 24 * HOUR)],
    );
    await c.pg.query(`UPDATE campaign_runs SET status = 'completed', completed_at = $2 WHERE id = $1`, [old.runId, ago(30 * 24 * HOUR)]);
    // A running run, and one that finished 80 h ago whose last message was accepted only 1 h ago (a late outcome).
    await seedSentMessages(c.pg, 'live', [
      { phone: '+919811100001', sessionId: 'L1', sentAt: ago(HOUR) },
      { phone: '+919811100002', sessionId: 'L2', sentAt: ago(HOUR) },
    ]);
    const late = await seedSentMessages(c.pg, 'late', [{ phone: '+919811100003', sessionId: 'LATE', sentAt: ago(HOUR) }]);
    await c.pg.query(`UPDATE campaign_runs SET status = 'completed', completed_at = $2 WHERE id = $1`, [late.runId, ago(80 * HOUR)]);
    await c.pg.query('ANALYZE messages');
    await c.pg.query('ANALYZE campaign_runs');

    const params = [now, MAX_AGE, 1000, 60_000, 100];
    const client = await c.pg.connect();
    try {
      await client.query('BEGIN');
      const { rows } = await client.query<{ 'QUERY PLAN': Array<{ Plan: PlanNode }> }>(`EXPLAIN (ANALYZE, FORMAT JSON) ${CLAIM_SQL}`, params);
      const read = messageRowsRead(rows[0]!['QUERY PLAN'][0]!.Plan);
      expect(read).toBeLessThan(1000);
    } finally {
      await client.query('ROLLBACK');
      client.release();
    }

    const asked: string[] = [];
    const poller = createDlrPoller(c, {
      provider: { deliveryReport: async (sessionId) => (asked.push(sessionId), { found: false, detail: 'not yet' }) },
      acquireSlot: async () => undefined,
      baseDelayMs: 1000,
      maxAgeMs: MAX_AGE,
    });
    expect((await poller.pollOnce()).sessions).toBe(3);
    expect(asked.sort()).toEqual(['L1', 'L2', 'LATE']);
  });
});
