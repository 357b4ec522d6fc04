/** `bulksms import` and `bulksms suppress` end to end, in a subprocess, against this file's database. */
import { execFile, spawn } from 'node:child_process';
import { appendFileSync, existsSync, readFileSync, readdirSync, readlinkSync, writeFileSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runCli } from '../../helpers/cli';
import { useTestEnv } from '../../helpers/env';
import { FIXTURES } from './helpers';
import { writeTempCsv } from '../../helpers/temp-csv';
import { INTERNAL_FAILURE } from '../../../src/import/import-contacts';

const env = useTestEnv();
const BIN = path.resolve(__dirname, '../../../bin/bulksms.js');

function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { env: { ...process.env, ...env.env }, timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

describe('bulksms import (CLI)', () => {
  it('imports a file and prints exactly one JSON object with the contract keys', async () => {
    const r = await cli(['import', path.join(FIXTURES, 'numbers.csv'), '--list', 'cli-ok', '--json']);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(r.stdout.trim().split('\n')).toHaveLength(1);
    expect(out).toEqual({
      listId: expect.any(String),
      rows: 16,
      accepted: 9,
      rejected: 5,
      duplicates: 2,
      suppressed: 0,
      rejectReport: expect.stringContaining('-rejects.csv'),
    });
    expect(readFileSync(out.rejectReport as string, 'utf8')).toContain('duplicate of line 2');
  });

  it('exits 2 with a JSON error naming file and line for a file rejected whole, storing nothing', async () => {
    const file = path.join(FIXTURES, 'header-only.csv');
    const r = await cli(['import', file, '--list', 'cli-bad', '--json']);
    expect(r.code).toBe(2);
    expect(JSON.parse(r.stdout)).toEqual({
      error: { code: 'validation', message: `${file}, line 1: the file has a header row but no data rows` },
    });
    const { rows } = await env.container().pg.query(
      `SELECT status, (SELECT count(*)::int FROM contacts c WHERE c.list_id = l.id) AS n FROM contact_lists l WHERE name = 'cli-bad'`,
    );
    expect(rows).toEqual([{ status: 'failed', n: 0 }]);
  });

  it('exits 2 for a missing file without creating a list', async () => {
    const r = await cli(['import', '/nonexistent/x.csv', '--list', 'cli-missing', '--json']);
    expect(r.code).toBe(2);
    expect(JSON.parse(r.stdout).error.message).toBe('/nonexistent/x.csv: cannot read the file: no such file or directory (ENOENT)');
    const { rowCount } = await env.container().pg.query(`SELECT 1 FROM contact_lists WHERE name = 'cli-missing'`);
    expect(rowCount).toBe(0);
  });

  it('honours --phone-column and --country', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'bulksms-cli-'));
    const file = path.join(dir, 'gb.csv');
    writeFileSync(file, 'who,tel number\nA,07911 123456\nB,9876543210\n');
    const r = await cli(['import', file, '--list', 'cli-gb', '--phone-column', 'Tel Number', '--country', 'gb', '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ rows: 2, accepted: 1, rejected: 1 });
  });

  // "unknown country" alone did not say which input was wrong; every other import error names its option.
  it('an unknown --country names the option, for import and suppress alike, and imports nothing', async () => {
    const file = path.join(FIXTURES, 'numbers.csv');
    for (const command of [['import', file, '--list', 'cli-bad-country'], ['suppress', file], ['suppress', '--phone', '9876543210']]) {
      const r = await cli([...command, '--country', 'ZZ', '--json']);
      expect(r.code).toBe(2);
      expect(JSON.parse(r.stdout)).toEqual({
        error: { code: 'validation', message: '--country: unknown country "ZZ" (use an ISO code such as IN)', field: 'country' },
      });
    }
    expect((await env.container().pg.query(`SELECT 1 FROM contact_lists WHERE name = 'cli-bad-country'`)).rows).toHaveLength(0);
  });

  it('a --list name holding a tab or other control character exits 2 naming --list and the character, importing nothing', async () => {
    const file = path.join(FIXTURES, 'numbers.csv');
    const r = await cli(['import', file, '--list', 'cli\tctl', '--json']);
    expect({ code: r.code, out: JSON.parse(r.stdout) as unknown }).toEqual({
      code: 2,
      out: { error: { code: 'validation', message: '--list: a list name must not hold U+0009 (tab) at character 4, an invisible control character; remove it', field: 'list' } },
    });
    expect((await env.container().pg.query(`SELECT 1 FROM contact_lists WHERE name LIKE 'cli%ctl'`)).rows).toHaveLength(0);
  });

  // Node's recursive mkdirSync of the reject report's directory spun forever under /proc, on the main thread: the
  // import hung at 100 % CPU and ignored SIGTERM. The CLI is killed if it does not answer in time.
  it('REPORTS_DIR under /proc is a configuration error naming it (exit 2), not a hang', async () => {
    const r = await runCli(['import', path.join(FIXTURES, 'numbers.csv'), '--list', 'cli-proc-reports', '--json'], { ...env.env, REPORTS_DIR: '/proc/bulksms-reports' }, { timeoutMs: 30_000 });
    expect(r.signal).toBeNull();
    expect(r.code).toBe(2);
    expect(JSON.parse(r.stdout)).toMatchObject({ error: { code: 'config', message: expect.stringContaining('REPORTS_DIR: is under /proc or /sys') } });
  });

  it("a failure of the server itself tells the CLI's operator why (the list's stored reason stays general)", async () => {
    const csv = await writeTempCsv('bulksms-cli-reports-', 'phone\n123\n9876543210\n');
    // LOG_LEVEL=error: the warning that names the cause is not printed, so the error itself must say it.
    const r = await runCli(['import', csv, '--list', 'cli-reports-broken', '--json'], { ...env.env, REPORTS_DIR: '/dev/null/bulksms-reports', LOG_LEVEL: 'error' });
    expect(r.code).toBe(1);
    const message = (JSON.parse(r.stdout) as { error: { message: string } }).error.message;
    expect(message).toContain(INTERNAL_FAILURE);
    expect(message).toMatch(/ENOTDIR.*\/dev\/null\/bulksms-reports/);
    const list = await env.container().prisma.contactList.findFirstOrThrow({ where: { name: 'cli-reports-broken' } });
    expect([list.status, list.failureReason]).toEqual(['failed', INTERNAL_FAILURE]);
  });

  it('a --phone-column the header does not have names the option as the field, and the column in the message', async () => {
    const file = path.join(FIXTURES, 'numbers.csv');
    for (const command of [['import', file, '--list', 'cli-no-col'], ['suppress', file]]) {
      const r = await cli([...command, '--phone-column', 'tel', '--json']);
      expect(r.code).toBe(2);
      expect(JSON.parse(r.stdout)).toEqual({
        error: { code: 'validation', message: `${file}, line 1, column "tel": no column "tel" in the header (columns: "name", "mobile")`, field: 'phoneColumn' },
      });
    }
  });

  it('a bad limit option is reported with the option as `field`, in camelCase as for every CLI error', async () => {
    const r = await cli(['import', path.join(FIXTURES, 'numbers.csv'), '--list', 'cli-limit', '--max-record-size', '0', '--json']);
    expect(r.code).toBe(2);
    expect(JSON.parse(r.stdout)).toEqual({
      error: { code: 'validation', message: '--max-record-size must be a positive integer', field: 'maxRecordSize' },
    });
  });

  it('a file without a recognisable phone column points the operator at --phone-column', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'bulksms-cli-'));
    const file = path.join(dir, 'nophone.csv');
    writeFileSync(file, 'name,email\nAsha,a@example.com\n');
    const r = await cli(['import', file, '--list', 'cli-nophone', '--json']);
    expect(r.code).toBe(2);
    expect(JSON.parse(r.stdout).error.message).toMatch(/; name it phone\/mobile\/msisdn or pass --phone-column$/);
  });

  it('Ctrl-C mid-import fails the list (no contacts, no spooled rows left on disk) and the name can be imported again', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'bulksms-cli-'));
    const file = path.join(dir, 'big.csv');
    // Every other number invalid: rejected rows are spooled from the first batch on, so the spool shows the import is
    // under way; libphonenumber's slow path keeps it busy for seconds after that.
    const rows = Array.from({ length: 400_000 }, (_v, i) => (i % 2 ? `n${i},12345` : `n${i},9${String(i).padStart(9, '0')}`));
    writeFileSync(file, `name,phone\n${rows.join('\n')}\n`);
    const child = spawn(process.execPath, [BIN, 'import', file, '--list', 'cli-interrupted', '--json'], {
      env: { ...process.env, ...env.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    await waitForOpenSpool(child.pid!);
    child.kill('SIGINT');
    expect(await exited).toBe(1);
    expect(stderr).toMatch(/SIGINT: stopping the import/);
    expect(JSON.parse(stdout).error.message).toBe(`import of ${file} failed: interrupted (SIGINT); nothing was imported`);
    const { rows: lists } = await env.container().pg.query(
      `SELECT status, failure_reason, (SELECT count(*)::int FROM contacts c WHERE c.list_id = l.id) AS n FROM contact_lists l WHERE name = 'cli-interrupted'`,
    );
    expect(lists).toEqual([{ status: 'failed', failure_reason: 'interrupted (SIGINT); nothing was imported', n: 0 }]);
    expect(spoolFiles()).toEqual([]);
    const again = await cli(['import', path.join(FIXTURES, 'numbers.csv'), '--list', 'cli-interrupted', '--json']);
    expect({ code: again.code, accepted: JSON.parse(again.stdout).accepted }).toEqual({ code: 0, accepted: 9 });
  }, 60_000);

  it('Ctrl-C after the file was read whole (while the report is written) still fails the list instead of committing it', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'bulksms-cli-'));
    const file = path.join(dir, 'rejects.csv');
    // Every number invalid: the reject report, written once the whole file is read, takes a while.
    const rows = Array.from({ length: 400_000 }, (_v, i) => `n${i},${i}`);
    writeFileSync(file, `name,phone\n${rows.join('\n')}\n`);
    const child = spawn(process.execPath, [BIN, 'import', file, '--list', 'cli-late-interrupt', '--json'], {
      env: { ...process.env, ...env.env },
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    const list = async () =>
      (await env.container().pg.query<{ id: string; status: string; failure_reason: string | null }>(`SELECT id, status, failure_reason FROM contact_lists WHERE name = 'cli-late-interrupt'`)).rows[0];
    const deadline = Date.now() + 30_000;
    let id: string | undefined;
    while (!id && Date.now() < deadline) {
      id = (await list())?.id;
      if (!id) await new Promise((r) => setTimeout(r, 20));
    }
    const report = path.resolve(env.config.REPORTS_DIR, `import-${id}-rejects.csv`);
    while (!existsSync(report) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(existsSync(report)).toBe(true);
    child.kill('SIGINT');
    expect(await exited).toBe(1);
    expect(JSON.parse(stdout).error.message).toContain('interrupted (SIGINT); nothing was imported');
    expect(await list()).toMatchObject({ status: 'failed', failure_reason: 'interrupted (SIGINT); nothing was imported' });
    expect(existsSync(report)).toBe(false);
  }, 60_000);
});

