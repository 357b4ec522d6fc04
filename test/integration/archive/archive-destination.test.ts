/** A destination that cannot hold an archive is refused up front, naming it and saying what to do; nothing is deleted. */
import { mkdtemp, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { runCli } from '../../helpers/cli';
import { useTestEnv } from '../../helpers/env';
import { runDigest, seedRuns } from '../../helpers/archive-fixtures';

const env = useTestEnv();
const FAILURE = { error: { code: 'validation' } };
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

  // The dry run says so too: it is how an operator checks a new destination before the first real night.
  it.each([
    ['is a regular file', () => file, []],
    ['lies under a regular file', () => path.join(file, 'nightly'), []],
    ['is a regular file (--dry-run)', () => file, ['--dry-run']],
    ['lies under a regular file (--dry-run)', () => path.join(file, 'nightly'), ['--dry-run']],
  ])('%s: exit 2, the message names it, no row deleted', async (_what, dest, extra) => {
    const c = env.container();
    const [runId] = await seedRuns(c.pg, [{ rows: 5, endedDaysAgo: 400 }]);
    const before = await runDigest(c.pg, runId!);
    const res = await runCli(['archive', '--older-than', '30', '--dest', dest(), ...extra, '--json'], env.env);
    expect(res.code).toBe(2);
    expect(JSON.parse(res.stdout)).toMatchObject(FAILURE);
    expect((JSON.parse(res.stdout) as { error: { message: string } }).error.message).toContain(`archive destination ${dest()}: ${file} is a file, not a directory`);
    expect(await runDigest(c.pg, runId!)).toEqual(before);
  });
});

describe('archive --dest under a kernel pseudo-file system', () => {
  let tmp: string;
  beforeAll(async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), 'bulksms-archive-proc-'));
    await symlink('/proc', path.join(tmp, 'proc-link'));
  });
  afterAll(() => rm(tmp, { recursive: true, force: true }));

  // Node's recursive mkdir spun forever at 100% CPU under /proc: the CLI is killed if it does not answer in time.
  it.each([
    ['/proc/bulksms-archive-test/nightly', '/proc'],
    ['/sys/bulksms-archive-test', '/sys'],
    ['(symlink to /proc)/nightly', '/proc'],
    ['/proc/bulksms-archive-test/nightly (--dry-run)', '/proc'],
  ])('%s: refused with exit 2, nothing deleted', async (spec, under) => {
    const dryRun = spec.endsWith(' (--dry-run)');
    const given = spec.replace(' (--dry-run)', '');
    const dest = given.startsWith('(') ? path.join(tmp, 'proc-link', 'nightly') : given;
    const c = env.container();
    const [runId] = await seedRuns(c.pg, [{ rows: 5, endedDaysAgo: 400 }]);
    const before = await runDigest(c.pg, runId!);
    const res = await runCli(['archive', '--older-than', '30', '--dest', dest, ...(dryRun ? ['--dry-run'] : []), '--json'], env.env, { timeoutMs: 30_000 });
    expect(res.signal).toBeNull();
    expect(res.code).toBe(2);
    expect(JSON.parse(res.stdout)).toMatchObject(FAILURE);
    expect((JSON.parse(res.stdout) as { error: { message: string } }).error.message).toContain(
      `archive destination ${dest} is under ${under}, a kernel pseudo-file system`,
    );
    expect(await runDigest(c.pg, runId!)).toEqual(before);
  });
});

describe('archive --dest as a URL other than s3://', () => {
  let cwd: string;
  beforeAll(async () => {
    cwd = await mkdtemp(path.join(os.tmpdir(), 'bulksms-archive-url-'));
  });
  afterAll(() => rm(cwd, { recursive: true, force: true }));

  // It was taken for a relative directory: `ftp://host/nightly` archived into ./ftp:/host/nightly and exited 0.
  it.each([
    ['ftp://archive.example/nightly', 'ftp', []],
    ['https://user:secret@archive.example/nightly', 'https', []],
    ['file:///srv/archive', 'file', ['--dry-run']],
  ])('%s: refused with exit 2 naming the scheme, nothing created or deleted', async (dest, scheme, extra) => {
    const c = env.container();
    const [runId] = await seedRuns(c.pg, [{ rows: 5, endedDaysAgo: 400 }]);
    const before = await runDigest(c.pg, runId!);
    const res = await runCli(['archive', '--older-than', '30', '--dest', dest, ...extra, '--json'], env.env, { cwd });
    expect(res.code).toBe(2);
    const err = JSON.parse(res.stdout) as { error: { code: string; message: string; field?: string } };
    expect({ code: err.error.code, field: err.error.field }).toEqual({ code: 'validation', field: 'dest' });
    expect(err.error.message).toContain(`a ${scheme}:// URL is neither a directory nor s3://bucket[/prefix]`);
    expect(err.error.message).not.toContain('secret');
    expect(await readdir(cwd)).toEqual([]);
    expect(await runDigest(c.pg, runId!)).toEqual(before);
  });
});
