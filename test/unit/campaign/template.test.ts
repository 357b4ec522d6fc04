import { holdsControlCharacter, holdsPlaceholder, literalText, placeholders, renderTemplate, strayBraces } from '../../../src/campaign/template';
import { DEFAULT_SENDER_RULES, validateCampaignFields, validateSender } from '../../../src/campaign/validation';

describe('renderTemplate', () => {
  it('fills {{column}} from variables, matching names case- and space-insensitively', () => {
    expect(renderTemplate('Hi {{Name}}, your code {{ order id }}', { name: 'Asha', 'Order ID': 'A-42' })).toEqual({
      ok: true,
      text: 'Hi Asha, your code A-42',
    });
  });

  it('matches names typed in different Unicode forms (Hindi nukta, accents)', () => {
    // क़ीमत as one code point (U+0958) in the text, as क + nukta in the header; café composed and decomposed.
    const vars = { '\u0915\u093C\u0940\u092E\u0924': '₹499', 'cafe\u0301': 'Blue Tokai' };
    expect(renderTemplate('\u0958\u0940\u092E\u0924 {{\u0958\u0940\u092E\u0924}} at {{caf\u00E9}}', vars)).toEqual({
      ok: true,
      text: '\u0958\u0940\u092E\u0924 ₹499 at Blue Tokai',
    });
  });

  it('reports every missing or empty variable instead of sending a literal placeholder', () => {
    expect(renderTemplate('Hi {{name}} {{city}} {{name}}', { name: '' })).toEqual({ ok: false, missing: ['name', 'city'] });
  });

  it('leaves text without placeholders alone and lists placeholders once', () => {
    expect(renderTemplate('Plain text {not} a var', {})).toEqual({ ok: true, text: 'Plain text {not} a var' });
    expect(placeholders('{{a}} {{ b }} {{a}}')).toEqual(['a', 'b']);
  });
});

describe('incomplete placeholders', () => {
  it.each([
    'Hi {{ name }, your order shipped', 'Hi {{}} there', 'Hi {{ }} there', 'Hi {{\t}}', 'Hi {{name}, code {{name}}', 'Total }} due', 'Hi {{name',
    // Handlebars' triple braces: rendered, they sent "Hi {Asha}".
    'Hi {{{name}}}', 'Hi {{name}}}', 'Hi {{{name}}',
  ])(
    '%j is found, never rendered with its braces',
    (text) => {
      expect(strayBraces(text)).not.toBeNull();
      expect(renderTemplate(text, { name: 'Asha' })).toMatchObject({ ok: false });
    },
  );

  it('quotes whole characters around the stray brace, never half an emoji', () => {
    // Cut by UTF-16 units, these quoted "\udf89🎉🎉 sal {{name" and "Hi {{ x 🎉🎉🎉\ud83c".
    expect(strayBraces('🎉🎉🎉🎉🎉🎉 sal {{name')).toBe('🎉🎉🎉 sal {{name');
    expect(strayBraces('Hi {{ x 🎉🎉🎉🎉🎉🎉')).toBe('Hi {{ x 🎉🎉🎉🎉');
  });

  it('complete placeholders and single braces are fine', () => {
    expect(strayBraces('Hi {{name}}, {{ Order ID }} {x} }{')).toBeNull();
    expect(strayBraces('{ {{name}} } {{a}}{{b}}')).toBeNull();
  });

  it('refuses such a --text when the campaign is created', () => {
    const rules = { transactional: '^[A-Za-z]{6}$', promotional: '^[0-9]{6}$' };
    expect(() => validateCampaignFields({ name: 'c', type: 'transactional', from: 'ACMEIN', text: 'Hi {{ name }, bye' }, rules)).toThrow(/incomplete placeholder/);
    // Blank braces are not a placeholder named "" (create said: placeholder "" is not a column of the list).
    expect(() => validateCampaignFields({ name: 'c', type: 'transactional', from: 'ACMEIN', text: 'Hi {{ }}, bye' }, rules)).toThrow(/"Hi {{ }}, bye" has an incomplete placeholder/);
    expect(placeholders('Hi {{ }} {{ name }}')).toEqual(['name']);
  });
});

