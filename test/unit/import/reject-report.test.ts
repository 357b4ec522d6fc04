import { csvCell, formatRejectLine, neutraliseCell } from '../../../src/import/reject-report';
import { plainArray, textArray } from '../../../src/import/contact-writer';
import { literalJson } from '../../../src/import/row-mapper';

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

describe('array literals for unnest', () => {
  it('quotes text and escapes backslashes and quotes; leaves numbers and E.164 bare', () => {
    expect(textArray(['a"b', 'c\\d', '{x,y}', '', 'NULL'])).toBe('{"a\\"b","c\\\\d","{x,y}","","NULL"}');
    expect(plainArray(['+919876543210', '+14155552671'])).toBe('{+919876543210,+14155552671}');
    expect(plainArray([2, 3])).toBe('{2,3}');
  });
});

describe('variables as text[] literal elements', () => {
  const unliteral = (s: string): unknown => JSON.parse(s.replace(/\\(.)/g, '$1'));
  it.each(['plain', 'say "hi"', 'back\\slash', 'tab\there', 'line\nbreak', 'नमस्ते 🙏', '{"a":1}', ''])('%j round-trips', (value) => {
    expect(unliteral(literalJson(value))).toBe(value);
  });
});
