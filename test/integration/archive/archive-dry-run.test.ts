/** --dry-run reports what the real run then does, including the deletion an interrupted archive left unfinished. */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { archiveExpiredRuns } from '../../../src/archive/archive';
import { runCliAndKill } from '../../helpers/cli';
import { useTestEnv } from '../../helpers/env';
import { runDigest, seedRuns } from '../../helpers/archive-fixtures';

jest.setTimeout(120_000);
const env = useTestEnv({ ARCHIVE_DELETE_BATCH: '40' });
const PAUSE = /archive-test-pause (\w+) ([0-9a-f-]{36})/;

it('after a SIGKILL mid-deletion, the dry run counts the resumed run as the real run does', async () => {
  const c = env.container();
  const [interrupted, untouched] = await seedRuns(c.pg, [
    { rows: 130, endedDaysAgo: 700 },
    { rows: 50, endedDaysAgo: 400 },
  ]);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'bulksms-archive-dry-'));
  env.cleanup(() => rm(dir, { recursive: true, force: true }));

  const killed = await runCliAndKill(['archive', '--dest', dir, '--json'], { ...env.env, ARCHIVE_TEST_PAUSE: 'deleting' }, PAUSE);
  expect(killed.match?.[2]).toBe(interrupted);
  expect((await runDigest(c.pg, interrupted!)).rows).toBe(90); // one batch of 40 gone

  const dry = await archiveExpiredRuns(c, { dest: dir, dryRun: true });
  expect((await runDigest(c.pg, interrupted!)).rows).toBe(90);
  const real = await archiveExpiredRuns(c, { dest: dir });
  expect(real).toMatchObject({ runs: 2, rows: 180, resumed: 1 });
  expect(dry).toMatchObject({ dryRun: true, runs: real.runs, rows: real.rows, resumed: real.resumed, files: 0 });
  expect(new Set(dry.runIds)).toEqual(new Set([interrupted, untouched]));
});
