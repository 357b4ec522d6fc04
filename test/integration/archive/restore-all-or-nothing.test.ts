/**
 * A restore checks every file of the manifest before it inserts a row: a damaged, truncated or missing file, or a
 * run deleted since the archive, found at the last file must not leave the other files' rows restored.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { gunzipSync, gzipSync } from 'node:zlib';
import os from 'node:os';
import path from 'node:path';
import { archiveExpiredRuns } from '../../../src/archive/archive';
import { restoreArchive } from '../../../src/archive/restore';
import { parseManifest, type ManifestFile } from '../../../src/archive/manifest';
import { runCli } from '../../helpers/cli';
import { useTestEnv } from '../../helpers/env';
import { runDigest, seedRuns } from '../../helpers/archive-fixtures';

jest.setTimeout(180_000);
const env = useTestEnv({ ARCHIVE_DELETE_BATCH: '50' });

/** Archives three runs; returns the files in the order a restore takes them (newest first): the last one is damaged. */
async function archiveThree(): Promise<{ dir: string; runs: string[]; files: ManifestFile[] }> {
  const c = env.container();
  await c.pg.query('TRUNCATE messages, campaign_runs, campaigns, contact_lists CASCADE');
  const runs = await seedRuns(c.pg, [
    { rows: 120, endedDaysAgo: 900 },
    { rows: 80, endedDaysAgo: 800 },
    { rows: 60, endedDaysAgo: 700 },
  ]);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'bulksms restore all-or-nothing '));
  await archiveExpiredRuns(c, { dest: dir });
  const manifest = parseManifest(await readFile(path.join(dir, 'manifest.json'), 'utf8'), 'test');
  const files = [...manifest.files].sort((a, b) => b.exportedAt.localeCompare(a.exportedAt));
  for (const id of runs) expect((await runDigest(c.pg, id)).rows).toBe(0);
  return { dir, runs, files };
}

async function expectNothingRestored(runs: string[]): Promise<void> {
  for (const id of runs) expect((await runDigest(env.container().pg, id)).rows).toBe(0);
}

async function restore(dir: string) {
  const res = await runCli(['restore', path.join(dir, 'manifest.json'), '--json'], env.env);
  return { code: res.code, error: (JSON.parse(res.stdout) as { error?: { message: string } }).error };
}

type Archived = Awaited<ReturnType<typeof archiveThree>>;
type ArchivedFile = Archived['files'][number];

/** What goes wrong with the last of the three archived runs, and what the error must say besides its file. */
// Every row has all three cells: jest passes a `done` callback in place of a missing one, and the test then waits for it.
const damages: [string, (dir: string, last: ArchivedFile) => Promise<unknown>, string | null][] = [
  ['a truncated file', (dir, last) => truncate(path.join(dir, last.file), Math.floor(last.bytes / 2)), null],
  [
    'an edited file',
    async (dir, last) => {
      const bytes = await readFile(path.join(dir, last.file));
      bytes.writeUInt8(bytes.readUInt8(bytes.length - 1) ^ 0xff, bytes.length - 1);
      await writeFile(path.join(dir, last.file), bytes);
    },
    null,
  ],
  ['a missing file', (dir, last) => rm(path.join(dir, last.file)), null],
  [
    'a campaign deleted since the archive',
    (_dir, last) => env.container().pg.query('DELETE FROM campaigns WHERE id = $1', [last.campaignId]),
    'no longer exists',
  ],
];

describe('restore is all or nothing', () => {
  it.each(damages)('%s: exit 1 naming its file, no run restored', async (_label, damage, says) => {
    const { dir, runs, files } = await archiveThree();
    const last = files[files.length - 1]!;
    await damage(dir, last);
    const res = await restore(dir);
    expect(res.code).toBe(1);
    expect(res.error?.message).toContain(last.file);
    if (says) expect(res.error?.message).toContain(says);
    await expectNothingRestored(runs);
  });
});

/** The last file's last row rewritten by `spoil`, and the file gzipped again; returns the new file's bytes. */
async function rewriteLastRow(dir: string, last: ArchivedFile, spoil: (fields: string[]) => string[]): Promise<Buffer> {
  const file = path.join(dir, last.file);
  const lines = gunzipSync(await readFile(file)).toString('utf8').split('\n');
  const end = lines.length - 2; // the text ends with a newline
  lines[end] = spoil(lines[end]!.split('\t')).join('\t');
  const bytes = gzipSync(Buffer.from(lines.join('\n'), 'utf8'));
  await writeFile(file, bytes);
  return bytes;
}

/**
 * The last file rewritten with its manifest entry kept consistent (SHA-256, bytes, rows), so every pre-check passes,
 * and one row spoiled: what only inserting finds. The rows of the files loaded before it stayed in the database.
 */
async function spoilLastRow(dir: string, last: ArchivedFile, spoil: (fields: string[]) => string[]): Promise<void> {
  const bytes = await rewriteLastRow(dir, last, spoil);
  const manifestPath = path.join(dir, 'manifest.json');
  const manifest = parseManifest(await readFile(manifestPath, 'utf8'), 'test');
  const entry = manifest.files.find((f) => f.file === last.file)!;
  entry.sha256 = createHash('sha256').update(bytes).digest('hex');
  entry.bytes = bytes.length;
  await writeFile(manifestPath, JSON.stringify(manifest));
}

const PHONE = '+919812345678';

const spoiled: [string, (fields: string[], last: ArchivedFile) => string[]][] = [
  ['a row with a field missing', (fields) => fields.slice(1)],
  // A phone number where a number of attempts belongs (columns shifted): the error must not repeat it.
  ['a row with a value of the wrong type', (fields, last) => fields.map((f, i) => (last.columns[i]!.name === 'attempts' ? PHONE : f))],
];

describe('restore is all or nothing, also for what only inserting finds', () => {
  it.each(spoiled)('%s in the last file: exit 1, no run restored', async (_label, spoil) => {
    const { dir, runs, files } = await archiveThree();
    const last = files[files.length - 1]!;
    await spoilLastRow(dir, last, (fields) => spoil(fields, last));
    const res = await restore(dir);
    expect(res.code).toBe(1);
    expect(res.error?.message).toContain(last.file);
    expect(res.error?.message).not.toContain(PHONE.slice(3));
    await expectNothingRestored(runs);
  });
});

/**
 * The check pass hashes every file, the load pass reads each one again: a file replaced in between (by hand, by a
 * sync job, by someone covering their tracks) loaded without its SHA-256 ever being compared — every row of it, here
 * a failure reason rewritten. The load pass now hashes the bytes it loads and fails before the commit.
 */
it('a file replaced after the check pass fails the restore, and nothing of any file is loaded', async () => {
  const { dir, runs, files } = await archiveThree();
  const last = files[files.length - 1]!;
  const TAMPERED = 'tampered after the check';
  const replace = async () => {
    await rewriteLastRow(dir, last, (fields) => fields.map((f, i) => (last.columns[i]!.name === 'failure_reason' ? TAMPERED : f)));
  };
  await expect(restoreArchive(env.container(), dir, { onChecked: replace })).rejects.toThrow(
    `${last.file}: changed since it was checked (SHA-256 or row count differs from the manifest); nothing restored`,
  );
  await expectNothingRestored(runs);
  const tampered = await env.container().pg.query('SELECT 1 FROM messages WHERE failure_reason = $1', [TAMPERED]);
  expect(tampered.rowCount).toBe(0);
});
