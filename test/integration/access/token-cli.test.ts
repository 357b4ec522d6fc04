import { execFile } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { recordAudit } from '../../../src/access/audit';
import { authenticate, hashToken } from '../../../src/access/tokens';
import { useTestEnv } from '../../helpers/env';

const run = promisify(execFile);
const BIN = path.join(__dirname, '..', '..', '..', 'bin', 'bulksms.js');
// Five CLI subprocesses in one test: tsx start-up takes seconds each on a loaded machine.
jest.setTimeout(300_000);
const env = useTestEnv({ API_TOKEN: 'legacy-token-0123456789abcdef' });

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run('node', [BIN, ...args], { env: { ...process.env, ...env.env } });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('bulksms token create / revoke', () => {
  it('creates a hashed token that authenticates with its role until revoked', async () => {
    const created = await cli(['token', 'create', '--role', 'viewer', '--name', 'support', '--phone', '9876543210', '--json']);
    expect(created.code).toBe(0);
    const out = JSON.parse(created.stdout) as { tokenId: string; token: string; role: string };
    expect(out.role).toBe('viewer');
    expect(out.token).toMatch(/^bsms_[A-Za-z0-9_-]{43}$/);

    const c = env.container();
    const row = await c.prisma.apiToken.findUniqueOrThrow({ where: { id: out.tokenId } });
    expect(row.tokenHash).toBe(hashToken(out.token));
    expect(JSON.stringify(row)).not.toContain(out.token);
    expect(row.phone).toBe('+919876543210');

    expect(await authenticate(c, `Bearer ${out.token}`)).toEqual({ tokenId: out.tokenId, role: 'viewer', phone: '+919876543210', name: 'support' });
    expect(await authenticate(c, `Bearer ${out.token}x`)).toBeNull();
    expect(await authenticate(c, 'Bearer legacy-token-0123456789abcdef')).toMatchObject({ tokenId: null, role: 'owner' });

    const listed = JSON.parse((await cli(['token', 'list', '--json'])).stdout) as { tokens: { tokenId: string; phone: string; role: string }[] };
    expect(listed.tokens).toEqual([expect.objectContaining({ tokenId: out.tokenId, role: 'viewer', phone: '+91******3210' })]);
    expect(JSON.stringify(listed)).not.toContain(out.token);
    // For a person: a table with a header, as `campaign list` and `list ls` print, with the last use the help promises.
    const [header, tokenRow, ...rest] = (await cli(['token', 'list'])).stdout.trimEnd().split('\n');
    expect(header!.split(/\s{2,}/)).toEqual(['ID', 'ROLE', 'NAME', 'PHONE', 'CREATED', 'LAST USED']);
    expect(tokenRow!.split(/\s{2,}/)).toEqual([out.tokenId, 'viewer', 'support', '+91******3210', expect.stringMatching(/ IST$/), expect.stringMatching(/ IST$/)]);
    expect(rest).toEqual([]);

    const revoked = await cli(['token', 'revoke', out.tokenId, '--json']);
    expect(revoked.code).toBe(0);
    expect(JSON.parse(revoked.stdout)).toMatchObject({ tokenId: out.tokenId });
    expect(await authenticate(c, `Bearer ${out.token}`)).toBeNull();

    const audit = JSON.parse((await cli(['audit', '--json'])).stdout) as { entries: { action: string; target: string }[] };
    expect(audit.entries.filter((e) => e.target === out.tokenId).map((e) => e.action)).toEqual(['token.revoke', 'token.create']);
    // Who changed the tokens: the OS user and host, as for every other action taken from the command line.
    const who = await c.pg.query<{ action: string; via: string; user: string; host: string }>(
      `SELECT action, details->>'via' AS via, details->>'user' AS user, details->>'host' AS host FROM audit_log WHERE target = $1 ORDER BY id`,
      [out.tokenId],
    );
    expect(who.rows).toEqual(['token.create', 'token.revoke'].map((action) => ({ action, via: 'cli', user: os.userInfo().username, host: os.hostname() })));
  });

  it('rejects a bad role with exit 2 and a JSON error', async () => {
    const bad = await cli(['token', 'create', '--role', 'admin', '--json']);
    expect(bad.code).toBe(2);
    expect(JSON.parse(bad.stdout)).toEqual({ error: { code: 'validation', message: expect.stringContaining('--role'), field: 'role' } });
  });

  it('revoking an unknown token exits 2', async () => {
    const res = await cli(['token', 'revoke', '00000000-0000-4000-8000-000000000000', '--json']);
    expect(res.code).toBe(2);
    expect(JSON.parse(res.stdout).error.code).toBe('not_found');
  });
});

