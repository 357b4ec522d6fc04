import { mkdtemp, readdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { runCli } from '../../helpers/cli';
import { useTestEnv } from '../../helpers/env';
import { runDigest, seedRuns } from '../../helpers/archive-fixtures';

jest.setTimeout(120_000);
const env = useTestEnv();

describe('bulksms archive --older-than input', () => {
  it.each(['-1', 'abc', '1e3', '', '99999999999999999999', '1000000'])('refuses "%s" with exit 2 and a clear message, touching nothing', async (value) => {
    const c = env.container();
    const [runId] = await seedRuns(c.pg, [{ rows: 3, endedDaysAgo: 800 }]);
    const before = await runDigest(c.pg, runId!);
    const dir = await mkdtemp(path.join(os.tmpdir(), 'bulksms-older-than-'));
    const res = await runCli(['archive', '--older-than', value, '--dest', dir, '--json'], env.env);
    expect(res.code).toBe(2);
    const err = JSON.parse(res.stdout) as { error: { code: string; message: string; field?: string } };
    // `field` is the option as commander names it, like every CLI error's (`olderThan`, not `older-than`).
    expect({ code: err.error.code, field: err.error.field }).toEqual({ code: 'validation', field: 'olderThan' });
    expect(err.error.message).toContain('--older-than');
    expect(await readdir(dir)).toEqual([]);
    expect(await runDigest(c.pg, runId!)).toEqual(before);
  });
});
