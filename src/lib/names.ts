/**
 * The names operators give things (a campaign, a contact list): one rule for all, so the API, the CLI and the
 * dashboard refuse the same names with the same words. Pure.
 *
 * A control character in a name (a tab or line break pasted with it, an ANSI escape sent through the API) is
 * invisible where the name is shown and breaks what it is shown in: the CLI's tables, a `--list <name>` typed
 * again, a CSV or log line. Such names were stored as given; they are refused, naming the character and where it is.
 */
import { ValidationError } from '../errors';
import { C0_NAMES } from '../import/control-characters';

/** The import's names of C0 controls (bell, escape, …), and the ones text holds but a name must not. */
const NAMED: Record<number, string> = {
  ...C0_NAMES,
  0x00: 'NUL',
  0x09: 'tab',
  0x0a: 'line feed, a line break',
  0x0b: 'vertical tab',
  0x0d: 'carriage return, a line break',
};

/** Every control character (C0, DEL, C1), tab and line breaks included: none belongs in a one-line name. */
const CONTROL = /\p{Cc}/u;

/** The first control character of `name`, described for an error (`U+0009 (tab) at character 6`); null when none. */
export function nameControlCharacter(name: string): string | null {
  const m = CONTROL.exec(name);
  if (!m) return null;
  const code = m[0].charCodeAt(0);
  const what = NAMED[code] ?? 'a control character';
  // Characters counted as the operator sees them (code points), 1-based.
  const at = [...name.slice(0, m.index)].length + 1;
  return `U+${code.toString(16).toUpperCase().padStart(4, '0')} (${what}) at character ${at}`;
}

/**
 * Refuses (400 / exit 2, naming `field` as the caller spells it: `name`, `--list`) a name holding a control character;
 * `what` says whose name it is ("a campaign name"). Emptiness and length stay each caller's (their limits differ in
 * wording only).
 */
export function refuseControlInName(name: string, field: string, what: string): void {
  const control = nameControlCharacter(name);
  if (control) throw new ValidationError((n) => `${n(field)}: ${what} must not hold ${control}, an invisible control character; remove it`, field);
}