/** Spool files on the REPORTS_DIR's disk (there should be none: the spool is used through its descriptor only). */
function spoolFiles(): string[] {
  return existsSync(env.config.REPORTS_DIR) ? readdirSync(env.config.REPORTS_DIR).filter((f) => f.endsWith('.spool')) : [];
}

/** Waits until the process has spooled rows (an open `….spool` descriptor), and checks the file has no name left. */
async function waitForOpenSpool(pid: number): Promise<void> {
  const openSpools = () => {
    try {
      return readdirSync(`/proc/${pid}/fd`).map((fd) => {
        try {
          return readlinkSync(`/proc/${pid}/fd/${fd}`);
        } catch {
          return '';
        }
      }).filter((target) => target.includes('.spool'));
    } catch {
      return [];
    }
  };
  const deadline = Date.now() + 30_000;
  // The importer opens its spool and unlinks it right after: a look between the two saw it still named on disk.
  while (!openSpools().some((target) => target.endsWith(' (deleted)')) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  const open = openSpools();
  expect(open).toEqual([expect.stringMatching(/\.spool \(deleted\)$/)]);
  expect(spoolFiles()).toEqual([]);
}

describe('bulksms import of a file still being written', () => {
  it('fails the list, saying so, instead of making it ready with the rows written so far', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'bulksms-cli-'));
    const file = path.join(dir, 'growing.csv');
    const rows = Array.from({ length: 300_000 }, (_v, i) => `n${i},9${String(i).padStart(9, '0')}`);
    writeFileSync(file, `name,phone\n${rows.join('\n')}\n`);
    const run = cli(['import', file, '--list', 'cli-growing', '--json']);
    const status = async () => (await env.container().pg.query<{ status: string; failure_reason: string | null }>(`SELECT status, failure_reason FROM contact_lists WHERE name = 'cli-growing'`)).rows[0];
    for (let i = 0; i < 1000 && (await status())?.status !== 'importing'; i++) await new Promise((r) => setTimeout(r, 10));
    expect((await status())?.status).toBe('importing');
    // The writer (a copy, a download) goes on while the import runs.
    appendFileSync(file, 'late,9123456789\n');
    const r = await run;
    expect(r.code).toBe(2);
    expect(JSON.parse(r.stdout).error.message).toContain('the file changed while it was being imported');
    const list = await status();
    expect(list?.status).toBe('failed');
    expect(list?.failure_reason).toContain('the file changed while it was being imported');
    const contacts = await env.container().pg.query(`SELECT count(*)::int AS n FROM contacts c JOIN contact_lists l ON l.id = c.list_id WHERE l.name = 'cli-growing'`);
    expect(contacts.rows).toEqual([{ n: 0 }]);
  }, 60_000);
});

