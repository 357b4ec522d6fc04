import { decodeField } from '../../../src/db/copy-text';
import { mapColumns } from '../../../src/import/detect';
import { RowMapper, type MappedRow } from '../../../src/import/row-mapper';

function mapRow(header: string[], fields: string[], mapper?: RowMapper): MappedRow {
  const mapped = mapColumns(header);
  if (!mapped.ok) throw new Error(mapped.reason((id) => id));
  return (mapper ?? new RowMapper(mapped.mapping, 'IN', 100, header.length)).map({ fields, line: 7, raw: fields.join(',') });
}

function variablesOf(header: string[], fields: string[]): Record<string, string> {
  const r = mapRow(header, fields);
  if (!r.ok) throw new Error(r.entry.reason);
  // A COPY text field: the JSON's backslashes are doubled.
  return JSON.parse(decodeField(r.row.variablesCopy)!) as Record<string, string>;
}

describe('RowMapper: rows wider than the header', () => {
  it('ignores extra fields that are empty (trailing delimiters of spreadsheet exports)', () => {
    expect(variablesOf(['phone', 'name'], ['9876500001', 'Asha', '', ' ', '\t'])).toEqual({ name: 'Asha' });
  });

  it('rejects a row with a value past the header, naming the line, the field and the header width', () => {
    const r = mapRow(['phone', 'name'], ['9876500001', 'Asha', '', 'EXTRA', 'more']);
    expect(r).toEqual({
      ok: false,
      entry: {
        line: 7,
        raw: '9876500001,Asha,,EXTRA,more',
        column: '',
        reason: 'field 4 of line 7 holds "EXTRA" but the header has only 2 columns (an unquoted delimiter in a value?)',
      },
    });
  });

  it('never stores an extra field as a variable, even one named like a header column', () => {
    const r = mapRow(['phone', 'column_3'], ['9876500001', 'real', 'b']);
    expect(r.ok).toBe(false);
  });
});

describe('RowMapper: rows narrower than the header', () => {
  it('reads missing trailing fields as empty and counts the row as short', () => {
    const mapped = mapColumns(['phone', 'name', 'city']);
    if (!mapped.ok) throw new Error(mapped.reason((id) => id));
    const mapper = new RowMapper(mapped.mapping, 'IN', 100, 3);
    const r = mapRow(['phone', 'name', 'city'], ['9876500001', 'Asha'], mapper);
    expect(r.ok && JSON.parse(r.row.variablesCopy)).toEqual({ name: 'Asha', city: '' });
    expect(mapper.shortRows).toBe(1);
    mapRow(['phone', 'name', 'city'], ['9876500002', 'Ravi', 'Pune'], mapper);
    expect(mapper.shortRows).toBe(1);
  });

  it('rejects a row that ends before the phone column, saying so rather than "empty number"', () => {
    const r = mapRow(['name', 'city', 'phone'], ['Asha', 'Pune']);
    expect(r.ok ? null : r.entry).toMatchObject({
      column: 'phone',
      reason: 'line 7 has 2 fields and ends before the phone column (field 3 of 3)',
    });
  });
});

describe('RowMapper: Excel text-forcing formulas', () => {
  it('reads ="…" as the text Excel shows, in variables and in the phone, "" inside as one quote', () => {
    const r = mapRow(['phone', 'customer_id', 'note', 'empty'], ['="09876500001"', '="00123"', '="say ""hi"""', '=""']);
    expect(r).toMatchObject({ ok: true, row: { phone: '+919876500001', raw: '="09876500001"' } });
    expect(variablesOf(['phone', 'customer_id', 'note', 'empty'], ['9876500001', '="00123"', '="say ""hi"""', '=""'])).toEqual({
      customer_id: '00123',
      note: 'say "hi"',
      empty: '',
    });
  });

  it('keeps any other formula as it is (not a plain text literal)', () => {
    expect(variablesOf(['phone', 'a', 'b', 'c'], ['9876500001', '="a"&"b"', '=SUM(1,2)', '= "x"'])).toEqual({ a: '="a"&"b"', b: '=SUM(1,2)', c: '= "x"' });
  });
});

describe('RowMapper: control characters', () => {
  it('rejects a row whose variable holds one, naming the column as the file names it and the character', () => {
    const r = mapRow(['phone', 'First Name'], ['9876500001', 'Asha\x07Bell']);
    expect(r).toEqual({
      ok: false,
      entry: {
        line: 7,
        raw: '9876500001,Asha\x07Bell',
        column: 'First Name',
        reason: 'U+0007 (bell) at character 5: an invisible control character no SMS should carry; remove it from the cell',
      },
    });
  });

  it('rejects a phone holding one, as any other column (libphonenumber read "9876543210<ESC>" as a number)', () => {
    const r = mapRow(['phone', 'name'], ['9876543210\x1b', 'Asha']);
    expect(r.ok === false && r.entry).toMatchObject({ column: 'phone', reason: expect.stringMatching(/^U\+001B \(escape/) });
  });

  it('names a column without a header by its number', () => {
    const r = mapRow(['phone', ''], ['9876500001', 'x\x7f']);
    expect(r.ok === false && r.entry.column).toBe('column 2');
  });

  it('keeps tabs and line breaks inside values, and a control character only at the edges is trimmed like spaces', () => {
    expect(variablesOf(['phone', 'address'], ['9876500001', '\x0bFlat 4\r\nMG\tRoad\x0c'])).toEqual({ address: 'Flat 4\r\nMG\tRoad' });
  });

  it('ignores a field past the header that holds only control characters', () => {
    expect(variablesOf(['phone', 'name'], ['9876500001', 'Asha', '\x1a'])).toEqual({ name: 'Asha' });
  });
});
