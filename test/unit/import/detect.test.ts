import { detectDelimiter, mapColumns } from '../../../src/import/detect';
import { renderTemplate } from '../../../src/campaign/template';
import { cliOption } from '../../../src/cli/input-names';

describe('detectDelimiter', () => {
  it.each([
    ['name,phone\nA,1\n', ','],
    ['name;phone;amount\nA;1;1,5\nB;2;2,5\n', ';'],
    ['name\tphone\nA, B\t1\n', '\t'],
    ['name|phone|city\nA|1|Pune, MH\n', '|'],
    ['"a,b";c;d\n"x,y";1;2\n', ';'],
    ['phone\n9876543210\n', ','],
    ['name,phone,note\nA,1,"x;y;z"\nB,2,"p;q;r"\n', ','],
    // An unclosed quote further down does not hide the delimiter (the import then reports the quote's line).
    ['phone;name\n9876500001;Asha\n9876500002;"Ravi\n9876500003;Meena\n', ';'],
  ])('%j → %j', (sample, delimiter) => {
    expect(detectDelimiter(sample, true)).toBe(delimiter);
  });
});

describe('mapColumns', () => {
  it.each([
    [['Name', 'Phone'], 1],
    [['name', ' MOBILE No. '], 1],
    [['\uFEFFmsisdn', 'name'], 0],
    [['Customer', 'WhatsApp Number'], 1],
    [['id', 'Cell'], 1],
    [['contact', 'email'], 0],
    [['Name', 'Number'], 1],
    [['Phone', 'Mobile'], 1], // "mobile" ranks above "phone"
    [['home phone', 'notes'], 0], // partial match
  ])('%j → column %i', (header, index) => {
    const r = mapColumns(header);
    expect(r.ok && r.mapping.phoneIndex).toBe(index);
  });

  it('uses --phone-column by name (case/space-insensitive) or 1-based number', () => {
    const byName = mapColumns(['A', 'B Col', 'phone'], 'b col');
    expect(byName.ok && byName.mapping.phoneIndex).toBe(1);
    const byNumber = mapColumns(['A', 'B', 'C'], '3');
    expect(byNumber.ok && byNumber.mapping.phoneIndex).toBe(2);
    const missing = mapColumns(['A', 'B'], 'tel');
    expect(missing.ok ? '' : missing.reason(cliOption)).toContain('no column "tel"');
  });

  it('finds a --phone-column with a non-Latin header by its own name, not the first such column', () => {
    const r = mapColumns(['मोबाइल', 'वैकल्पिक मोबाइल', 'नाम'], 'वैकल्पिक मोबाइल');
    expect(r.ok && r.mapping.phoneIndex).toBe(1);
    expect(mapColumns(['मोबाइल', 'नाम'], 'फ़ोन').ok).toBe(false);
  });

  it('prefers the exact header and refuses to guess between headers that differ only in punctuation', () => {
    const exact = mapColumns(['Contact No', 'Contact No.', 'name'], 'Contact No.');
    expect(exact.ok && exact.mapping.phoneIndex).toBe(1);
    const loose = mapColumns(['Contact No', 'Contact-No.', 'name'], 'contact no!');
    expect(loose.ok ? '' : loose.reason(cliOption)).toMatch(/matches several columns: "Contact No" \(column 1\), "Contact-No\." \(column 2\)/);
  });

  it('explains a missing phone column, naming the option as the caller does', () => {
    const r = mapColumns(['name', 'email']);
    expect(r.ok ? '' : r.reason(cliOption)).toBe(
      'no recognisable phone column in the header (columns: "name", "email"); name it phone/mobile/msisdn or pass --phone-column',
    );
    expect(r.ok ? '' : r.reason((id) => id)).toMatch(/or pass phoneColumn$/);
  });

  it('names variables so {{Column Name}} templating finds them, uniquely', () => {
    const r = mapColumns([' First  Name', 'phone', 'first_name', '', 'CITY']);
    expect(r.ok && r.mapping.variables).toEqual([
      { index: 0, name: 'first_name', optional: false, header: 'First Name' },
      { index: 2, name: 'first_name_2', optional: false, header: 'first_name' },
      { index: 3, name: 'column_4', optional: true, header: 'column 4' },
      { index: 4, name: 'city', optional: false, header: 'CITY' },
    ]);
    const vars = { first_name: 'Asha', city: 'Pune' };
    expect(renderTemplate('Hi {{First Name}} from {{City}}', vars)).toEqual({ ok: true, text: 'Hi Asha from Pune' });
  });

  it('a header with braces gives a variable a placeholder can name', () => {
    const r = mapColumns(['phone', 'Amount {INR}', '{{code}}', '{}']);
    expect(r.ok && r.mapping.variables.map((v) => v.name)).toEqual(['amount_inr', 'code', 'column_4']);
    expect(renderTemplate('Pay {{Amount INR}}, code {{code}}', { amount_inr: '499', code: 'A1' })).toEqual({ ok: true, text: 'Pay 499, code A1' });
  });
});
