import { appendFile, mkdtemp, readFile, readdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseManifest } from '../../../src/archive/manifest';
import { runCli, runCliAndKill } from '../../helpers/cli';
import { useTestEnv } from '../../helpers/env';
import { runDigest, seedRuns } from '../../helpers/archive-fixtures';

// Several CLI subprocesses per test (tsx start-up is slow on a busy machine).
jest.setTimeout(180_000);
const env = useTestEnv({ ARCHIVE_DELETE_BATCH: '40' });
const PAUSE = /archive-test-pause (\w+) ([0-9a-f-]{36})/;

async function readManifest(dir: string) {
  return parseManifest(await readFile(path.join(dir, 'manifest.json'), 'utf8'), 'test');
}

describe('archive killed mid-way, then re-run', () => {
  // Each case starts from an empty message history so runs restored by an earlier case are not re-archived.
  beforeEach(async () => {
    await env.container().pg.query('TRUNCATE messages, campaign_runs, campaigns, contact_lists CASCADE');
  });

  it('SIGKILL after the first file is published: a tampered file blocks deletion, the intact one completes', async () => {
    const c = env.container();
    const runs = await seedRuns(c.pg, [
      { rows: 150, endedDaysAgo: 500 },
      { rows: 90, endedDaysAgo: 450 },
    ]);
    const before = await Promise.all(runs.map((id) => runDigest(c.pg, id)));
    const dir = await mkdtemp(path.join(os.tmpdir(), 'bulksms-crash-'));

    const killed = await runCliAndKill(['archive', '--dest', dir, '--json'], { ...env.env, ARCHIVE_TEST_PAUSE: 'exported' }, PAUSE);
    expect(killed.signal).toBe('SIGKILL');
    expect(killed.match?.[2]).toBe(runs[0]);
    // The first file is published and recorded, nothing deleted yet, the second run untouched.
    let manifest = await readManifest(dir);
    expect(manifest.files.map((f) => [f.runId, f.state, f.rows])).toEqual([[runs[0], 'exported', 150]]);
    expect(await Promise.all(runs.map((id) => runDigest(c.pg, id)))).toEqual(before);

    // A damaged file must stop the re-run before any row is deleted.
    const file = path.join(dir, manifest.files[0]!.file);
    const original = await readFile(file);
    await appendFile(file, Buffer.from('garbage'));
    const refused = await runCli(['archive', '--dest', dir, '--json'], env.env);
    expect(refused.code).toBe(1);
    expect(JSON.parse(refused.stdout).error.message).toContain('no longer matches');
    expect(await Promise.all(runs.map((id) => runDigest(c.pg, id)))).toEqual(before);

    await writeFile(file, original);
    const rerun = await runCli(['archive', '--dest', dir, '--json'], env.env);
    expect(rerun.code).toBe(0);
    expect(JSON.parse(rerun.stdout)).toMatchObject({ runs: 2, rows: 240, files: 1, resumed: 1 });
    manifest = await readManifest(dir);
    expect(manifest.files.map((f) => [f.runId, f.state, f.rows])).toEqual([
      [runs[0], 'deleted', 150],
      [runs[1], 'deleted', 90],
    ]);
    for (const id of runs) expect((await runDigest(c.pg, id)).rows).toBe(0);

    const restored = await runCli(['restore', path.join(dir, 'manifest.json'), '--json'], env.env);
    expect(JSON.parse(restored.stdout)).toEqual({ runs: 2, rows: 240, inserted: 240, files: 2 });
    expect(await Promise.all(runs.map((id) => runDigest(c.pg, id)))).toEqual(before);
  });

  it('SIGKILL after the first delete batch: the re-run finishes the deletion without re-exporting', async () => {
    const c = env.container();
    const [runId] = await seedRuns(c.pg, [{ rows: 130, endedDaysAgo: 700 }]);
    const before = await runDigest(c.pg, runId!);
    const dir = await mkdtemp(path.join(os.tmpdir(), 'bulksms-crash-'));

    const killed = await runCliAndKill(['archive', '--dest', dir, '--json'], { ...env.env, ARCHIVE_TEST_PAUSE: 'deleting' }, PAUSE);
    expect(killed.signal).toBe('SIGKILL');
    expect((await runDigest(c.pg, runId!)).rows).toBe(90); // one batch of 40 gone
    const exported = await readManifest(dir);
    expect(exported.files.find((f) => f.runId === runId)?.state).toBe('exported');

    const rerun = await runCli(['archive', '--dest', dir, '--json'], env.env);
    expect(rerun.code).toBe(0);
    expect(JSON.parse(rerun.stdout)).toMatchObject({ runs: 1, rows: 130, files: 0, resumed: 1 });
    const done = await readManifest(dir);
    const entry = done.files.find((f) => f.runId === runId)!;
    expect(entry).toMatchObject({ state: 'deleted', rows: 130, sha256: exported.files.find((f) => f.runId === runId)!.sha256 });
    expect((await runDigest(c.pg, runId!)).rows).toBe(0);
    expect((await readdir(path.join(dir, 'runs'))).filter((n) => n.startsWith('.'))).toEqual([]);

    const restored = await runCli(['restore', dir, '--json'], env.env);
    expect(JSON.parse(restored.stdout)).toMatchObject({ rows: 130, inserted: 130 });
    expect(await runDigest(c.pg, runId!)).toEqual(before);
  });
});
