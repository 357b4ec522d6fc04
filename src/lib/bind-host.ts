/**
 * What a server can be told to listen on: a DNS host name (RFC 1123 labels) or an IP literal, an IPv6 one without
 * brackets. Anything else (a space, a scheme, "host:port", "[::1]") failed only at listen time, with a bare
 * "getaddrinfo ENOTFOUND" that named neither the setting nor the option it came from.
 */
import { isIP } from 'node:net';

const LABEL = '[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?';
const HOST_NAME = new RegExp(`^(?=.{1,253}$)${LABEL}(?:\\.${LABEL})*\\.?$`);

export const BIND_HOST_RULE = 'must be a host name or an IP address (an IPv6 address without brackets)';

export function isBindHost(value: string): boolean {
  if (isIP(value) !== 0) return true;
  // All digits and dots but no IP address ("999.1.1.1", "10.0.0"): a typo for one, not a name (no top-level domain is numeric).
  if (/^[\d.]+$/.test(value)) return false;
  return HOST_NAME.test(value);
}
