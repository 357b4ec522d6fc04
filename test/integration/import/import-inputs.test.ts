/** Every kind of input the importer must take, from real files under test/fixtures/import. */
import { useTestEnv } from '../../helpers/env';
import { importer, reportLines } from './helpers';

const env = useTestEnv();
const imp = importer(env);

const ASHA_RAVI_MEERA = [
  { line: 2, phone: '+919876543210', raw: '9876543210', vars: { name: 'Asha', city: 'Pune' } },
  { line: 3, phone: '+919876543211', raw: '+91 98765 43211', vars: { name: 'Ravi', city: 'Delhi' } },
  { line: 4, phone: '+919876543212', raw: '09876543212', vars: { name: 'Meera', city: 'Chennai' } },
];

describe('import: encodings', () => {
  it('UTF-8 without BOM, with non-Latin text', async () => {
    const r = await imp.file('utf8-lf.csv');
    expect(r).toMatchObject({ rows: 3, accepted: 3, rejected: 0, duplicates: 0, suppressed: 0, rejectReport: null });
    expect((await imp.contacts(r.listId)).map((c) => c.vars)).toEqual([
      { name: 'José', city: 'Pune' },
      { name: 'अनुराधा', city: 'दिल्ली' },
      { name: 'Zoë', city: 'Chennai' },
    ]);
  });

  it('UTF-8 with BOM (the BOM does not end up in the first header)', async () => {
    const r = await imp.file('utf8-bom.csv');
    expect(r).toMatchObject({ rows: 3, accepted: 3, rejected: 0 });
    expect(await imp.contacts(r.listId)).toEqual(ASHA_RAVI_MEERA);
  });

  it.each(['utf16le-bom.csv', 'utf16be-bom.csv'])('%s', async (file) => {
    const r = await imp.file(file);
    expect(r).toMatchObject({ rows: 2, accepted: 2, rejected: 0 });
    expect(await imp.contacts(r.listId)).toEqual([
      { line: 2, phone: '+919876543210', raw: '9876543210', vars: { name: 'José', city: 'Pune' } },
      { line: 3, phone: '+919876543211', raw: '9876543211', vars: { name: 'अनुराधा', city: 'Delhi' } },
    ]);
  });

  it('Windows-1252 is detected and decoded, never stored as mojibake', async () => {
    const r = await imp.file('windows-1252.csv');
    expect(r).toMatchObject({ rows: 2, accepted: 2, rejected: 0 });
    expect((await imp.contacts(r.listId)).map((c) => c.vars)).toEqual([
      { name: 'José Müller', note: 'price €5' },
      { name: 'Françoise', note: '“quoted” – dash' },
    ]);
  });

  it('Windows-1252 whose first accented byte comes after the detection sample', async () => {
    const r = await imp.file('late-1252.csv');
    expect(r).toMatchObject({ rows: 3001, accepted: 3001, rejected: 0 });
    const last = (await imp.contacts(r.listId)).pop();
    expect(last).toEqual({ line: 3002, phone: '+919123456789', raw: '9123456789', vars: { name: 'Renée', note: 'café' } });
  });
});

