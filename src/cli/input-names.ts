/**
 * How the CLI names the inputs that shared code reports by id (the HTTP API's field name, see InputNamer in
 * errors.ts): the option is `--` and the id in kebab case (`phoneColumn` → `--phone-column`) unless the option
 * is called otherwise, and the `field` of a `--json` error is the option without dashes in camelCase, as
 * commander names it (`--pack` → `pack`, `--older-than` → `olderThan`).
 */
import type { InputNamer } from '../errors';

/** Inputs whose option is not simply their id. */
const OPTION_OF: Readonly<Record<string, string>> = {
  packSize: 'pack',
  vars: 'var',
  // bulksms simulator (its options' ids are the `/__config` keys)
  invalidKeyFromRequest: 'invalidKeyFrom',
  latencyMs: 'latency',
  logPath: 'log',
};

/** The `field` of a CLI error for the input `id`. */
export function cliField(id: string): string {
  return OPTION_OF[id] ?? id;
}

/** The option as the operator types it: `--at`, `--pack`, `--phone-column`. */
export const cliOption: InputNamer = (id) => `--${cliField(id).replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;

/** The `field` of a CLI error for an option the CLI itself checks: `--max-record-size` → `maxRecordSize`. */
export function fieldOfOption(flag: string): string {
  return flag.replace(/^--/, '').replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase());
}
