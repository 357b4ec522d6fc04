/**
 * A run is archived only once no delivery report can still change it (2 × DLR_MAX_AGE_HOURS after it ended, the
 * poller's horizon), whatever --older-than says: exported earlier, a report applied after the export left the file
 * with the old row and the run's counters frozen at it (`campaign status` showed that message wrong for good).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { archiveExpiredRuns } from '../../../src/archive/archive';
import { retentionCutoffs } from '../../../src/archive/retention';
import { useTestEnv } from '../../helpers/env';
import { runDigest, seedRuns } from '../../helpers/archive-fixtures';

jest.setTimeout(60_000);
// 24 h: the window is two days.
const env = useTestEnv({ DLR_MAX_AGE_HOURS: '24' });

it('--older-than 0 leaves runs that ended within the report window, archives the older ones; --dry-run agrees', async () => {
  const c = env.container();
  const [recent, settled] = await seedRuns(c.pg, [
    { rows: 20, endedDaysAgo: 1 },
    { rows: 30, endedDaysAgo: 3 },
  ]);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'bulksms-archive-window-'));
  env.cleanup(() => rm(dir, { recursive: true, force: true }));
  const before = await runDigest(c.pg, recent!);

  const dry = await archiveExpiredRuns(c, { olderThanDays: 0, dest: dir, dryRun: true });
  expect(dry).toMatchObject({ runs: 1, rows: 30, runIds: [settled] });
  const real = await archiveExpiredRuns(c, { olderThanDays: 0, dest: dir });
  expect(real).toMatchObject({ runs: 1, rows: 30, runIds: [settled] });
  expect(await runDigest(c.pg, recent!)).toEqual(before);
  expect((await runDigest(c.pg, settled!)).rows).toBe(0);
});

it('the window lengthens both cutoffs only where they are shorter than it', () => {
  const now = new Date('2026-11-26T00:00:00Z');
  const window = 6 * 86_400_000;
  const c = retentionCutoffs(now, { retentionDays: 365, regulatedDays: 2557, olderThanDays: 2, reportWindowMs: window });
  expect(c.ordinary.toISOString()).toBe('2026-11-20T00:00:00.000Z');
  expect(c.regulated.toISOString()).toBe('2019-11-26T00:00:00.000Z');
  const zero = retentionCutoffs(now, { retentionDays: 365, regulatedDays: 0, olderThanDays: 0, reportWindowMs: window });
  expect(zero.regulated.toISOString()).toBe('2026-11-20T00:00:00.000Z');
  const long = retentionCutoffs(now, { retentionDays: 365, regulatedDays: 2557, olderThanDays: 30, reportWindowMs: window });
  expect(long.ordinary.toISOString()).toBe('2026-10-27T00:00:00.000Z');
});
