/**
 * `API_ALLOW_IPS`: comma-separated addresses or CIDR ranges (IPv4 or IPv6) allowed to call the protected API.
 * Empty = everyone (the bearer token still applies). IPv4-mapped IPv6 peers (::ffff:a.b.c.d) match IPv4 rules.
 */
import { BlockList, isIP } from 'node:net';
import { ValidationError } from '../errors';

export type IpAllowList = (address: string | undefined) => boolean;

export function parseAllowList(spec: string | undefined): IpAllowList | null {
  const entries = (spec ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  if (entries.length === 0) return null;
  const list = new BlockList();
  for (const entry of entries) {
    const [addr, bits, extra] = entry.split('/');
    const family = isIP(addr ?? '');
    const prefix = bits === undefined ? (family === 6 ? 128 : 32) : Number(bits);
    if (!family || extra !== undefined || !Number.isInteger(prefix) || prefix < 0 || prefix > (family === 6 ? 128 : 32)) {
      throw new ValidationError(`API_ALLOW_IPS: "${entry}" is not an IP address or CIDR range`, 'API_ALLOW_IPS');
    }
    list.addSubnet(addr!, prefix, family === 6 ? 'ipv6' : 'ipv4');
  }
  return (address) => {
    if (!address) return false;
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
    const ip = mapped ? mapped[1]! : address;
    return list.check(ip, isIP(ip) === 6 ? 'ipv6' : 'ipv4');
  };
}
