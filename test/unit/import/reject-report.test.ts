import { csvCell, formatRejectLine, neutraliseCell } from '../../../src/import/reject-report';
import { decodeField } from '../../../src/db/copy-text';
import { copyJson } from '../../../src/import/row-mapper';

describe('reject report cells', () => {
  it.each([
    ['=1+2', "'=1+2"],
    ['+919876543210', "'+919876543210"],
    ['-5', "'-5"],
    ['@SUM(A1)', "'@SUM(A1)"],
    ['\tx', "'\tx"],
    ['\rx', "'\rx"],
    ['plain', 'plain'],
    ['9876543210', '9876543210'],
  ])('neutralises %j', (value, expected) => {
    expect(neutraliseCell(value)).toBe(expected);
  });

  it('quotes cells with commas, quotes or newlines after neutralising', () => {
    expect(csvCell('=HYPERLINK("x"),1')).toBe(`"'=HYPERLINK(""x""),1"`);
    expect(csvCell('a\nb')).toBe('"a\nb"');
  });

  it('formats one line per entry', () => {
    expect(formatRejectLine({ line: 7, raw: '-1,+91', column: 'phone', reason: 'too short' })).toBe(`7,"'-1,+91",phone,too short\n`);
  });
});

describe('variables as COPY text fields', () => {
  it.each(['plain', 'say "hi"', 'back\\slash', 'tab\there', 'line\nbreak', 'नमस्ते 🙏', '{"a":1}', '\\N', ''])('%j round-trips', (value) => {
    const field = copyJson(value);
    // A COPY field never holds a raw tab or line break: they would split the field or the row.
    expect(field).not.toMatch(/[\t\n\r]/);
    expect(JSON.parse(decodeField(field)!)).toBe(value);
  });
});
