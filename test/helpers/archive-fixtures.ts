/** Seeds finished campaign runs with awkward message data (tabs, newlines, backslashes, Unicode, NULLs). */
import { randomBytes } from 'node:crypto';
import type { Pool } from 'pg';

export interface RunSpec {
  rows: number;
  endedDaysAgo: number;
  regulated?: boolean;
  status?: 'completed' | 'cancelled' | 'failed' | 'running';
}

export async function seedRuns(pg: Pool, specs: RunSpec[]): Promise<string[]> {
  const list = await pg.query<{ id: string }>(
    "INSERT INTO contact_lists (name, status) VALUES ($1, 'ready') RETURNING id",
    [`archive-${randomBytes(4).toString('hex')}`],
  );
  const ids: string[] = [];
  for (const [i, spec] of specs.entries()) {
    const campaign = await pg.query<{ id: string }>(
      `INSERT INTO campaigns (name, list_id, type, sender, text, status, regulated)
       VALUES ($1, $2, 'transactional', 'BLKSMS', 'Hi {{name}}', 'completed', $3) RETURNING id`,
      [`c${i}`, list.rows[0]!.id, spec.regulated ?? false],
    );
    const run = await pg.query<{ id: string }>(
      `INSERT INTO campaign_runs (campaign_id, run_number, status, total, started_at, completed_at)
       VALUES ($1, 1, $2, $3, now() - make_interval(days => $4) - interval '1 hour', now() - make_interval(days => $4))
       RETURNING id`,
      [campaign.rows[0]!.id, spec.status ?? 'completed', spec.rows, spec.endedDaysAgo],
    );
    const runId = run.rows[0]!.id;
    await pg.query(
      `INSERT INTO messages (run_id, campaign_id, phone, text, segments, status, attempts, session_id, outcome_class,
                             provider_text, failure_reason, sent_at, delivered_at)
       SELECT $1, $2, '+9198' || lpad(g::text, 8, '0'),
              CASE g % 5 WHEN 0 THEN E'tab\\there' WHEN 1 THEN E'line\\nbreak\\r\\n back\\\\slash \\\\N'
                         WHEN 2 THEN 'नमस्ते ' || g || ' ✓' WHEN 3 THEN '' ELSE NULL END,
              1 + g % 3,
              (ARRAY['sent', 'delivered', 'failed']::"MessageStatus"[])[1 + g % 3],
              g % 4,
              CASE WHEN g % 7 = 0 THEN NULL ELSE md5(g::text) END,
              CASE WHEN g % 3 = 2 THEN 'permanent_recipient'::"OutcomeClass" ELSE 'accepted'::"OutcomeClass" END,
              CASE WHEN g % 6 = 0 THEN NULL ELSE 'Success' END,
              CASE WHEN g % 3 = 2 THEN E'DND\\tblocked' END,
              now() - make_interval(days => $4) - make_interval(secs => g),
              CASE WHEN g % 3 = 1 THEN now() - make_interval(days => $4) END
         FROM generate_series(1, $3::int) g`,
      [runId, campaign.rows[0]!.id, spec.rows, spec.endedDaysAgo],
    );
    ids.push(runId);
  }
  return ids;
}

/** A digest of every column of every message of a run, to prove a restore is exact. */
export async function runDigest(pg: Pool, runId: string): Promise<{ rows: number; digest: string | null }> {
  const { rows } = await pg.query<{ n: string; d: string | null }>(
    "SELECT count(*) AS n, md5(string_agg(m::text, '|' ORDER BY m.id)) AS d FROM messages m WHERE m.run_id = $1",
    [runId],
  );
  return { rows: Number(rows[0]!.n), digest: rows[0]!.d };
}
