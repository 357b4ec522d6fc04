/**
 * Two databases archiving to one destination (staging and production with the same ARCHIVE_DEST): the database's
 * advisory lock does not see the other one. Both rewrote the manifest from their own copy, so the entries the other
 * added meanwhile were lost — files of deleted rows that `restore` no longer knew — and each one's start removed the
 * other's temp files. The destination is locked for the archive's duration.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { archiveExpiredRuns } from '../../../src/archive/archive';
import { parseManifest } from '../../../src/archive/manifest';
import { ConflictError } from '../../../src/errors';
import { useTestEnv } from '../../helpers/env';
import { seedRuns } from '../../helpers/archive-fixtures';

jest.setTimeout(60_000);
const one = useTestEnv();
const two = useTestEnv();

it('a second archive into the same destination is refused while the first runs; the manifest lists both databases\' files', async () => {
  const [runOne] = await seedRuns(one.container().pg, [{ rows: 20, endedDaysAgo: 400 }]);
  const [runTwo] = await seedRuns(two.container().pg, [{ rows: 30, endedDaysAgo: 400 }]);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'bulksms-archive-shared-'));
  one.cleanup(() => rm(dir, { recursive: true, force: true }));

  let second: unknown = null;
  await archiveExpiredRuns(one.container(), {
    dest: dir,
    onStage: async (stage) => {
      if (stage !== 'exported') return;
      second = await archiveExpiredRuns(two.container(), { dest: dir }).catch((err: unknown) => err);
    },
  });
  expect(second).toBeInstanceOf(ConflictError);
  expect((second as Error).message).toContain(dir);
  // Nothing of the second database was touched.
  expect((await two.container().pg.query('SELECT 1 FROM messages WHERE run_id = $1', [runTwo])).rowCount).toBe(30);

  await archiveExpiredRuns(two.container(), { dest: dir });
  const files = parseManifest(await readFile(path.join(dir, 'manifest.json'), 'utf8'), 'test').files;
  expect(files.map((f) => [f.runId, f.state]).sort()).toEqual([[runOne, 'deleted'], [runTwo, 'deleted']].sort());
});

it('a lock left by an archive that is gone (killed) on this host is taken over', async () => {
  const [run] = await seedRuns(one.container().pg, [{ rows: 10, endedDaysAgo: 400 }]);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'bulksms-archive-shared-'));
  one.cleanup(() => rm(dir, { recursive: true, force: true }));
  // pid 2^22 + 1 is above Linux's pid_max ceiling: no process has it.
  await writeFile(path.join(dir, '.archive.lock'), JSON.stringify({ host: os.hostname(), pid: 4_194_305 }));
  const res = await archiveExpiredRuns(one.container(), { dest: dir });
  expect(res.runIds).toContain(run);
});
