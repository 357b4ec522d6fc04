/**
 * `API_ALLOW_IPS`: a comma-separated list of CIDRs (or bare addresses), IPv4 and IPv6. Empty or unset
 * means "allow all". IPv4-mapped IPv6 peers (`::ffff:10.1.2.3`, what a dual-stack socket reports) are
 * matched against the IPv4 rules as well as the IPv6 ones. A rule with a zone (`fe80::1%eth0`) matches that address on
 * that interface only; one without matches it on any.
 */
import { BlockList, isIP } from 'node:net';
import { ValidationError } from '../errors';

export interface IpMatcher {
  /** True if the list is empty (no restriction) or the address falls in one of its ranges. */
  allows(address: string | undefined): boolean;
  /** The normalised rules, for logs and `--help`. */
  readonly rules: readonly string[];
}

const MAPPED_V4 = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i;

/**
 * A mapped CIDR's prefix counts over IPv6's 128 bits: "::ffff:10.0.0.0/8" said "(0-32)" of a prefix of 8. One of 0-32
 * was meant for the IPv4 address: both spellings of that are named.
 */
function mappedRange(v4: string, prefixRaw: string | undefined): string {
  const meant = prefixRaw !== undefined && /^\d+$/.test(prefixRaw) && Number(prefixRaw) <= 32 ? Number(prefixRaw) : null;
  return `96-128 for an IPv4-mapped address${meant === null ? '' : `: ::ffff:${v4}/${96 + meant}, or ${v4}/${meant}`}`;
}

/** `fe80::1%eth0` → the address and its zone (interface); null when it names none. */
function splitZone(address: string): { bare: string; zone: string | null } {
  const at = address.indexOf('%');
  return at < 0 ? { bare: address, zone: null } : { bare: address.slice(0, at), zone: address.slice(at + 1) };
}

/** `setting`: the variable the list came from, named in its errors (API_TRUST_PROXY reads the same syntax). */
export function parseAllowList(spec: string | undefined | null, setting = 'API_ALLOW_IPS'): IpMatcher {
  const entries = (spec ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  if (entries.length === 0) return { allows: () => true, rules: [] };
  // Rules without a zone match an address on any interface; a zoned rule (`fe80::1%eth0`) only on its own: a link-local
  // address names a host on one link, and the same address on another interface is another host.
  const anyZone = new BlockList();
  const byZone = new Map<string, BlockList>();
  const rules: string[] = [];
  for (const entry of entries) {
    const [addrRaw, prefixRaw, extra] = entry.split('/');
    const mapped = MAPPED_V4.exec(addrRaw ?? '');
    const addr = mapped ? mapped[1]! : (addrRaw ?? '');
    const family = isIP(addr);
    if (family === 0 || extra !== undefined) {
      throw new ValidationError(`${setting}: "${entry}" is not an IP address or CIDR`, setting);
    }
    const type = family === 4 ? 'ipv4' : 'ipv6';
    const max = family === 4 ? 32 : 128;
    // A mapped-v4 CIDR counts its prefix over 128 bits (::ffff:0:0/96 + v4 prefix).
    let prefix = prefixRaw === undefined ? max : Number(prefixRaw);
    if (mapped && prefixRaw !== undefined) prefix -= 96;
    if (!Number.isInteger(prefix) || prefix < 0 || prefix > max || (prefixRaw !== undefined && !/^\d+$/.test(prefixRaw))) {
      throw new ValidationError(`${setting}: "${entry}" has an invalid prefix length (${mapped ? mappedRange(addr, prefixRaw) : `0-${max}`})`, setting);
    }
    const { bare, zone } = splitZone(addr);
    const list = zone === null ? anyZone : byZone.get(zone) ?? byZone.set(zone, new BlockList()).get(zone)!;
    list.addSubnet(bare, prefix, type);
    rules.push(`${addr}/${prefix}`);
  }
  return {
    rules,
    allows(address) {
      if (!address) return false;
      const mapped = MAPPED_V4.exec(address);
      if (mapped && anyZone.check(mapped[1]!, 'ipv4')) return true;
      const family = isIP(address);
      if (family === 0) return false;
      const { bare, zone } = splitZone(address);
      const type = family === 4 ? 'ipv4' : 'ipv6';
      // BlockList ignores a zone: an address is checked bare, against the rules of any zone and those of its own.
      return anyZone.check(bare, type) || (zone !== null && (byZone.get(zone)?.check(bare, type) ?? false));
    },
  };
}
