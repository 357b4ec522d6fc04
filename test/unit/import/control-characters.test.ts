import { c0ControlReason, c1ControlReason } from '../../../src/import/control-characters';

describe('c1ControlReason: a C1 control in a value', () => {
  it('names the code point, its place and the Windows-1252 character it probably was', () => {
    expect(c1ControlReason('Ravi\u0092s')).toBe(
      'U+0092 at character 5, an invisible control character no SMS should carry: the file looks like Windows-1252 text ' +
        'converted to UTF-8 as if it were Latin-1 (U+0092 was probably ’, right single quotation mark, the curly apostrophe); ' +
        'convert the original file from Windows-1252 to UTF-8 (or save it from the spreadsheet as "CSV UTF-8") and import it again',
    );
  });

  it.each([
    [0x80, '€'],
    [0x85, '…'],
    [0x93, '“'],
    [0x94, '”'],
    [0x96, '–'],
    [0x97, '—'],
    [0x99, '™'],
    [0x9f, 'Ÿ'],
  ])('U+%s is the Windows-1252 %s', (code, char) => {
    expect(c1ControlReason(`x${String.fromCharCode(code)}`)).toContain(`was probably ${char},`);
  });

  it('agrees with the Windows-1252 decoder for every byte 0x80–0x9F', async () => {
    const iconv = (await import('iconv-lite')).default;
    for (let b = 0x80; b <= 0x9f; b++) {
      const char = iconv.decode(Buffer.from([b]), 'win1252');
      const reason = c1ControlReason(String.fromCharCode(b))!;
      if (char === '\uFFFD') expect(reason).toContain('is no Windows-1252 character either');
      else expect(reason).toContain(`was probably ${char},`);
    }
  });

  it('says so for the five bytes Windows-1252 does not define, and suggests no character', () => {
    const reason = c1ControlReason('98765\u008143211')!;
    expect(reason).toMatch(/^U\+0081 at character 6, .*U\+0081 is no Windows-1252 character either, so it came from another encoding\)/);
    expect(reason).not.toContain('probably');
  });

  it('counts characters as the operator sees them (an emoji is one)', () => {
    expect(c1ControlReason('😀\u0092')).toMatch(/^U\+0092 at character 2,/);
  });

  it('is null for text without one (Latin-1 letters, Windows-1252 punctuation decoded right, tabs)', () => {
    expect(c1ControlReason('José’s “café” – €5\t')).toBeNull();
  });
});

describe('c0ControlReason: a C0 control (or DEL) in a value', () => {
  it.each([
    ['Asha\x07Bell', 'U+0007 (bell) at character 5'],
    ['Ravi\x1b[31mRed', 'U+001B (escape, which starts terminal colour codes) at character 5'],
    ['Flat 4\x0bMG Road', 'U+000B (vertical tab, the line break some programs write inside a cell) at character 7'],
    ['a\x7f', 'U+007F (delete) at character 2'],
    ['a\x1f', 'U+001F (unit separator) at character 2'],
  ])('%j: %s', (value, start) => {
    expect(c0ControlReason(value)).toBe(`${start}: an invisible control character no SMS should carry; remove it from the cell`);
  });

  it('is null for tab, line breaks and C1 controls (those fail the file, not the row)', () => {
    expect(c0ControlReason('a\tb\r\nc\u0092')).toBeNull();
  });
});