describe('bulksms import killed (SIGKILL)', () => {
  it('leaves no spooled rows on disk; the list says its import stopped, and the name can be imported again', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'bulksms-cli-'));
    const file = path.join(dir, 'big.csv');
    const rows = Array.from({ length: 400_000 }, (_v, i) => (i % 2 ? `n${i},12345` : `n${i},9${String(i).padStart(9, '0')}`));
    writeFileSync(file, `name,phone\n${rows.join('\n')}\n`);
    const child = spawn(process.execPath, [BIN, 'import', file, '--list', 'cli-killed', '--json'], { env: { ...process.env, ...env.env }, stdio: 'ignore' });
    const exited = new Promise<string | null>((resolve) => child.on('close', (_code, signal) => resolve(signal)));
    await waitForOpenSpool(child.pid!);
    child.kill('SIGKILL');
    expect(await exited).toBe('SIGKILL');
    expect(spoolFiles()).toEqual([]);
    const status = async () => (await env.container().pg.query(`SELECT status, failure_reason FROM contact_lists WHERE name = 'cli-killed'`)).rows;
    expect(await status()).toEqual([{ status: 'importing', failure_reason: null }]);
    // A campaign on it is refused with the reason, and from then on the list says it.
    const refused = await cli(['campaign', 'create', '--name', 'on-killed', '--list', 'cli-killed', '--type', 'transactional', '--from', 'BLKSMS', '--text', 'Hi', '--json']);
    expect(refused.code).toBe(2);
    expect(JSON.parse(refused.stdout).error.message).toContain('is failed: the import stopped before it finished');
    expect(await status()).toEqual([{ status: 'failed', failure_reason: expect.stringContaining('its process ended') }]);
    const again = await cli(['import', path.join(FIXTURES, 'numbers.csv'), '--list', 'cli-killed', '--json']);
    expect({ code: again.code, accepted: JSON.parse(again.stdout).accepted }).toEqual({ code: 0, accepted: 9 });
  }, 60_000);
});

