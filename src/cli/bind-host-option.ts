import { ValidationError } from '../errors';
import { BIND_HOST_RULE, isBindHost } from '../lib/bind-host';
import { fieldOfOption } from './input-names';

/**
 * An address option (`--host`, `--metrics-host`), checked before anything starts: a value no server can listen on
 * ("[::1]", "host:port", a space) otherwise failed at listen time with a bare "getaddrinfo ENOTFOUND" and exit 1,
 * naming neither the option nor what it takes. Bad input is exit 2 naming the option.
 */
export function bindHostOption(option: string, raw: string): string {
  if (!isBindHost(raw)) throw new ValidationError(`${option} ${BIND_HOST_RULE} (got "${raw.slice(0, 80)}")`, fieldOfOption(option));
  return raw;
}
