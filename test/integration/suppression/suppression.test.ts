import { Readable } from 'node:stream';
import { useTestEnv } from '../../helpers/env';
import { ValidationError } from '../../../src/errors';
import { addSuppressions, importSuppressions } from '../../../src/suppression/suppression';

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
    expect((err as Error).message).toBe('invalid phone number: "abc" (not a phone number)');
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
