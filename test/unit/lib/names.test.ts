import { ValidationError } from '../../../src/errors';
import { nameControlCharacter, refuseControlInName } from '../../../src/lib/names';

describe('names operators give (campaigns, contact lists)', () => {
  it.each([
    ['Diwali\t2026', 'U+0009 (tab) at character 7'],
    ['a\nb', 'U+000A (line feed, a line break) at character 2'],
    ['red\u001b[31m', 'U+001B (escape, which starts terminal colour codes) at character 4'],
    ['नमस्ते\u0092', 'U+0092 (a control character) at character 7'],
    ['😀\u0007', 'U+0007 (bell) at character 2'], ['a\r\n', 'U+000D (carriage return, a line break) at character 2'],
  ])('%j holds %s', (name, described) => {
    expect(nameControlCharacter(name)).toBe(described);
  });

  it.each(['Diwali 2026', 'नमस्ते सूची', 'family 👨‍👩‍👧', 'O’Brien — sale'])('%j is a name', (name) => {
    expect(nameControlCharacter(name)).toBeNull();
  });

  it('refuses naming the field as the caller spells it', () => {
    let err: unknown;
    try {
      refuseControlInName('a\tb', 'list', 'a list name');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ValidationError);
    const v = err as ValidationError;
    expect({ field: v.field, message: v.message, cli: v.messageFor((id) => `--${id}`) }).toEqual({
      field: 'list',
      message: 'list: a list name must not hold U+0009 (tab) at character 2, an invisible control character; remove it',
      cli: '--list: a list name must not hold U+0009 (tab) at character 2, an invisible control character; remove it',
    });
  });
});
