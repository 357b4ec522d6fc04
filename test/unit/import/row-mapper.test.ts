import { mapColumns } from '../../../src/import/detect';
import { RowMapper } from '../../../src/import/row-mapper';

function variablesOf(header: string[], fields: string[]): Record<string, string> {
  const mapped = mapColumns(header);
  if (!mapped.ok) throw new Error(mapped.reason);
  const r = new RowMapper(mapped.mapping, 'IN', 100, header.length).map({ fields, line: 2, raw: fields.join(',') });
  if (!r.ok) throw new Error(r.entry.reason);
  return JSON.parse(r.row.variablesCopy) as Record<string, string>;
}

describe('RowMapper: ragged rows', () => {
  it('keeps an extra field as column_<n>', () => {
    expect(variablesOf(['phone', 'name'], ['9876500001', 'Asha', 'EXTRA'])).toEqual({ name: 'Asha', column_3: 'EXTRA' });
  });

  it('never lets an extra field overwrite a header column of the same name', () => {
    expect(variablesOf(['phone', 'column_4'], ['9876500001', 'real', 'b', 'EXTRA'])).toEqual({ column_4: 'real', column_3: 'b', column_4_extra: 'EXTRA' });
  });
});
