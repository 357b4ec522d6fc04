import { parseAllowList } from '../../../src/api/ip-allow';

describe('API_ALLOW_IPS', () => {
  it('allows everyone when unset or empty', () => {
    expect(parseAllowList(undefined)).toBeNull();
    expect(parseAllowList(' , ')).toBeNull();
  });

  it('matches single addresses and CIDR ranges, IPv4-mapped IPv6 included', () => {
    const allow = parseAllowList('10.1.0.0/16, 192.168.1.7, ::1, 2001:db8::/32')!;
    for (const a of ['10.1.2.3', '::ffff:10.1.200.1', '192.168.1.7', '::1', '2001:db8::5']) expect(allow(a)).toBe(true);
    for (const a of ['10.2.0.1', '192.168.1.8', '127.0.0.1', '2001:db9::1', undefined]) expect(allow(a)).toBe(false);
  });

  it('names a bad entry', () => {
    expect(() => parseAllowList('10.0.0.0/33')).toThrow(/10\.0\.0\.0\/33/);
    expect(() => parseAllowList('example.com')).toThrow(/API_ALLOW_IPS/);
  });
});
