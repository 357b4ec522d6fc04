/** Archive files hold every message's phone number: they, the manifest and the directories created for them are the owner's only. */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { archiveExpiredRuns } from '../../../src/archive/archive';
import { MANIFEST_NAME } from '../../../src/archive/destination';
import { useTestEnv } from '../../helpers/env';
import { seedRuns } from '../../helpers/archive-fixtures';
import { modesUnder, withUmask022 } from '../../helpers/file-modes';

const env = useTestEnv();
withUmask022();
jest.setTimeout(60_000);

it('writes run files and the manifest 0600, in directories it creates 0700', async () => {
  const c = env.container();
  await seedRuns(c.pg, [{ rows: 50, endedDaysAgo: 400 }]);
  const tmp = await mkdtemp(path.join(os.tmpdir(), 'bulksms-archive-modes-'));
  env.cleanup(() => rm(tmp, { recursive: true, force: true }));
  const dest = path.join(tmp, 'archive', 'nightly');
  const result = await archiveExpiredRuns(c, { olderThanDays: 30, dest });
  expect(result).toMatchObject({ runs: 1, rows: 50, files: 1 });

  const modes = modesUnder(tmp);
  const runFiles = Object.keys(modes).filter((p) => p.startsWith('archive/nightly/runs/'));
  expect(runFiles).toHaveLength(1);
  expect(modes).toEqual({
    archive: '0700',
    'archive/nightly': '0700',
    'archive/nightly/runs': '0700',
    [runFiles[0]!]: '0600',
    [`archive/nightly/${MANIFEST_NAME}`]: '0600',
  });
});