describe('bulksms suppress (CLI)', () => {
  it('adds one number idempotently and then keeps it out of imports', async () => {
    const first = await cli(['suppress', '--phone', '+91 98765-43210', '--reason', 'STOP', '--json']);
    expect(first.code).toBe(0);
    expect(JSON.parse(first.stdout)).toEqual({ added: 1 });
    const again = await cli(['suppress', '--phone', '09876543210', '--json']);
    expect(JSON.parse(again.stdout)).toEqual({ added: 0 });
    const imported = await cli(['import', path.join(FIXTURES, 'crlf.csv'), '--list', 'cli-supp', '--json']);
    expect(JSON.parse(imported.stdout)).toMatchObject({ rows: 3, accepted: 2, suppressed: 1 });
  });

  it('adds the numbers of a file (a header-less list of numbers works too)', async () => {
    const r = await cli(['suppress', path.join(FIXTURES, 'headerless.csv'), '--reason', 'DND', '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ added: 1, rows: 2, rejected: 0 }); // 9876543210 is already there
    const { rows } = await env.container().pg.query(`SELECT phone, reason FROM suppressions ORDER BY phone`);
    expect(rows).toEqual([
      { phone: '+919876543210', reason: 'STOP' },
      { phone: '+919876543211', reason: 'DND' },
    ]);
  });

  it('exits 2 for an invalid number or bad usage', async () => {
    const bad = await cli(['suppress', '--phone', '12345', '--json']);
    expect(bad.code).toBe(2);
    expect(JSON.parse(bad.stdout).error.message).toBe('invalid phone number: "12345" (invalid number (too short))');
    // Neither a file nor --phone, or both (which one would it mean?): bad usage, nothing added.
    const before = (await env.container().pg.query(`SELECT count(*)::int AS n FROM suppressions`)).rows[0];
    const usage = { error: { code: 'validation', message: 'give either a file or --phone <number> (not both)', field: 'phone' } };
    const neither = await cli(['suppress', '--json']);
    expect({ code: neither.code, json: JSON.parse(neither.stdout) }).toEqual({ code: 2, json: usage });
    const both = await cli(['suppress', path.join(FIXTURES, 'headerless.csv'), '--phone', '9876543212', '--json']);
    expect({ code: both.code, json: JSON.parse(both.stdout) }).toEqual({ code: 2, json: usage });
    expect((await env.container().pg.query(`SELECT count(*)::int AS n FROM suppressions`)).rows[0]).toEqual(before);
  });

  // Over HTTP both are audited (suppression.add, list.import); from the command line neither left an entry.
  it('audits a suppression and an import like the API does: who (OS user, host), what, never a number in clear', async () => {
    const file = path.join(FIXTURES, 'headerless.csv');
    const { rows: [before] } = await env.container().pg.query<{ id: string }>(`SELECT COALESCE(max(id), 0)::text AS id FROM audit_log`);
    expect((await cli(['suppress', '--phone', '98765 43219', '--json'])).code).toBe(0);
    expect((await cli(['suppress', file, '--json'])).code).toBe(0);
    const list = path.join(FIXTURES, 'numbers.csv');
    const imported = JSON.parse((await cli(['import', list, '--list', 'cli-audited', '--json'])).stdout) as { listId: string };
    const { rows } = await env.container().pg.query<{ action: string; target: string | null; details: Record<string, unknown> }>(
      `SELECT action, target, details FROM audit_log WHERE id > $1 ORDER BY id`,
      [before!.id],
    );
    const who = { via: 'cli', user: os.userInfo().username, host: os.hostname() };
    expect(rows).toEqual([
      { action: 'suppression.add', target: null, details: { ...who, phone: '+91******3219', added: 1 } },
      { action: 'suppression.add', target: file, details: { ...who, added: 0, rows: 2, rejected: 0 } },
      { action: 'list.import', target: imported.listId, details: { ...who, list: 'cli-audited', file: list, accepted: expect.any(Number) } },
    ]);
    expect(JSON.stringify(rows)).not.toMatch(/9876543219/);
  });
});
