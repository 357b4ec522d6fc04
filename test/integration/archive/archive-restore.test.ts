import { createHash } from 'node:crypto';
import { mkdtemp, readFile, readdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { decodeRow } from '../../../src/db/copy-text';
import { parseManifest } from '../../../src/archive/manifest';
import { archiveExpiredRuns } from '../../../src/archive/archive';
import { restoreArchive } from '../../../src/archive/restore';
import { runCli } from '../../helpers/cli';
import { useTestEnv } from '../../helpers/env';
import { runDigest, seedRuns } from '../../helpers/archive-fixtures';

const env = useTestEnv({ ARCHIVE_DELETE_BATCH: '50' });
// Several CLI subprocesses per test (tsx start-up is slow on a busy machine).
jest.setTimeout(180_000);

describe('archive → delete → restore', () => {
  it('archives exactly the expired runs, verifies, deletes in batches and restores byte-exact', async () => {
    const c = env.container();
    const [oldA, oldB, recent, regulatedYoung, regulatedOld, running] = await seedRuns(c.pg, [
      { rows: 237, endedDaysAgo: 400 },
      { rows: 61, endedDaysAgo: 40, status: 'cancelled' },
      { rows: 20, endedDaysAgo: 5 },
      { rows: 30, endedDaysAgo: 400, regulated: true },
      { rows: 12, endedDaysAgo: 2600, regulated: true },
      { rows: 9, endedDaysAgo: 400, status: 'running' },
    ]);
    const all = [oldA!, oldB!, recent!, regulatedYoung!, regulatedOld!, running!];
    const before = new Map(await Promise.all(all.map(async (id) => [id, await runDigest(c.pg, id)] as const)));
    const dir = await mkdtemp(path.join(os.tmpdir(), 'bulksms-archive-'));

    const dry = await archiveExpiredRuns(c, { olderThanDays: 30, dest: dir, dryRun: true });
    expect(dry).toMatchObject({ dryRun: true, runs: 3, rows: 237 + 61 + 12, files: 0 });
    expect(new Set(dry.runIds)).toEqual(new Set([oldA, oldB, regulatedOld]));
    expect(await readdir(dir)).toEqual([]);

    const res = await runCli(['archive', '--older-than', '30', '--dest', dir, '--json'], env.env);
    expect(res.stderr).not.toMatch(/error/);
    expect(res.code).toBe(0);
    const out = JSON.parse(res.stdout) as { runs: number; rows: number; files: number; manifest: string };
    expect(out).toMatchObject({ runs: 3, rows: 310, files: 3, manifest: path.join(dir, 'manifest.json') });

    const manifest = parseManifest(await readFile(out.manifest, 'utf8'), 'test');
    expect(manifest.files.map((f) => [f.runId, f.rows, f.state]).sort()).toEqual(
      [[oldA, 237, 'deleted'], [oldB, 61, 'deleted'], [regulatedOld, 12, 'deleted']].sort(),
    );
    for (const f of manifest.files) {
      const bytes = await readFile(path.join(dir, f.file));
      expect(createHash('sha256').update(bytes).digest('hex')).toBe(f.sha256);
      expect(bytes.length).toBe(f.bytes);
      const lines = gunzipSync(bytes).toString('utf8').split('\n');
      expect(lines.pop()).toBe('');
      expect(lines).toHaveLength(f.rows);
      expect(f.columns.map((col) => col.name)).toEqual(expect.arrayContaining(['id', 'run_id', 'phone', 'text', 'status']));
      // Embedded newlines/tabs are escaped, so each line decodes to exactly one row of this run.
      const textIdx = f.columns.findIndex((col) => col.name === 'text');
      const decoded = lines.map((l, i) => decodeRow(l, f.columns.length, i + 1));
      expect(new Set(decoded.map((r) => r[1]))).toEqual(new Set([f.runId]));
      expect(decoded.map((r) => r[textIdx])).toContain('line\nbreak\r\n back\\slash \\N');
    }
    for (const id of [oldA!, oldB!, regulatedOld!]) expect((await runDigest(c.pg, id)).rows).toBe(0);
    for (const id of [recent!, regulatedYoung!, running!]) expect(await runDigest(c.pg, id)).toEqual(before.get(id));
    // Who deleted the messages, as every command-line action names it (there is no token): the OS user and host.
    const cliActor = { via: 'cli', user: os.userInfo().username, host: os.hostname() };
    const archivedEntries = await c.prisma.auditLog.findMany({ where: { action: 'archive.run' } });
    expect(archivedEntries).toHaveLength(3);
    for (const e of archivedEntries) expect(e.details).toMatchObject(cliActor);
    expect(await readdir(path.join(dir, 'runs'))).toHaveLength(3); // no temp files left

    const restored = await runCli(['restore', out.manifest, '--json'], env.env);
    expect(restored.code).toBe(0);
    expect(JSON.parse(restored.stdout)).toEqual({ runs: 3, rows: 310, inserted: 310, files: 3 });
    const restoredEntries = await c.prisma.auditLog.findMany({ where: { action: 'archive.restore' } });
    expect(restoredEntries).toHaveLength(3);
    for (const e of restoredEntries) expect(e.details).toMatchObject({ ...cliActor, inserted: expect.any(Number) as number });
    for (const id of all) expect(await runDigest(c.pg, id)).toEqual(before.get(id));

    const again = await restoreArchive(c, dir);
    expect(again).toEqual({ runs: 3, rows: 310, inserted: 0, files: 3 });
    for (const id of all) expect(await runDigest(c.pg, id)).toEqual(before.get(id));

    // Archiving the restored runs again reproduces byte-identical files under the same keys.
    const rerun = await archiveExpiredRuns(c, { olderThanDays: 30, dest: dir });
    expect(rerun).toMatchObject({ runs: 3, rows: 310, files: 3, resumed: 0 });
    const after = parseManifest(await readFile(out.manifest, 'utf8'), 'test');
    expect(after.files.map((f) => [f.file, f.sha256]).sort()).toEqual(manifest.files.map((f) => [f.file, f.sha256]).sort());
    expect(await archiveExpiredRuns(c, { olderThanDays: 30, dest: dir })).toMatchObject({ runs: 0, rows: 0, files: 0 });
  });

  it('refuses a restore whose file does not match its manifest', async () => {
    const c = env.container();
    const [runId] = await seedRuns(c.pg, [{ rows: 10, endedDaysAgo: 800 }]);
    const dir = await mkdtemp(path.join(os.tmpdir(), 'bulksms-archive-'));
    await archiveExpiredRuns(c, { dest: dir });
    const manifestPath = path.join(dir, 'manifest.json');
    const manifest = parseManifest(await readFile(manifestPath, 'utf8'), 'test');
    const entry = manifest.files.find((f) => f.runId === runId)!;
    entry.sha256 = '0'.repeat(64);
    await (await import('node:fs/promises')).writeFile(manifestPath, JSON.stringify(manifest));
    const res = await runCli(['restore', manifestPath, '--json'], env.env);
    expect(res.code).toBe(1);
    expect(JSON.parse(res.stdout).error.message).toContain('SHA-256');
    expect((await runDigest(c.pg, runId!)).rows).toBe(0);
    const missing = await runCli(['restore', path.join(dir, 'nope.json'), '--json'], env.env);
    expect(missing.code).toBe(2);
    // A file that is not a manifest is taken for an archive directory: no manifest there either, bad input too.
    const notes = path.join(dir, 'notes.txt');
    await (await import('node:fs/promises')).writeFile(notes, 'not a manifest\n');
    const notManifest = await runCli(['restore', notes, '--json'], env.env);
    expect(notManifest.code).toBe(2);
    expect(JSON.parse(notManifest.stdout)).toEqual({ error: { code: 'not_found', message: `no archive manifest at ${notes}` } });
  });
});
