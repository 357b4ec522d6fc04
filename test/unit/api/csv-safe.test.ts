import { csvCell, csvLine, neutraliseFormula } from '../../../src/api/csv-safe';

describe('formula-safe CSV', () => {
  it.each(['=1+1', '+91987', '-5', '@SUM(A1)', '\tx', '\rx'])('neutralises %j', (value) => {
    expect(neutraliseFormula(value)).toBe(`'${value}`);
  });

  it.each(['hello', '91987', "'already", ' =x', ''])('leaves %j alone', (value) => {
    expect(neutraliseFormula(value)).toBe(value);
  });

  it('quotes cells with separators, quotes or line breaks, after neutralising', () => {
    expect(csvCell('a,b')).toBe('"a,b"');
    expect(csvCell('say "hi"')).toBe('"say ""hi"""');
    expect(csvCell('=a\nb')).toBe(`"'=a\nb"`);
    expect(csvCell('\rcmd')).toBe(`"'\rcmd"`);
  });

  it('writes nulls as empty cells, dates as ISO and ends lines with CRLF', () => {
    expect(csvLine([null, undefined, 3, new Date('2026-01-02T03:04:05Z'), true])).toBe(',,3,2026-01-02T03:04:05.000Z,true\r\n');
  });
});
