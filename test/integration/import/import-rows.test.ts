/** What happens to rows: normalisation, rejection reasons, duplicates, suppression, the report, the list lifecycle. */
import { Readable } from 'node:stream';
import { useTestEnv } from '../../helpers/env';
import { ConflictError } from '../../../src/errors';
import { addSuppressions } from '../../../src/suppression/suppression';
import { createReadStream, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createContainer } from '../../../src/container';
import { createLogger } from '../../../src/logger';
import { importContacts } from '../../../src/import/import-contacts';
import { FIXTURES, importer, reportLines } from './helpers';

const env = useTestEnv();
const imp = importer(env);

describe('import: rows', () => {
  it('normalises every spelling, rejects with reasons, reports duplicates and suppressed numbers by line', async () => {
    await addSuppressions(env.container(), [{ phone: '98123 45678', reason: 'replied STOP' }]);
    const r = await imp.file('numbers.csv');
    expect(r).toMatchObject({ rows: 16, accepted: 8, rejected: 5, duplicates: 2, suppressed: 1 });
    expect(r.rows).toBe(r.accepted + r.rejected + r.duplicates + r.suppressed);
    expect((await imp.contacts(r.listId)).map((c) => [c.line, c.phone, c.raw])).toEqual([
      [2, '+919876543210', '9876543210'],
      [3, '+919876543211', '+919876543211'],
      [4, '+919876543212', '919876543212'],
      [5, '+919876543213', '09876543213'],
      [6, '+919876543214', '+91 (987) 654-3214'],
      [7, '+919876543215', '98765.43215'],
      [8, '+919876543216', '0091 98765 43216'],
      [17, '+14155552671', '+1 415 555 2671'],
    ]);
    expect(reportLines(r.rejectReport)).toEqual([
      'source_line,raw_row,column,reason',
      '9,"h,",mobile,phone number is empty',
      '10,"i,12345",mobile,invalid number (too short): 12345',
      '11,"j,022 2345 6789",mobile,not a mobile number (a fixed line): 022 2345 6789',
      '12,"k,not a number",mobile,not a phone number: not a number',
      '13,"l,98765 432109876",mobile,invalid number (too long): 98765 432109876',
      '14,"m,9876543210",mobile,duplicate of line 2: +919876543210',
      '15,"n,+91 98765 43211",mobile,duplicate of line 3: +919876543211',
      '16,"o,9812345678",mobile,suppressed (replied STOP): +919812345678',
    ]);
    expect(r.rejectReport).toContain(env.config.REPORTS_DIR);
  });

  it('neutralises spreadsheet formulas in the reject report', async () => {
    const r = await imp.file('formula.csv');
    expect(r).toMatchObject({ rows: 4, accepted: 1, rejected: 3 });
    expect(reportLines(r.rejectReport)).toEqual([
      'source_line,raw_row,column,reason',
      `2,"'=HYPERLINK(""http://x""),=1+2",phone,not a phone number: =1+2`,
      `3,"'@SUM(A1),+91123",phone,invalid number (too short): +91123`,
      `4,"'-10,-5",phone,invalid number (too short): -5`,
    ]);
  });

  it('keeps the first occurrence across batch boundaries', async () => {
    // 12,000 rows = three insert batches; row k repeats row k-6000 for every 1000th row past 6000.
    const lines = ['name,phone'];
    for (let i = 0; i < 12000; i++) {
      const n = i >= 6000 && i % 1000 === 0 ? i - 6000 : i;
      lines.push(`P${i},${i % 2 ? '+91 ' : ''}${9876000000 + n}`);
    }
    const r = await imp.stream(Readable.from([lines.join('\n')]));
    expect(r).toMatchObject({ rows: 12000, accepted: 11994, rejected: 0, duplicates: 6, suppressed: 0 });
    expect(reportLines(r.rejectReport).slice(1)).toEqual(
      [6000, 7000, 8000, 9000, 10000, 11000].map((i) => `${i + 2},"P${i},${9876000000 + i - 6000}",phone,duplicate of line ${i - 6000 + 2}: +91${9876000000 + i - 6000}`),
    );
    const kept = await env.container().pg.query('SELECT source_line FROM contacts WHERE list_id = $1 AND phone = $2', [r.listId, '+919876000000']);
    expect(kept.rows).toEqual([{ source_line: 2 }]);
  });

  it('a list is importing (and its contacts invisible) until the whole file is in, then ready', async () => {
    const listName = imp.nextName();
    const source = new Readable({ read() {} });
    const done = imp.stream(source);
    source.push(`name,phone\n${Array.from({ length: 11000 }, (_, i) => `P${i},${9876000000 + i}`).join('\n')}\n`);
    let seen: Awaited<ReturnType<typeof imp.list>>;
    for (let i = 0; i < 100; i++) {
      seen = await imp.list(listName);
      if (seen) break;
      await new Promise((res) => setTimeout(res, 20));
    }
    await new Promise((res) => setTimeout(res, 300)); // batches of the first push are being written
    expect(await imp.list(listName)).toMatchObject({ status: 'importing', contacts: 0 });
    // A second import under the same name meanwhile is refused, not interleaved.
    await expect(imp.stream(Readable.from(['phone\n9876543210\n']), { listName })).rejects.toThrow(`list "${listName}" is being imported right now`);
    source.push(null);
    const r = await done;
    expect(await imp.list(listName)).toMatchObject({ id: r.listId, status: 'ready', contacts: 11000 });
  });

  it('a failed list can be imported again under its name; a ready one cannot be overwritten', async () => {
    const listName = 'again';
    await expect(imp.file('header-only.csv', { listName })).rejects.toThrow('no data rows');
    const r = await imp.file('crlf.csv', { listName });
    expect(await imp.list(listName)).toMatchObject({ id: r.listId, status: 'ready', contacts: 3 });
    await expect(imp.file('crlf.csv', { listName })).rejects.toBeInstanceOf(ConflictError);
    expect(await imp.list(listName)).toMatchObject({ id: r.listId, status: 'ready', contacts: 3 });
  });

  it('an importer killed while writing its reject report leaves no report behind once the name is imported again', async () => {
    const listName = 'killed-at-report';
    const { rows } = await env.container().pg.query<{ id: string }>(
      `INSERT INTO contact_lists (name, status) VALUES ($1, 'importing') RETURNING id`,
      [listName],
    );
    // What the killed importer left: the start of its report (raw rows, names and numbers), no list pointing at it.
    const left = path.resolve(env.config.REPORTS_DIR, `import-${rows[0]!.id}-rejects.csv`);
    mkdirSync(path.dirname(left), { recursive: true });
    writeFileSync(left, 'source_line,raw_row,column,reason\n3,"Asha,98765",phone,invalid number (too short): 98765\n');
    const r = await imp.file('crlf.csv', { listName });
    expect(await imp.list(listName)).toMatchObject({ id: r.listId, status: 'ready', contacts: 3 });
    expect(existsSync(left)).toBe(false);
  });

  it('works, and fails cleanly, with a pool of only two connections', async () => {
    const small = createContainer({ config: env.config, logger: createLogger({ level: 'silent' }), pgPoolSize: 2 });
    try {
      const ok = await importContacts(small, createReadStream(path.join(FIXTURES, 'crlf.csv')), { listName: 'small-pool', fileName: 'crlf.csv' });
      expect(ok).toMatchObject({ rows: 3, accepted: 3 });
      const failed = importContacts(small, createReadStream(path.join(FIXTURES, 'header-only.csv')), { listName: 'small-pool-2', fileName: 'h.csv' });
      await expect(failed).rejects.toThrow('no data rows');
      expect(await imp.list('small-pool-2')).toMatchObject({ status: 'failed', contacts: 0 });
    } finally {
      await small.close();
    }
  });

  it('stores the list summary', async () => {
    const r = await imp.file('numbers.csv', { listName: 'summary' });
    const { rows } = await env.container().pg.query(
      'SELECT status, rows, accepted, rejected, duplicates, suppressed, reject_report_path, source_file, country, phone_column FROM contact_lists WHERE id = $1',
      [r.listId],
    );
    expect(rows[0]).toEqual({
      status: 'ready',
      rows: 16,
      accepted: r.accepted,
      rejected: 5,
      duplicates: 2,
      suppressed: r.suppressed,
      reject_report_path: r.rejectReport,
      source_file: 'numbers.csv',
      country: 'IN',
      phone_column: 'mobile',
    });
  });
});