describe('bulksms audit', () => {
  it('pages through every entry with --cursor, as the listing commands do, and refuses a --limit over 1000', async () => {
    // Only the newest `--limit` (at most 1000) entries could be read: with --since too, the newest since then. An owner's
    // dashboard under an OTP grant writes one every few seconds, so last week was out of reach for an audit.
    const c = env.container();
    for (let i = 1; i <= 5; i++) await recordAudit(c, { tokenId: null, action: 'test.page', target: `entry-${i}` });
    type Page = { entries: { target: string }[]; nextCursor: string | null };
    const first = JSON.parse((await cli(['audit', '--action', 'test.page', '--limit', '2', '--json'])).stdout) as Page;
    expect(first.entries.map((e) => e.target)).toEqual(['entry-5', 'entry-4']);
    expect(first.nextCursor).toEqual(expect.any(String));
    const text = await cli(['audit', '--action', 'test.page', '--limit', '2', '--cursor', first.nextCursor!]);
    const lines = text.stdout.trimEnd().split('\n');
    expect(lines.slice(0, 2).map((l) => /test\.page +(entry-\d)/.exec(l)?.[1])).toEqual(['entry-3', 'entry-2']);
    const more = /^more: bulksms audit --action test\.page --limit 2 --cursor (\S+)$/.exec(lines[2]!);
    expect(more).not.toBeNull();
    const last = JSON.parse((await cli(['audit', '--action', 'test.page', '--limit', '2', '--cursor', more![1]!, '--json'])).stdout) as Page;
    expect(last).toEqual({ entries: [expect.objectContaining({ target: 'entry-1' })], nextCursor: null });

    const tooMany = await cli(['audit', '--limit', '5000', '--json']);
    expect([tooMany.code, JSON.parse(tooMany.stdout)]).toEqual([
      2, { error: { code: 'validation', message: '--limit: 5000 is more than 1000 entries; page with --cursor', field: 'limit' } },
    ]);
    const badCursor = await cli(['audit', '--cursor', 'abc', '--json']);
    expect([badCursor.code, JSON.parse(badCursor.stdout).error.field]).toEqual([2, 'cursor']);
  });

  it('takes --since as ISO-8601 only, and prints a stored target as other listings print stored text', async () => {
    // `new Date()` read "Nov 1 2026" and "1/11/2026" (January) too, which --help does not promise.
    for (const since of ['Nov 1 2026', '1/11/2026', '2026-11-01 09:30']) {
      const r = await cli(['audit', '--since', since, '--json']);
      expect({ since, code: r.code, field: JSON.parse(r.stdout).error?.field }).toEqual({ since, code: 2, field: 'since' });
    }
    await recordAudit(env.container(), { tokenId: null, action: 'test.target', target: 'list.csv\u001b[2J\u202Efake' });
    const day = new Date().toISOString().slice(0, 10);
    for (const since of [day, `${day}T00:00:00Z`, `${day}T00:00+05:30`]) {
      const r = await cli(['audit', '--action', 'test.target', '--since', since]);
      expect({ since, code: r.code }).toEqual({ since, code: 0 });
      // eslint-disable-next-line no-control-regex -- an escape sequence or override in a file name must not reach the terminal
      expect(r.stdout).not.toMatch(/[\u001b\u202e]/);
      expect(r.stdout).toMatch(/test\.target +list\.csv.*fake/);
    }
  });
});
