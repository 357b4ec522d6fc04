/** A destination that cannot hold an archive is refused up front, naming it and saying what to do; nothing is deleted. */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { runCli } from '../../helpers/cli';
import { useTestEnv } from '../../helpers/env';
import { runDigest, seedRuns } from '../../helpers/archive-fixtures';

const env = useTestEnv();
jest.setTimeout(120_000);

describe('archive --dest that cannot hold files', () => {
  let tmp: string;
  let file: string;
  beforeAll(async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), 'bulksms-archive-dest-'));
    file = path.join(tmp, 'notes.txt');
    await writeFile(file, 'not an archive\n');
  });
  afterAll(() => rm(tmp, { recursive: true, force: true }));

  it.each([
    ['is a regular file', () => file],
    ['lies under a regular file', () => path.join(file, 'nightly')],
  ])('%s: exit 2, the message names it, no row deleted', async (_what, dest) => {
    const c = env.container();
    const [runId] = await seedRuns(c.pg, [{ rows: 5, endedDaysAgo: 400 }]);
    const before = await runDigest(c.pg, runId!);
    const res = await runCli(['archive', '--older-than', '30', '--dest', dest(), '--json'], env.env);
    expect(res.code).toBe(2);
    const err = (JSON.parse(res.stdout) as { error: { code: string; message: string } }).error;
    expect(err.code).toBe('validation');
    expect(err.message).toContain(`archive destination ${dest()}: ${file} is a file, not a directory`);
    expect(await runDigest(c.pg, runId!)).toEqual(before);
  });
});
