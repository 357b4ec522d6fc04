/** `campaign status` of an archived run still shows what the run did: its counters outlive its rows. */
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { archiveExpiredRuns } from '../../../src/archive/archive';
import { restoreArchive } from '../../../src/archive/restore';
import { getCampaignStatus } from '../../../src/sending/campaign-control';
import { useTestEnv } from '../../helpers/env';
import { seedRuns } from '../../helpers/archive-fixtures';

const env = useTestEnv();

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

it('a status read while the archive is deleting a run in batches leaves its counters alone', async () => {
  const c = env.container();
  const [runId] = await seedRuns(c.pg, [{ rows: 50, endedDaysAgo: 400 }]);
  const { rows } = await c.pg.query<{ campaign_id: string }>(`SELECT campaign_id FROM campaign_runs WHERE id = $1`, [runId]);
  const before = await getCampaignStatus(c, rows[0]!.campaign_id);
  expect(before.total).toBe(50);
  // What the archive's deletion does, one committed batch at a time, with a read in between.
  await c.pg.query(`DELETE FROM messages WHERE id IN (SELECT id FROM messages WHERE run_id = $1 ORDER BY id LIMIT 40)`, [runId]);
  const during = await getCampaignStatus(c, rows[0]!.campaign_id);
  expect({ total: during.total, counts: during.counts }).toEqual({ total: before.total, counts: before.counts });
});
