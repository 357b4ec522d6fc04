/**
 * A delivery report applied between a run's export and the deletion of its rows (a late DLR for a run archived
 * with a short --older-than): the deletion must not remove a row whose current version is not the one in the
 * verified file. The changed rows stay in the database, the next archive takes them into a file of their own, and a
 * restore brings every row back as it last was.
 */
import { mkdtemp, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { archiveExpiredRuns } from '../../../src/archive/archive';
import { parseManifest } from '../../../src/archive/manifest';
import { restoreArchive } from '../../../src/archive/restore';
import { applyPairs } from '../../../src/delivery/apply-reports';
import { useTestEnv } from '../../helpers/env';
import { runDigest, seedRuns } from '../../helpers/archive-fixtures';

jest.setTimeout(120_000);
const env = useTestEnv({ ARCHIVE_DELETE_BATCH: '25' });

it('a report applied after the export keeps its row; the next archive files it; restore gives the delivered row back', async () => {
  const c = env.container();
  const [runId] = await seedRuns(c.pg, [{ rows: 100, endedDaysAgo: 40 }]);
  // The run's first and last messages still wait for their report (so the rows left behind span the file's id range).
  const { rows: ends } = await c.pg.query<{ id: string; phone: string; campaign_id: string }>(
    `UPDATE messages SET status = 'sent', delivered_at = NULL
      WHERE id IN (SELECT min(id) FROM messages WHERE run_id = $1 UNION SELECT max(id) FROM messages WHERE run_id = $1)
      RETURNING id::text, phone, campaign_id`,
    [runId],
  );
  expect(ends).toHaveLength(2);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'bulksms-late-report-'));
  const manifestPath = path.join(dir, 'manifest.json');

  const first = await archiveExpiredRuns(c, {
    olderThanDays: 30,
    dest: dir,
    onStage: async (stage) => {
      if (stage !== 'exported') return;
      const applied = await applyPairs(
        c,
        ends.map((m) => [{ id: m.id, phone: m.phone, campaignId: m.campaign_id, alone: true }, { phone: m.phone, state: 'delivered', reason: null, dltReject: false }] as const),
        new Date(),
      );
      expect(applied.delivered).toBe(2);
    },
  });
  expect(first).toMatchObject({ runs: 1, files: 1 });
  const expected = await c.pg.query<{ id: string; status: string }>('SELECT id::text, status::text FROM messages WHERE run_id = $1 ORDER BY id', [runId]);
  expect(expected.rows).toEqual(ends.map((m) => ({ id: m.id, status: 'delivered' })).sort((a, b) => (BigInt(a.id) < BigInt(b.id) ? -1 : 1)));
  const kept = await runDigest(c.pg, runId!);

  // The next archive exports the two changed rows to a second file and leaves the first one intact.
  const second = await archiveExpiredRuns(c, { olderThanDays: 30, dest: dir });
  expect(second).toMatchObject({ runs: 1, rows: 2, files: 1 });
  expect((await runDigest(c.pg, runId!)).rows).toBe(0);
  const files = parseManifest(await readFile(manifestPath, 'utf8'), 'test').files;
  expect(files.map((f) => [f.rows, f.state]).sort()).toEqual([[100, 'deleted'], [2, 'deleted']].sort());

  const restored = await restoreArchive(c, manifestPath);
  expect(restored).toMatchObject({ runs: 1, rows: 102, inserted: 100 });
  expect((await runDigest(c.pg, runId!)).rows).toBe(100);
  const after = await c.pg.query<{ id: string; status: string }>(`SELECT id::text, status::text FROM messages WHERE id = ANY($1::bigint[]) ORDER BY id`, [ends.map((m) => m.id)]);
  expect(after.rows.map((r) => r.status)).toEqual(['delivered', 'delivered']);
  // Restored again (safe to repeat): the two-row file's id range now holds the whole run, which is no mismatch.
  const again = await restoreArchive(c, manifestPath);
  expect(again).toMatchObject({ runs: 1, rows: 102, inserted: 0 });
  // The two rows come back exactly as they were after the report.
  await c.pg.query('DELETE FROM messages WHERE run_id = $1 AND NOT (id = ANY($2::bigint[]))', [runId, ends.map((m) => m.id)]);
  expect(await runDigest(c.pg, runId!)).toEqual(kept);
});
