/**
 * Control characters in imported values, described for an error or a reject report. Pure.
 *
 * No SMS should carry one: sent, it is invisible to the recipient and switches the whole message to UCS-2 (fewer
 * characters per part, more credits); shown, it drives the terminal or breaks the line. The campaign text refuses
 * them (campaign/validation.ts); values from the file's columns are held to the same rule here.
 */

/**
 * C0 controls other than tab, LF and CR (those three are text: a tab in a cell, a line break in a quoted cell), and
 * DEL. NUL never gets this far: the decoder refuses a file holding one.
 */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
export const C0_CONTROL = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]/;

/**
 * C1 controls (U+0080–U+009F). Real text never holds them: they are what Windows-1252 punctuation (’ “ ” – € …,
 * bytes 0x80–0x9F) becomes when a file is converted to UTF-8 as if it were Latin-1, where those bytes are controls.
 */
export const C1_CONTROL = /[\u0080-\u009F]/;

/** Either kind: what neither a campaign text (validation.ts) nor a value rendered into one (template.ts) may hold. */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
export const CONTROL_CHARACTER = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]/;

export const C0_NAMES: Record<number, string> = {
  0x01: 'start of heading',
  0x02: 'start of text',
  0x03: 'end of text',
  0x04: 'end of transmission',
  0x05: 'enquiry',
  0x06: 'acknowledge',
  0x07: 'bell',
  0x08: 'backspace',
  0x0b: 'vertical tab, the line break some programs write inside a cell',
  0x0c: 'form feed',
  0x0e: 'shift out',
  0x0f: 'shift in',
  0x10: 'data link escape',
  0x11: 'device control 1',
  0x12: 'device control 2',
  0x13: 'device control 3',
  0x14: 'device control 4',
  0x15: 'negative acknowledge',
  0x16: 'synchronous idle',
  0x17: 'end of transmission block',
  0x18: 'cancel',
  0x19: 'end of medium',
  0x1a: "substitute, DOS's end-of-file mark",
  0x1b: 'escape, which starts terminal colour codes',
  0x1c: 'file separator',
  0x1d: 'group separator',
  0x1e: 'record separator',
  0x1f: 'unit separator',
  0x7f: 'delete',
};

/**
 * What each C1 control is in Windows-1252 (bytes 0x80–0x9F; the WHATWG table, as iconv-lite decodes it), with a name
 * an operator recognises. 0x81, 0x8D, 0x8F, 0x90 and 0x9D are no character there.
 */
const CP1252: ReadonlyArray<readonly [string, string] | null> = [
  ['€', 'euro sign'],
  null,
  ['‚', 'low single quotation mark'],
  ['ƒ', 'f with hook'],
  ['„', 'low double quotation mark'],
  ['…', 'ellipsis'],
  ['†', 'dagger'],
  ['‡', 'double dagger'],
  ['ˆ', 'circumflex accent'],
  ['‰', 'per mille sign'],
  ['Š', 'S with caron'],
  ['‹', 'single left angle quotation mark'],
  ['Œ', 'OE ligature'],
  null,
  ['Ž', 'Z with caron'],
  null,
  null,
  ['‘', 'left single quotation mark'],
  ['’', 'right single quotation mark, the curly apostrophe'],
  ['“', 'left double quotation mark'],
  ['”', 'right double quotation mark'],
  ['•', 'bullet'],
  ['–', 'en dash'],
  ['—', 'em dash'],
  ['˜', 'small tilde'],
  ['™', 'trade mark sign'],
  ['š', 's with caron'],
  ['›', 'single right angle quotation mark'],
  ['œ', 'oe ligature'],
  null,
  ['ž', 'z with caron'],
  ['Ÿ', 'Y with diaeresis'],
];

/** `U+0092` */
export function codePointName(code: number): string {
  return `U+${code.toString(16).toUpperCase().padStart(4, '0')}`;
}

/** 1-based position of `index` (a UTF-16 index) in characters as the operator counts them (code points). */
function characterAt(value: string, index: number): number {
  return [...value.slice(0, index)].length + 1;
}

/**
 * Why a value holding a C0 control (or DEL) is refused, or null when it holds none: the first one, by code point,
 * name and position in the value.
 */
export function c0ControlReason(value: string): string | null {
  const m = C0_CONTROL.exec(value);
  if (!m) return null;
  const code = m[0].charCodeAt(0);
  return (
    `${codePointName(code)} (${C0_NAMES[code] ?? 'a control character'}) at character ${characterAt(value, m.index)}: ` +
    'an invisible control character no SMS should carry; remove it from the cell'
  );
}

/**
 * Why a file holding a C1 control is refused, or null when the value holds none: the first one, where it is in the
 * value, and the Windows-1252 character it most likely was (a hint for converting the file again, never applied:
 * the file's real encoding is the operator's to know).
 */
export function c1ControlReason(value: string): string | null {
  const m = C1_CONTROL.exec(value);
  if (!m) return null;
  const code = m[0].charCodeAt(0);
  const name = codePointName(code);
  const was = CP1252[code - 0x80];
  const where = `${name} at character ${characterAt(value, m.index)}, an invisible control character no SMS should carry: `;
  const again = '(or save it from the spreadsheet as "CSV UTF-8") and import it again';
  if (!was) {
    return (
      `${where}the file looks converted to UTF-8 as if it were Latin-1 (${name} is no Windows-1252 character either, so ` +
      `it came from another encoding); convert the original file to UTF-8 from its real encoding ${again}`
    );
  }
  return (
    `${where}the file looks like Windows-1252 text converted to UTF-8 as if it were Latin-1 ` +
    `(${name} was probably ${was[0]}, ${was[1]}); convert the original file from Windows-1252 to UTF-8 ${again}`
  );
}
