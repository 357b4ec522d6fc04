import { CsvParser, type CsvRecord } from '../../../src/import/csv-parser';

/** Parses `text` fed in pieces of `step` characters (1 = worst case for chunk boundaries). */
function parse(text: string, step = text.length || 1, delimiter = ',', max = 1000): CsvRecord[] {
  const p = new CsvParser(delimiter, max);
  const out: CsvRecord[] = [];
  for (let i = 0; i < text.length; i += step) out.push(...p.push(text.slice(i, i + step)));
  out.push(...p.push('', true));
  return out;
}

const simple = (recs: CsvRecord[]): [number, string[]][] => recs.map((r) => [r.line, r.fields]);

describe('CsvParser', () => {
  const cases: [string, string, [number, string[]][]][] = [
    ['LF', 'a,b\n1,2\n', [[1, ['a', 'b']], [2, ['1', '2']]]],
    ['CRLF', 'a,b\r\n1,2\r\n', [[1, ['a', 'b']], [2, ['1', '2']]]],
    ['lone CR', 'a,b\r1,2\r3,4', [[1, ['a', 'b']], [2, ['1', '2']], [3, ['3', '4']]]],
    ['no final newline', 'a,b\n1,2', [[1, ['a', 'b']], [2, ['1', '2']]]],
    ['blank lines kept as empty records', 'a\n\n\nb\n', [[1, ['a']], [2, ['']], [3, ['']], [4, ['b']]]],
    ['quoted delimiter', '"a,b",c\n', [[1, ['a,b', 'c']]]],
    ['escaped quotes', '"say ""hi""",x\n', [[1, ['say "hi"', 'x']]]],
    ['quoted LF newline', '"l1\nl2",x\nnext,y\n', [[1, ['l1\nl2', 'x']], [3, ['next', 'y']]]],
    ['quoted CRLF newline', '"l1\r\nl2",x\r\nnext,y\r\n', [[1, ['l1\r\nl2', 'x']], [3, ['next', 'y']]]],
    ['quoted lone CR newline', '"l1\rl2",x\rnext,y\r', [[1, ['l1\rl2', 'x']], [3, ['next', 'y']]]],
    ['empty quoted field', '"",x,""\n', [[1, ['', 'x', '']]]],
    ['quote inside unquoted field is literal', 'a 5"10,x\n', [[1, ['a 5"10', 'x']]]],
    ['text after closing quote is kept', '"ab"c,d\n', [[1, ['abc', 'd']]]],
    ['trailing delimiter', 'a,b,\n', [[1, ['a', 'b', '']]]],
    ['unicode', 'नाम,फ़ोन\nJosé,1\n', [[1, ['नाम', 'फ़ोन']], [2, ['José', '1']]]],
    // DOS's end-of-file mark right after the last value (no line break before it) is not part of the value.
    ['Ctrl-Z after the last value', 'a,b\r\n1,2\x1a', [[1, ['a', 'b']], [2, ['1', '2']]]],
    ['Ctrl-Z inside a value is kept', 'a\x1ab,c\n', [[1, ['a\x1ab', 'c']]]],
  ];

  it.each(cases)('%s', (_name, text, expected) => {
    for (const step of [1, 2, 3, 7, 1000]) expect(simple(parse(text, step))).toEqual(expected);
  });

  it('keeps the raw text of each record without its terminator', () => {
    const recs = parse('a,"x\r\ny"\r\nb,c\r\n', 2);
    expect(recs.map((r) => r.raw)).toEqual(['a,"x\r\ny"', 'b,c']);
  });

  it('splits on other delimiters', () => {
    expect(simple(parse('a;b;"c;d"\n', 1, ';'))).toEqual([[1, ['a', 'b', 'c;d']]]);
    expect(simple(parse('a\tb\n', 1, '\t'))).toEqual([[1, ['a', 'b']]]);
    expect(simple(parse('a|b\n', 1, '|'))).toEqual([[1, ['a', 'b']]]);
  });

  it('fails on a quote that is never closed, naming the line where it opens and its field', () => {
    expect(() => parse('a\nb\n"c,d\ne\n', 3)).toThrow('line 3, field 1: a quoted field is never closed');
    expect(() => parse('a,b,c\nd,e,"f\ng\n', 3)).toThrow('line 2, field 3: a quoted field is never closed');
  });

  it('refuses a stray quote that would swallow the next row, naming the line where it opens and its field', () => {
    const text = 'phone,name\n9876500001,"Asha"\n9876500002,"Ravi\n9876500003,"Meena"\n';
    for (const step of [1, 5, 1000]) expect(() => parse(text, step)).toThrow(/^line 3, field 2: a quoted field runs over a line break and text follows/);
  });

  it('does not buffer more than the record limit for an unclosed quote', () => {
    const p = new CsvParser(',', 100);
    p.push('ok,1\n"open');
    const big = 'x'.repeat(60);
    expect(() => {
      for (let i = 0; i < 10; i++) p.push(big);
    }).toThrow('line 2: record longer than the limit of 100 characters');
  });

  it('accepts a record of exactly the limit whichever chunk its CR LF is split across', () => {
    const text = 'abcd,efgh\r\nij\r\n'; // the first record is 9 characters
    for (const step of [1, 2, 5, 10, 11, 12]) expect(simple(parse(text, step, ',', 9))).toEqual([[1, ['abcd', 'efgh']], [2, ['ij']]]);
    const quoted = '"ab,c",defg\r\nij\r\n'; // 11 characters with its quotes
    for (const step of [1, 11, 12, 13]) expect(simple(parse(quoted, step, ',', 11))).toEqual([[1, ['ab,c', 'defg']], [2, ['ij']]]);
  });

  it('rejects an overlong unquoted line too', () => {
    expect(() => parse(`a\n${'x'.repeat(200)}\n`, 50, ',', 100)).toThrow('line 2: record longer than the limit');
  });
});
