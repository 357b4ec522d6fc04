/**
 * A run archived, partly back in the database (a load by hand of part of its file), then archived again has two
 * files; the manifest must list both, or a restore brings back only the second file's rows. An interrupted
 * `bulksms restore` itself restores nothing (one transaction).
 */
import { mkdtemp, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseManifest } from '../../../src/archive/manifest';
import { archiveExpiredRuns } from '../../../src/archive/archive';
import { restoreArchive } from '../../../src/archive/restore';
import { useTestEnv } from '../../helpers/env';
import { runDigest, seedRuns } from '../../helpers/archive-fixtures';

const env = useTestEnv({ ARCHIVE_DELETE_BATCH: '500' });
jest.setTimeout(120_000);

it('archive → interrupted restore → archive again → restore brings every row back', async () => {
  const c = env.container();
  const [run] = await seedRuns(c.pg, [{ rows: 6000, endedDaysAgo: 400 }]);
  const before = await runDigest(c.pg, run!);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'bulksms-archive-again-'));
  const manifestPath = path.join(dir, 'manifest.json');
  await archiveExpiredRuns(c, { olderThanDays: 30, dest: dir });

  // The restore fails in its second 5,000-row batch (a database error, or Ctrl-C): nothing is back.
  const first = parseManifest(await readFile(manifestPath, 'utf8'), 'test').files[0]!;
  const cut = BigInt(first.minId!) + 5500n;
  await c.pg.query(`CREATE FUNCTION fail_restore() RETURNS trigger AS $$ BEGIN IF NEW.id = ${cut} THEN RAISE EXCEPTION 'restore interrupted'; END IF; RETURN NEW; END $$ LANGUAGE plpgsql`);
  await c.pg.query(`CREATE TRIGGER fail_restore BEFORE INSERT ON messages FOR EACH ROW EXECUTE FUNCTION fail_restore()`);
  await expect(restoreArchive(c, manifestPath)).rejects.toThrow(/restore interrupted/);
  await c.pg.query(`DROP TRIGGER fail_restore ON messages`);
  expect((await runDigest(c.pg, run!)).rows).toBe(0);
  // 5,000 of the rows back, spanning the file's whole id range (as a `\copy` of part of the file by hand leaves them).
  await restoreArchive(c, manifestPath);
  await c.pg.query(`DELETE FROM messages WHERE run_id = $1 AND id BETWEEN $2::bigint AND $2::bigint + 999`, [run, String(BigInt(first.minId!) + 2000n)]);
  expect((await runDigest(c.pg, run!)).rows).toBe(5000);

  // The nightly archive takes those 5,000 again: a second file, and the first stays listed.
  await archiveExpiredRuns(c, { olderThanDays: 30, dest: dir });
  const files = parseManifest(await readFile(manifestPath, 'utf8'), 'test').files;
  expect(files.map((f) => [f.rows, f.state]).sort()).toEqual([[5000, 'deleted'], [6000, 'deleted']]);

  await restoreArchive(c, manifestPath);
  expect(await runDigest(c.pg, run!)).toEqual(before);
});
