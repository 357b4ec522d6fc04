/**
 * `bulksms suppression check|remove` end to end, in a subprocess: a number is looked up as typed, taken off the
 * list with a required reason (audited, the number masked), and the next import keeps it again.
 */
import path from 'node:path';
import { runCli } from '../../helpers/cli';
import { useTestEnv } from '../../helpers/env';
import { writeTempCsv } from '../../helpers/temp-csv';
import { FIXTURES } from '../import/helpers';

const env = useTestEnv();
const cli = (args: string[]) => runCli(args, env.env, { timeoutMs: 60_000 });

describe('bulksms suppression (CLI)', () => {
  it('checks a number, removes it only with a reason, audits the removal, and the next import keeps it', async () => {
    expect((await cli(['suppress', '--phone', '9876543210', '--reason', 'replied STOP'])).code).toBe(0);
    const check = await cli(['suppression', 'check', '--phone', '+91 98765 43210', '--json']);
    expect({ code: check.code, out: JSON.parse(check.stdout) }).toEqual({
      code: 0,
      out: { phone: '+919876543210', suppressed: true, reason: 'replied STOP', source: 'cli', since: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) },
    });
    const human = await cli(['suppression', 'check', '--phone', '098765 43210']);
    expect(human.stdout).toMatch(/^\+919876543210 is suppressed since \S+ \(cli: replied STOP\)\n$/);
    // A reason is any text (a file's column, an API caller's): an ANSI escape or a line break in it is blanked.
    expect((await cli(['suppress', '--phone', '9876543219', '--reason', 'STOP\u001b[2J\r\nnow'])).code).toBe(0);
    expect((await cli(['suppression', 'check', '--phone', '9876543219'])).stdout).toMatch(/^\+919876543219 is suppressed since \S+ \(cli: STOP \[2J {2}now\)\n$/);

    const noReason = await cli(['suppression', 'remove', '--phone', '9876543210', '--json']);
    expect({ code: noReason.code, error: JSON.parse(noReason.stdout).error }).toEqual({
      code: 2,
      error: { code: 'validation', field: 'reason', message: expect.stringMatching(/^--reason: say why/) },
    });
    const removed = await cli(['suppression', 'remove', '--phone', '098765-43210', '--reason', 'customer 98765 43210 re-subscribed', '--json']);
    expect({ code: removed.code, out: JSON.parse(removed.stdout) }).toEqual({ code: 0, out: { phone: '+919876543210', removed: 1 } });
    const again = await cli(['suppression', 'remove', '--phone', '9876543210', '--reason', 'retry']);
    expect({ code: again.code, stdout: again.stdout }).toEqual({ code: 0, stdout: '+919876543210 was not suppressed\n' });
    const after = await cli(['suppression', 'check', '--phone', '9876543210', '--json']);
    expect(JSON.parse(after.stdout)).toEqual({ phone: '+919876543210', suppressed: false, reason: null, source: null, since: null });

    const audit = await env.container().prisma.auditLog.findMany({ where: { action: 'suppression.remove' }, orderBy: { id: 'asc' } });
    expect(audit.map((a) => a.details)).toEqual([
      expect.objectContaining({ via: 'cli', phone: '+91******3210', reason: 'customer ***** *3210 re-subscribed', removed: 1 }),
      expect.objectContaining({ via: 'cli', phone: '+91******3210', reason: 'retry', removed: 0 }),
    ]);
    expect(JSON.stringify(audit.map((a) => [a.target, a.details]))).not.toMatch(/9876543210|98765 43210/);

    // crlf.csv holds 9876543210: with the number off the list, it is imported again.
    const imported = await cli(['import', path.join(FIXTURES, 'crlf.csv'), '--list', 'after-removal', '--json']);
    expect(JSON.parse(imported.stdout)).toMatchObject({ rows: 3, accepted: 3, suppressed: 0 });
  }, 120_000);

  it('removes the numbers of a file a suppress imported by mistake, and refuses bad usage', async () => {
    const file = await writeTempCsv('dnd', 'phone\n9876500001\n9876500002\n9876500003\n');
    expect(JSON.parse((await cli(['suppress', file, '--reason', 'DND', '--json'])).stdout)).toMatchObject({ added: 3 });
    const undo = await writeTempCsv('undo', '9876500001\n9876500002\nnot-a-number\n');
    const r = await cli(['suppression', 'remove', undo, '--reason', 'imported as DND by mistake', '--json']);
    expect({ code: r.code, out: JSON.parse(r.stdout) }).toEqual({
      code: 0,
      out: { removed: 2, rows: 3, rejected: 1, rejects: [{ line: 3, reason: 'not a phone number' }] },
    });
    const left = await env.container().pg.query(`SELECT phone FROM suppressions WHERE phone LIKE '+9198765000%' ORDER BY phone`);
    expect(left.rows).toEqual([{ phone: '+919876500003' }]);
    const entry = await env.container().prisma.auditLog.findFirstOrThrow({ where: { action: 'suppression.remove', target: undo } });
    expect(entry.details).toMatchObject({ via: 'cli', reason: 'imported as DND by mistake', removed: 2, rows: 3, rejected: 1 });

    for (const args of [['suppression', 'remove', '--reason', 'x', '--json'], ['suppression', 'remove', undo, '--phone', '9876500003', '--reason', 'x', '--json']]) {
      const bad = await cli(args);
      expect({ args, code: bad.code, field: JSON.parse(bad.stdout).error.field }).toEqual({ args, code: 2, field: 'phone' });
    }
    const invalid = await cli(['suppression', 'check', '--phone', '12345', '--json']);
    expect({ code: invalid.code, message: JSON.parse(invalid.stdout).error.message }).toEqual({ code: 2, message: expect.stringMatching(/^invalid phone number: "12345"/) });
  }, 120_000);
});