describe('DLT template variables in a free text', () => {
  const rules = { transactional: '^[A-Za-z]{6}$', promotional: '^[0-9]{6}$' };

  it.each(['Dear {#var#}, your order {{order}} is shipped', 'OTP {#VAR#} valid 10 min', 'Hi {#name#}'])(
    '%j is refused at create and never rendered',
    (text) => {
      expect(() => validateCampaignFields({ name: 'c', type: 'transactional', from: 'ACMEIN', text }, rules)).toThrow(/DLT template variable/);
      expect(renderTemplate(text, { order: '42', name: 'Asha' })).toMatchObject({ ok: false });
    },
  );

  it('a hash or braces on their own are ordinary text', () => {
    expect(renderTemplate('Order #42 {ok} #1 {#}', {})).toEqual({ ok: true, text: 'Order #42 {ok} #1 {#}' });
  });
});

describe('a value that holds a placeholder itself', () => {
  // Values are not rendered again: a list exported with its own merge fields unfilled would send them as they stand.
  it.each(['{{first_name}}', 'Dear {#var#}', 'Sir {{', 'x }} y'])('%j fails the message, naming the variable', (value) => {
    expect(holdsPlaceholder(value)).toBe(true);
    expect(renderTemplate('Hi {{name}}, code {{code}}', { name: value, code: '42' })).toEqual({ ok: false, placeholderValues: ['name'] });
  });

  it('single braces, hashes and Hindi or emoji values are ordinary values', () => {
    for (const value of ['{ok}', '#42 {#}', 'राहुल 🎉', '{x} }{'] as const) expect(holdsPlaceholder(value)).toBe(false);
    expect(renderTemplate('Hi {{name}}', { name: 'राहुल 🎉 {ok}' })).toEqual({ ok: true, text: 'Hi राहुल 🎉 {ok}' });
  });

  it('a missing variable is reported first', () => {
    expect(renderTemplate('Hi {{name}} {{city}}', { name: '{{x}}' })).toEqual({ ok: false, missing: ['city'] });
  });
});

describe('a value that holds a control character (a list imported before the import refused them)', () => {
  it.each([
    ['a Windows-1252 apostrophe read as Latin-1', 'Ravi\u0092s'],
    ['an escape', 'Ravi\u001b[31mRed'],
    ['a vertical tab', 'Flat 4\u000bMG Road'],
    ['DEL', 'x\u007f'],
  ])('%s fails the message, naming the variable, instead of sending it invisibly as UCS-2', (_what, value) => {
    expect(holdsControlCharacter(value)).toBe(true);
    expect(renderTemplate('Hi {{name}}, code {{code}}', { name: value, code: '42' })).toEqual({ ok: false, controlValues: ['name'] });
  });

  it('tabs, line breaks, Latin-1 letters and Windows-1252 punctuation decoded right are ordinary values', () => {
    for (const value of ['a\tb', 'l1\r\nl2', 'José', 'it’s “ok” – €5']) expect(holdsControlCharacter(value)).toBe(false);
  });
});

