import { extractBearer, generateToken, hashToken, normalisePhone, TOKEN_PREFIX } from '../../../src/access/tokens';

describe('token helpers', () => {
  it('generates prefixed 32-byte tokens and hashes them', () => {
    const a = generateToken();
    expect(a.startsWith(TOKEN_PREFIX)).toBe(true);
    expect(Buffer.from(a.slice(TOKEN_PREFIX.length), 'base64url')).toHaveLength(32);
    expect(generateToken()).not.toBe(a);
    expect(hashToken(a)).toMatch(/^[0-9a-f]{64}$/);
    expect(hashToken(a)).not.toContain(a.slice(TOKEN_PREFIX.length, 20));
  });

  it('extracts bearer tokens', () => {
    expect(extractBearer('Bearer bsms_abcdefghijklmnop')).toBe('bsms_abcdefghijklmnop');
    expect(extractBearer('bearer   bsms_abcdefghijklmnop ')).toBe('bsms_abcdefghijklmnop');
    expect(extractBearer('Basic a b')).toBeNull();
    expect(extractBearer('Bearer short')).toBeNull();
    expect(extractBearer(undefined)).toBeNull();
  });

  it('normalises registered phones', () => {
    expect(normalisePhone('98765 43210')).toBe('+919876543210');
    expect(normalisePhone('919876543210')).toBe('+919876543210');
    expect(normalisePhone('+14155550123')).toBe('+14155550123');
    expect(() => normalisePhone('12345')).toThrow('--phone');
    // Read like an imported or suppressed number: the 0 and 0091 spellings were refused, and a number no phone can
    // have (+91 and 8 digits) was stored, so its owner's OTP could never arrive.
    expect(normalisePhone('098765 43210')).toBe('+919876543210');
    expect(normalisePhone('0091 98765 43210')).toBe('+919876543210');
    expect(() => normalisePhone('+9112345678')).toThrow('--phone');
  });
});
