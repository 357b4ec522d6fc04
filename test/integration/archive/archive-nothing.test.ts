/**
 * An archive that archived nothing into a destination without a manifest must not name a manifest: the path it
 * printed did not exist, and `bulksms restore` of it said "no archive manifest".
 */
import { access, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { archiveExpiredRuns } from '../../../src/archive/archive';
import { runCli } from '../../helpers/cli';
import { useTestEnv } from '../../helpers/env';
import { seedRuns } from '../../helpers/archive-fixtures';

const env = useTestEnv();
jest.setTimeout(120_000);

it('reports manifest null until a manifest exists, and says nothing was archived', async () => {
  const c = env.container();
  const dir = await mkdtemp(path.join(os.tmpdir(), 'bulksms-archive-nothing-'));
  env.cleanup(() => rm(dir, { recursive: true, force: true }));

  const json = await runCli(['archive', '--dest', dir, '--json'], env.env);
  expect(json.code).toBe(0);
  expect(JSON.parse(json.stdout)).toMatchObject({ runs: 0, rows: 0, files: 0, manifest: null });
  const human = await runCli(['archive', '--dest', dir], env.env);
  expect(human.code).toBe(0);
  expect(human.stdout).toContain('nothing archived');
  expect(human.stdout).not.toContain('manifest.json');
  expect(await archiveExpiredRuns(c, { dest: dir, dryRun: true })).toMatchObject({ runs: 0, manifest: null });

  await seedRuns(c.pg, [{ rows: 20, endedDaysAgo: 400 }]);
  const manifest = path.join(dir, 'manifest.json');
  expect(await archiveExpiredRuns(c, { olderThanDays: 30, dest: dir })).toMatchObject({ runs: 1, rows: 20, manifest });
  await access(manifest);
  // Nothing new, but the manifest is there now: it is what restore takes.
  expect(await archiveExpiredRuns(c, { olderThanDays: 30, dest: dir })).toMatchObject({ runs: 0, manifest });
  expect(await archiveExpiredRuns(c, { olderThanDays: 30, dest: dir, dryRun: true })).toMatchObject({ runs: 0, manifest });
});
