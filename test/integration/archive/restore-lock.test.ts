/**
 * A restore while an archive runs: the archive deletes what the restore inserts (a restored run is still expired)
 * and each fails on the other's rows. A restore takes the archive's lock, or refuses clearly.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { archiveExpiredRuns } from '../../../src/archive/archive';
import { ARCHIVE_LOCK } from '../../../src/db/advisory-locks';
import { runCli } from '../../helpers/cli';
import { useTestEnv } from '../../helpers/env';
import { runDigest, seedRuns } from '../../helpers/archive-fixtures';

jest.setTimeout(120_000);
const env = useTestEnv();

it('refuses while an archive holds its lock (exit 2, conflict), restores once it is released, and releases it', async () => {
  const c = env.container();
  const [runId] = await seedRuns(c.pg, [{ rows: 30, endedDaysAgo: 400 }]);
  const before = await runDigest(c.pg, runId!);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'bulksms-restore-lock-'));
  env.cleanup(() => rm(dir, { recursive: true, force: true }));
  await archiveExpiredRuns(c, { olderThanDays: 30, dest: dir });
  expect((await runDigest(c.pg, runId!)).rows).toBe(0);

  // A session holding the lock an archive holds while it runs.
  const archiver = await c.pg.connect();
  try {
    await archiver.query('SELECT pg_advisory_lock($1)', [ARCHIVE_LOCK]);
    const refused = await runCli(['restore', dir, '--json'], env.env);
    expect(refused.code).toBe(2);
    const err = (JSON.parse(refused.stdout) as { error: { code: string; message: string } }).error;
    expect(err.code).toBe('conflict');
    expect(err.message).toContain('an archive (`bulksms archive`, or another restore) is running against this database');
    expect((await runDigest(c.pg, runId!)).rows).toBe(0);
  } finally {
    archiver.release(true);
  }

  const restored = await runCli(['restore', dir, '--json'], env.env);
  expect(restored.code).toBe(0);
  expect(JSON.parse(restored.stdout)).toMatchObject({ runs: 1, rows: 30, inserted: 30 });
  expect(await runDigest(c.pg, runId!)).toEqual(before);
  // The restore let go of the lock: the next archive runs.
  expect(await archiveExpiredRuns(c, { olderThanDays: 30, dest: dir })).toMatchObject({ runs: 1, rows: 30 });
});
