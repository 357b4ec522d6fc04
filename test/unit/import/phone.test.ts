import { normalisePhone } from '../../../src/import/phone';

describe('normalisePhone (default country IN)', () => {
  it.each([
    ['9876543210', '+919876543210'],
    ['+919876543210', '+919876543210'],
    ['919876543210', '+919876543210'],
    ['09876543210', '+919876543210'],
    ['0091 98765 43210', '+919876543210'],
    ['+91 98765 43210', '+919876543210'],
    ['+91-98765-43210', '+919876543210'],
    ['98765.43210', '+919876543210'],
    ['(987) 654-3210', '+919876543210'],
    ['+91 (987) 654 3210', '+919876543210'],
    ['  9876543210  ', '+919876543210'],
    ['+91-0-9876543210', '+919876543210'],
    ['919198765432', '+919198765432'],
    ['7012345678', '+917012345678'],
    ['6291234567', '+916291234567'],
    ['+1 415 555 2671', '+14155552671'],
    ['+44 7911 123456', '+447911123456'],
    ['९८७६५४३२१०', '+919876543210'], // Devanagari digits
    ['৯৮৭৬৫৪৩২১০', '+919876543210'], // Bengali digits
    ['９８７６５４３２１０', '+919876543210'], // full-width digits
    ['9.19876543210E+11', '+919876543210'], // Excel scientific notation that kept every digit
    ['9876543210.0', '+919876543210'], // a float round trip
    ['98765\u00A043210', '+919876543210'], // no-break space
  ])('%s → %s', (raw, e164) => {
    expect(normalisePhone(raw)).toEqual({ ok: true, e164 });
  });

  it.each([
    ['', 'phone number is empty'],
    ['   ', 'phone number is empty'],
    ['abc', 'not a phone number'],
    ['N/A', 'not a phone number'],
    ['12345', 'invalid number (too short)'],
    ['98765432101234', 'invalid number (too long)'],
    ['022 2345 6789', 'not a mobile number (a fixed line)'],
    ['5876543210', 'not a mobile number (a fixed line)'],
    ['1800 123 4567', 'not a mobile number (a toll-free number)'],
    ['9876543210 ext 5', 'has an extension (SMS needs a plain mobile number)'],
    // Two numbers in one cell: libphonenumber takes the second for an extension of the first.
    ['9876543210;9876543211', 'holds more than one number (one per row)'],
    ['98765 43210 / 98765 43211', 'holds more than one number (one per row)'],
    ['9876543210/9876543211', 'holds more than one number (one per row)'],
    ['+91 9876543210, +91 9876543211', 'holds more than one number (one per row)'],
    ['9876543210 or 9876543211', 'holds more than one number (one per row)'],
    ['9876543210 & 09876543211', 'holds more than one number (one per row)'],
    ['9876543210 / 11', 'invalid number for IN'], // one number and something else: the plain reason
    ['9876543210 x123', 'has an extension (SMS needs a plain mobile number)'],
    ['+44 20 7946 0958', 'not a mobile number (a fixed line)'],
    ['9.19876E+11', 'in scientific notation, digits lost (format the column as text in the spreadsheet and export again)'],
    ['9876543210.5', 'invalid number for IN'],
    // A + dropped by a spreadsheet: said, never guessed (a national number looking like another country's stays refused).
    ['447911123456', 'invalid number for IN (+447911123456 is a valid number: was the + lost?)'],
    ['1 202 555 0123', 'invalid number for IN (+12025550123 is a valid number: was the + lost?)'],
    ['+447911123456 1', 'invalid number (too long)'],
  ])('%s is rejected: %s', (raw, reason) => {
    expect(normalisePhone(raw)).toEqual({ ok: false, reason });
  });

  it('uses the given default country for numbers without a + prefix', () => {
    expect(normalisePhone('07911 123456', 'GB')).toEqual({ ok: true, e164: '+447911123456' });
    expect(normalisePhone('9876543210', 'GB').ok).toBe(false);
    expect(normalisePhone('919876543210', 'GB')).toEqual({ ok: false, reason: 'invalid number (too long) (+919876543210 is a valid number: was the + lost?)' });
  });
});
