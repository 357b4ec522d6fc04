import { parseAllowList } from '../../../src/access/ip-allow';
import { ValidationError } from '../../../src/errors';

describe('parseAllowList', () => {
  it('allows everyone when unset or empty', () => {
    expect(parseAllowList(undefined).allows('203.0.113.9')).toBe(true);
    expect(parseAllowList(' , ').allows('::1')).toBe(true);
  });

  it('matches IPv4 CIDRs and single addresses', () => {
    const m = parseAllowList('10.0.0.0/8, 192.168.1.7');
    expect(m.rules).toEqual(['10.0.0.0/8', '192.168.1.7/32']);
    expect(m.allows('10.200.3.4')).toBe(true);
    expect(m.allows('192.168.1.7')).toBe(true);
    expect(m.allows('192.168.1.8')).toBe(false);
    expect(m.allows('11.0.0.1')).toBe(false);
    expect(m.allows(undefined)).toBe(false);
    expect(m.allows('not-an-ip')).toBe(false);
  });

  it('matches IPv4-mapped IPv6 peers against IPv4 rules', () => {
    const m = parseAllowList('10.0.0.0/8');
    expect(m.allows('::ffff:10.1.2.3')).toBe(true);
    expect(m.allows('::FFFF:11.1.2.3')).toBe(false);
  });

  it('accepts mapped CIDRs in the list itself', () => {
    const m = parseAllowList('::ffff:172.16.0.0/108');
    expect(m.rules).toEqual(['172.16.0.0/12']);
    expect(m.allows('172.20.1.1')).toBe(true);
    expect(m.allows('::ffff:172.31.255.255')).toBe(true);
    expect(m.allows('172.32.0.1')).toBe(false);
  });

  // Its prefix counts over the 128 bits of IPv6: '::ffff:10.0.0.0/8' was refused as outside "(0-32)", which 8 is not.
  it('says an IPv4-mapped CIDR takes a prefix of 96-128, and which IPv4 CIDR that is', () => {
    expect(() => parseAllowList('::ffff:10.0.0.0/8')).toThrow(
      'API_ALLOW_IPS: "::ffff:10.0.0.0/8" has an invalid prefix length (96-128 for an IPv4-mapped address: ::ffff:10.0.0.0/104, or 10.0.0.0/8)',
    );
    expect(() => parseAllowList('::ffff:10.0.0.0/129')).toThrow('(96-128 for an IPv4-mapped address');
  });

  // A link-local address is only an address on its link: fe80::1 on eth0 and fe80::1 on eth1 are two hosts, and Node
  // reports the peer's zone (`fe80::1%eth1`). A rule naming a zone matched the same address on every interface.
  it('holds a zoned rule to its interface; an unzoned one matches the address on any', () => {
    const zoned = parseAllowList('fe80::1%eth0, fe80::%eth2/64');
    expect(zoned.rules).toEqual(['fe80::1%eth0/128', 'fe80::%eth2/64']);
    expect(zoned.allows('fe80::1%eth0')).toBe(true);
    expect(zoned.allows('fe80::1%eth1')).toBe(false);
    expect(zoned.allows('fe80::1')).toBe(false);
    expect(zoned.allows('fe80::abcd%eth2')).toBe(true);
    expect(zoned.allows('fe80::abcd%eth0')).toBe(false);
    const any = parseAllowList('fe80::/10');
    expect(any.allows('fe80::1%eth1')).toBe(true);
    expect(any.allows('fe80::1')).toBe(true);
  });

  it('matches IPv6 CIDRs', () => {
    const m = parseAllowList('2001:db8::/32,::1');
    expect(m.allows('2001:db8:1::5')).toBe(true);
    expect(m.allows('::1')).toBe(true);
    expect(m.allows('2001:db9::1')).toBe(false);
    expect(m.allows('10.0.0.1')).toBe(false);
  });

  // A typo must never widen the list: '10.0.0.1/' read as /0 let every IPv4 client in (the API's own parser did).
  it.each(['10.0.0.0/33', 'banana', '10.0.0.0/8/1', '2001:db8::/129', '10.0.0.0/x', '10.0.0.1/', '10.0.0.0/0x8', '10.0.0.0/ 8'])('rejects %s naming the entry', (bad) => {
    expect(() => parseAllowList(`127.0.0.1,${bad}`)).toThrow(ValidationError);
    expect(() => parseAllowList(bad)).toThrow(bad);
  });
});
