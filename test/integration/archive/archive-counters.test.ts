/** `campaign status` of an archived run still shows what the run did: its counters outlive its rows. */
import { mkdtemp, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { archiveExpiredRuns } from '../../../src/archive/archive';
import { restoreArchive } from '../../../src/archive/restore';
import { applyPairs } from '../../../src/delivery/apply-reports';
import { getCampaignStatus } from '../../../src/sending/campaign-control';
import { useTestEnv } from '../../helpers/env';
import { seedRuns } from '../../helpers/archive-fixtures';

jest.setTimeout(60_000);
const env = useTestEnv({ ARCHIVE_DELETE_BATCH: '20' });

it('archiving keeps the run counters as of its rows (a status read after it zeroed them), restore agrees', async () => {
  const c = env.container();
  const [runId] = await seedRuns(c.pg, [{ rows: 40, endedDaysAgo: 400 }]);
  const { rows } = await c.pg.query<{ campaign_id: string }>(`SELECT campaign_id FROM campaign_runs WHERE id = $1`, [runId]);
  const campaignId = rows[0]!.campaign_id;
  // A delivery report after the run ended, with no status read since: the archive refreshes the counters as it exports.
  await c.pg.query(`UPDATE messages SET status = 'delivered' WHERE id = (SELECT min(id) FROM messages WHERE run_id = $1)`, [runId]);
  const { rows: sums } = await c.pg.query<{ status: string; n: number }>(
    `SELECT status::text AS status, count(*)::int AS n FROM messages WHERE run_id = $1 GROUP BY status`,
    [runId],
  );
  const before = { total: 40, counts: expect.objectContaining(Object.fromEntries(sums.map((r) => [r.status, r.n]))) as unknown };
  expect(sums.find((r) => r.status === 'delivered')?.n).toBeGreaterThan(0);

  await archiveExpiredRuns(c, { olderThanDays: 30, dest: await mkdtemp(path.join(os.tmpdir(), 'bulksms-counters-')) });
  const { rows: left } = await c.pg.query<{ n: number }>(`SELECT count(*)::int AS n FROM messages WHERE run_id = $1`, [runId]);
  expect(left[0]!.n).toBe(0);
  const archived = await getCampaignStatus(c, campaignId);
  expect({ total: archived.total, counts: archived.counts }).toEqual(before);
  // Read twice: the first read must not have overwritten them either.
  expect((await getCampaignStatus(c, campaignId)).counts).toEqual(archived.counts);
});

it('restore brings the rows back and the counters still agree with them', async () => {
  const c = env.container();
  const dir = await mkdtemp(path.join(os.tmpdir(), 'bulksms-counters-'));
  const [runId] = await seedRuns(c.pg, [{ rows: 25, endedDaysAgo: 400 }]);
  const { rows } = await c.pg.query<{ campaign_id: string }>(`SELECT campaign_id FROM campaign_runs WHERE id = $1`, [runId]);
  const before = await getCampaignStatus(c, rows[0]!.campaign_id);
  await archiveExpiredRuns(c, { olderThanDays: 30, dest: dir });
  await restoreArchive(c, dir);
  expect((await getCampaignStatus(c, rows[0]!.campaign_id)).counts).toEqual(before.counts);
});

it('a status read while the archive is deleting a run in batches shows the run as it was', async () => {
  const c = env.container();
  const [runId] = await seedRuns(c.pg, [{ rows: 50, endedDaysAgo: 400 }]);
  const { rows } = await c.pg.query<{ campaign_id: string }>(`SELECT campaign_id FROM campaign_runs WHERE id = $1`, [runId]);
  const before = await getCampaignStatus(c, rows[0]!.campaign_id);
  expect(before.total).toBe(50);
  const reads: { total: number; counts: unknown; left: number }[] = [];
  await archiveExpiredRuns(c, {
    olderThanDays: 30,
    dest: await mkdtemp(path.join(os.tmpdir(), 'bulksms-counters-')),
    // 'deleting' comes after the first committed delete batch (20 rows): a read in between.
    onStage: async (stage, run) => {
      if (stage !== 'deleting' || run !== runId) return;
      const during = await getCampaignStatus(c, rows[0]!.campaign_id);
      const { rows: left } = await c.pg.query<{ n: number }>(`SELECT count(*)::int AS n FROM messages WHERE run_id = $1`, [runId]);
      reads.push({ total: during.total, counts: during.counts, left: left[0]!.n });
    },
  });
  expect(reads).toEqual([{ total: before.total, counts: before.counts, left: 30 }]);
});

it('a delivery report applied between the export and the deletion shows in the counters, after the next archive and after restore', async () => {
  const c = env.container();
  const dir = await mkdtemp(path.join(os.tmpdir(), 'bulksms-counters-'));
  const [runId] = await seedRuns(c.pg, [{ rows: 60, endedDaysAgo: 400 }]);
  const { rows } = await c.pg.query<{ campaign_id: string }>(`SELECT campaign_id FROM campaign_runs WHERE id = $1`, [runId]);
  const campaignId = rows[0]!.campaign_id;
  // Two messages still wait for their report, first and last of the run (so the rows kept span the file's range).
  const { rows: ends } = await c.pg.query<{ id: string; phone: string; campaign_id: string }>(
    `UPDATE messages SET status = 'sent', delivered_at = NULL
      WHERE id IN (SELECT min(id) FROM messages WHERE run_id = $1 UNION SELECT max(id) FROM messages WHERE run_id = $1)
      RETURNING id::text, phone, campaign_id`,
    [runId],
  );
  const counts = async () =>
    (await c.pg.query<{ status: string; n: number }>(`SELECT status::text AS status, count(*)::int AS n FROM messages WHERE run_id = $1 GROUP BY status`, [runId])).rows;
  let truth: { status: string; n: number }[] = [];
  await archiveExpiredRuns(c, {
    olderThanDays: 30,
    dest: dir,
    onStage: async (stage, run) => {
      if (stage !== 'exported' || run !== runId) return;
      const applied = await applyPairs(
        c,
        ends.map((m) => [{ id: m.id, phone: m.phone, campaignId: m.campaign_id, alone: true }, { phone: m.phone, state: 'delivered', reason: null, dltReject: false }] as const),
        new Date(),
      );
      expect(applied.delivered).toBe(2);
      truth = await counts();
    },
  });
  const expected = { total: 60, counts: expect.objectContaining(Object.fromEntries(truth.map((r) => [r.status, r.n]))) as unknown };
  const status = async () => {
    const s = await getCampaignStatus(c, campaignId);
    return { total: s.total, counts: s.counts };
  };
  expect(truth.length).toBeGreaterThan(0);
  // The two changed rows are still in the database (for the next file); the counters show them delivered.
  expect((await c.pg.query(`SELECT 1 FROM messages WHERE run_id = $1`, [runId])).rowCount).toBe(2);
  expect(await status()).toEqual(expected);
  await archiveExpiredRuns(c, { olderThanDays: 30, dest: dir });
  expect((await c.pg.query(`SELECT 1 FROM messages WHERE run_id = $1`, [runId])).rowCount).toBe(0);
  expect(await status()).toEqual(expected);
  await restoreArchive(c, dir);
  expect(await counts()).toEqual(expect.arrayContaining(truth));
  expect(await status()).toEqual(expected);
  // Restored twice: nothing inserted, nothing counted twice.
  expect(await restoreArchive(c, dir)).toMatchObject({ inserted: 0 });
  expect(await status()).toEqual(expected);
});

it('the migration counts as archived what a run archived before it lacks of its counters', async () => {
  const c = env.container();
  const [runId] = await seedRuns(c.pg, [{ rows: 30, endedDaysAgo: 400 }]);
  const { rows } = await c.pg.query<{ campaign_id: string }>(`SELECT campaign_id FROM campaign_runs WHERE id = $1`, [runId]);
  const before = await getCampaignStatus(c, rows[0]!.campaign_id);
  // As an archive before the migration left a run: counters as they were, 25 rows gone, no archived counts.
  await c.pg.query(`DELETE FROM messages WHERE id IN (SELECT id FROM messages WHERE run_id = $1 ORDER BY id LIMIT 25)`, [runId]);
  await c.pg.query(`DELETE FROM run_archived_counts`);
  const sql = await readFile(path.join(__dirname, '../../../prisma/migrations/20261128010000_run_archived_counts/migration.sql'), 'utf8');
  await c.pg.query(sql.slice(sql.indexOf('INSERT INTO "run_archived_counts"')));
  const after = await getCampaignStatus(c, rows[0]!.campaign_id);
  expect({ total: after.total, counts: after.counts }).toEqual({ total: before.total, counts: before.counts });
  // And a report on a row still there now shows.
  await c.pg.query(`UPDATE messages SET status = 'delivered' WHERE id = (SELECT max(id) FROM messages WHERE run_id = $1 AND status = 'failed')`, [runId]);
  const moved = await getCampaignStatus(c, rows[0]!.campaign_id);
  expect(moved.counts).toEqual({ ...before.counts, delivered: before.counts.delivered + 1, failed: before.counts.failed - 1 });
});
