import { Readable } from 'node:stream';
import { useTestEnv } from '../../helpers/env';
import { ValidationError } from '../../../src/errors';
import { addSuppressions, importSuppressions } from '../../../src/suppression/suppression';
import { findSuppression, removeSuppression, removeSuppressionFile } from '../../../src/suppression/lookup-remove';

const env = useTestEnv();

async function stored(): Promise<{ phone: string; reason: string | null; source: string }[]> {
  const { rows } = await env.container().pg.query('SELECT phone, reason, source FROM suppressions ORDER BY phone');
  return rows;
}

describe('suppression list', () => {
  it('normalises like the importer and is idempotent', async () => {
    const c = env.container();
    expect(await addSuppressions(c, [{ phone: '+91 98765 43210', reason: 'STOP' }, { phone: '09876543210' }])).toEqual({ added: 1 });
    expect(await addSuppressions(c, [{ phone: '919876543210', source: 'dnd' }])).toEqual({ added: 0 });
    expect(await stored()).toEqual([{ phone: '+919876543210', reason: 'STOP', source: 'manual' }]);
  });

  it('adds nothing when one number is invalid', async () => {
    const err = await addSuppressions(env.container(), [{ phone: '9876543299' }, { phone: 'abc' }]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as Error).message).toBe('invalid phone number: #2 "abc" (not a phone number)');
    expect((await stored()).map((s) => s.phone)).toEqual(['+919876543210']);
  });

  it('imports a file with a reason column, skipping invalid rows', async () => {
    const csv = 'Mobile,Reason\n9876543211,opted out\nbad,x\n9876543212,\n';
    const r = await importSuppressions(env.container(), Readable.from([csv]), { fileName: 'dnd.csv', reason: 'DND' });
    expect(r).toEqual({ added: 2, rows: 3, rejected: 1, rejects: [{ line: 3, reason: 'not a phone number' }] });
    expect((await stored()).slice(1)).toEqual([
      { phone: '+919876543211', reason: 'opted out', source: 'file:dnd.csv' },
      { phone: '+919876543212', reason: 'DND', source: 'file:dnd.csv' },
    ]);
  });

  it('adds nothing from a file that turns out broken after thousands of good rows', async () => {
    const before = await stored();
    const good = Array.from({ length: 12_000 }, (_v, i) => `98${String(10_000_000 + i)}`).join('\n');
    const csv = `phone\n${good}\n"9876500000,unclosed\n`;
    await expect(importSuppressions(env.container(), Readable.from([csv]), { fileName: 'broken.csv' })).rejects.toThrow(/broken\.csv/);
    expect(await stored()).toEqual(before);
  });
});

describe('looking up and removing suppressions', () => {
  it('says whether a number is suppressed, read as imports read it, with its reason, source and since', async () => {
    const c = env.container();
    await addSuppressions(c, [{ phone: '9876543220', reason: 'replied STOP', source: 'cli' }]);
    for (const typed of ['+91 98765 43220', '098765-43220', '919876543220']) {
      expect(await findSuppression(c, typed)).toEqual({
        phone: '+919876543220',
        suppressed: true,
        entry: { reason: 'replied STOP', source: 'cli', since: expect.any(Date) },
      });
    }
    expect(await findSuppression(c, '9876543229')).toEqual({ phone: '+919876543229', suppressed: false, entry: null });
    await expect(findSuppression(c, '12345')).rejects.toMatchObject({ field: 'phone', message: expect.stringMatching(/^invalid phone number: "12345"/) });
  });

  it('removes one number once, and only with a reason', async () => {
    const c = env.container();
    await addSuppressions(c, [{ phone: '9876543221', reason: 'DND' }]);
    await expect(removeSuppression(c, '98765 43221', { reason: '  ' })).rejects.toMatchObject({ field: 'reason' });
    expect((await findSuppression(c, '9876543221')).suppressed).toBe(true);
    const removed = await removeSuppression(c, '098765 43221', { reason: 're-subscribed' });
    expect(removed).toEqual({ phone: '+919876543221', removed: 1, was: { reason: 'DND', source: 'manual', since: expect.any(Date) } });
    expect(await removeSuppression(c, '+919876543221', { reason: 're-subscribed' })).toEqual({ phone: '+919876543221', removed: 0, was: null });
    expect((await findSuppression(c, '9876543221')).suppressed).toBe(false);
  });

  it('removes the numbers of a file, all or nothing', async () => {
    const c = env.container();
    await addSuppressions(c, [{ phone: '9876543231' }, { phone: '9876543232' }, { phone: '9876543233' }]);
    const broken = 'phone\n9876543231\n"9876543232,unclosed\n';
    await expect(removeSuppressionFile(c, Readable.from([broken]), { fileName: 'broken.csv', reason: 'mistake' })).rejects.toThrow(/broken\.csv/);
    expect((await findSuppression(c, '9876543231')).suppressed).toBe(true);
    const csv = 'Mobile,Reason\n9876543231,kept column ignored\nbad,x\n9876543232\n9876543239\n';
    const r = await removeSuppressionFile(c, Readable.from([csv]), { fileName: 'undo.csv', reason: 'imported as DND by mistake' });
    expect(r).toEqual({ removed: 2, rows: 4, rejected: 1, rejects: [{ line: 3, reason: 'not a phone number' }] });
    expect([(await findSuppression(c, '9876543231')).suppressed, (await findSuppression(c, '9876543233')).suppressed]).toEqual([false, true]);
    await expect(removeSuppressionFile(c, Readable.from([csv]), { fileName: 'undo.csv', reason: undefined })).rejects.toMatchObject({ field: 'reason' });
  });
});