describe('import: line ends, delimiters, quoting, shapes', () => {
  it.each(['crlf.csv', 'cr-only.csv', 'no-final-newline.csv'])('%s', async (file) => {
    const r = await imp.file(file);
    expect(r).toMatchObject({ rows: 3, accepted: 3, rejected: 0, duplicates: 0 });
    expect(await imp.contacts(r.listId)).toEqual(ASHA_RAVI_MEERA);
  });

  it('semicolon-delimited with decimal commas', async () => {
    const r = await imp.file('semicolon.csv');
    expect(r).toMatchObject({ rows: 2, accepted: 2 });
    expect((await imp.contacts(r.listId)).map((c) => c.vars)).toEqual([
      { name: 'Asha', amount: '1,50' },
      { name: 'Ravi', amount: '2,75' },
    ]);
  });

  it('tab-delimited', async () => {
    const r = await imp.file('tab.tsv');
    expect(r).toMatchObject({ rows: 2, accepted: 2 });
    expect((await imp.contacts(r.listId)).map((c) => c.vars)).toEqual([
      { name: 'Asha, R', city: 'Pune' },
      { name: 'Ravi', city: 'New Delhi' },
    ]);
  });

  it('pipe-delimited', async () => {
    const r = await imp.file('pipe.csv');
    expect(r).toMatchObject({ rows: 2, accepted: 2 });
    expect((await imp.contacts(r.listId))[0]!.vars).toEqual({ name: 'Asha', city: 'Pune, MH' });
  });

  it('quoted fields with delimiters, quotes and newlines; source lines count physical lines', async () => {
    const r = await imp.file('quoted.csv');
    expect(r).toMatchObject({ rows: 3, accepted: 3, rejected: 0 });
    expect(await imp.contacts(r.listId)).toEqual([
      { line: 2, phone: '+919876543210', raw: '9876543210', vars: { name: 'Sharma, Asha', address: '12, MG Road' } },
      { line: 3, phone: '+919876543211', raw: '98765 43211', vars: { name: 'Ravi "the boss" K', address: 'line one\r\nline two' } },
      { line: 5, phone: '+919876543212', raw: '+91-98765-43212', vars: { name: 'Meera', address: 'said "hi", left' } },
    ]);
  });

  it('ragged rows: short rows padded, trailing empty fields ignored, a value past the header or a row without phone rejected', async () => {
    const r = await imp.file('ragged.csv');
    expect(r).toMatchObject({ rows: 4, accepted: 2, rejected: 2, duplicates: 0, suppressed: 0 });
    expect((await imp.contacts(r.listId)).map((c) => [c.line, c.vars])).toEqual([
      [2, { name: 'Asha', city: '' }],
      [4, { name: 'Meera', city: 'Chennai' }],
    ]);
    expect(reportLines(r.rejectReport)).toEqual([
      'source_line,raw_row,column,reason',
      '3,"Ravi,9876543211,Delhi,extra,",,"field 4 of line 3 holds ""extra"" but the header has only 3 columns (an unquoted delimiter in a value?)"',
      '5,Kiran,phone,line 5 has 1 field and ends before the phone column (field 2 of 3)',
    ]);
  });

  it('blank lines (also before the header and delimiter-only lines) are skipped, not counted', async () => {
    const r = await imp.file('blank-lines.csv');
    expect(r).toMatchObject({ rows: 2, accepted: 2, rejected: 0, rejectReport: null });
    expect((await imp.contacts(r.listId)).map((c) => [c.line, c.phone])).toEqual([
      [4, '+919876543210'],
      [7, '+919876543211'],
    ]);
  });

  it('headers with odd case, spaces and a BOM inside', async () => {
    const r = await imp.file('odd-headers.csv');
    expect(r).toMatchObject({ rows: 2, accepted: 2 });
    expect((await imp.contacts(r.listId)).map((c) => c.vars)).toEqual([
      { first_name: 'Asha', city: 'Pune' },
      { first_name: 'Ravi', city: 'Delhi' },
    ]);
    const { rows } = await env.container().pg.query('SELECT phone_column, columns, status FROM contact_lists WHERE id = $1', [r.listId]);
    expect(rows[0]).toEqual({ phone_column: 'MOBILE No.', columns: ['first_name', 'city', 'column_4'], status: 'ready' });
  });

  it('--phone-column picks the column when the header is not recognisable', async () => {
    const r = await imp.file('no-phone-column.csv', { phoneColumn: 'EMAIL' });
    expect(r).toMatchObject({ rows: 1, accepted: 0, rejected: 1 });
    expect(reportLines(r.rejectReport)[1]).toBe('2,"Asha,asha@example.com,Pune",email,not a phone number: asha@example.com');
  });
});