describe('characters no SMS should carry, in a free text', () => {
  const rules = { transactional: '^[A-Za-z]{6}$', promotional: '^[0-9]{6}$' };
  const create = (text: string) => () => validateCampaignFields({ name: 'c', type: 'transactional', from: 'ACMEIN', text }, rules);

  it.each([
    ['Word line break (vertical tab)', 'Dear {{name}},\u000bYour order shipped', /U\+000B, a control character, at character 15/],
    ['form feed', 'Sale\fnow', /U\+000C/],
    ['escape', 'Hi\u001b[1m', /U\+001B/],
    ['DEL', 'Hi\u007f', /U\+007F/],
    ['Windows-1252 apostrophe read as Latin-1', 'It\u0092s on', /U\+0092, a control character, at character 3/],
    ['half an emoji cut by code units', 'Big sale \ud83c', /U\+D83C, half of an emoji .* at character 10/],
    ['a low surrogate alone', '\udf89 sale', /U\+DF89, half of an emoji/],
  ])('%s is refused at create, naming it and where', (_label, text, message) => {
    expect(create(text)).toThrow(message);
  });

  // The template name goes into every request too; only the text was checked.
  it.each([
    ['a pasted control character', 'order\u000bshipped', /^template: holds U\+000B, a control character, at character 6/],
    ['half an emoji', 'sale\ud83c', /^template: holds U\+D83C, half of an emoji .* at character 5/],
  ])('a template name with %s is refused at create, naming it and where', (_label, template, message) => {
    expect(() => validateCampaignFields({ name: 'c', type: 'transactional', from: 'ACMEIN', template }, rules)).toThrow(message);
  });

  it('line breaks, tabs, emoji, Hindi and GSM extension characters are fine', () => {
    expect(create('Hi {{name}},\r\nSale\tnow 🎉 नमस्ते ^{}[~]|€ \\')).not.toThrow();
    expect(create('👨‍👩‍👧 family pack')).not.toThrow();
  });
});

describe('the sender rule in plain words', () => {
  it('describes the default rule, and with another SENDER_PATTERN names the setting instead of a rule it contradicts', () => {
    expect(() => validateSender('transactional', '123456', DEFAULT_SENDER_RULES)).toThrow(/6 letters, e\.g\. TFCTOR; rule \^\[A-Za-z\]\{6\}\$/);
    const custom = { ...DEFAULT_SENDER_RULES, transactional: '^[A-Z]{3,11}$' };
    expect(validateSender('transactional', 'ACMEBANK', custom)).toBe('ACMEBANK');
    let message = '';
    try {
      validateSender('transactional', 'AB', custom);
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/must match SENDER_PATTERN_TRANSACTIONAL; rule \^\[A-Z\]\{3,11\}\$/);
    expect(message).not.toMatch(/6 letters/);
  });
});

describe('literal braces, escaped as Handlebars does', () => {
  it.each([
    ['an escaped placeholder is sent as written', 'use code \\{{PROMO}} at checkout, {{name}}', 'use code {{PROMO}} at checkout, Asha'],
    ['a lone escaped {{ (a URL template)', 'see https://x.in/?q=\\{{ and {{name}}', 'see https://x.in/?q={{ and Asha'],
    ['an escaped }} on its own (a JSON snippet)', 'Reply {"a":{"b":1\\}} {{name}}', 'Reply {"a":{"b":1}} Asha'],
    ['\\\\{{ is a backslash before a variable', 'dir C:\\\\{{name}}', 'dir C:\\Asha'],
    ['other backslashes are themselves', 'a\\b \\{x} {{name}}', 'a\\b \\{x} Asha'],
  ])('%s', (_what, text, sent) => {
    expect(strayBraces(text)).toBeNull();
    expect(renderTemplate(text, { name: 'Asha' })).toEqual({ ok: true, text: sent });
  });

  it('an escaped placeholder is not a variable: no column is wanted for it', () => {
    expect(placeholders('use \\{{PROMO}} {{name}} \\{{ code }}')).toEqual(['name']);
    expect(literalText('use \\{{PROMO}} {{name}} x\\}}')).toBe('use {{PROMO}}  x}}');
  });

  it('an escape closes at the next }} only when no other {{ comes first', () => {
    expect(renderTemplate('\\{{ {{name}}', { name: 'Asha' })).toEqual({ ok: true, text: '{{ Asha' });
  });

  it('unescaped stray braces beside escaped ones are still found', () => {
    expect(strayBraces('\\{{PROMO}} Hi {{name')).toMatch(/Hi {{name$/);
    expect(strayBraces('\\}} and }} too')).not.toBeNull();
  });

  it('is accepted by campaign create', () => {
    const rules = { transactional: '^[A-Za-z]{6}$', promotional: '^[0-9]{6}$' };
    expect(() => validateCampaignFields({ name: 'c', type: 'transactional', from: 'ACMEIN', text: 'use \\{{PROMO}} {"a":{"b":1\\}}' }, rules)).not.toThrow();
  });
});
