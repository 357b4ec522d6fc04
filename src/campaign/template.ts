/**
 * `{{column}}` personalisation. Pure. A placeholder whose variable is missing or empty, or whose value holds a
 * placeholder itself, makes the message fail with a reason: a literal `{{x}}` must never reach a phone.
 */
import { CONTROL_CHARACTER } from '../import/control-characters';

/** `{{ name }}`: a name with at least one visible character (`{{ }}` is an incomplete placeholder, see strayBraces). */
const PLACEHOLDER_AT = /\{\{\s*([^{}\s][^{}]*?)\s*\}\}/y;

/**
 * A campaign text split into what is sent as written and what is filled in.
 *
 * Literal braces are written as Handlebars escapes them (the convention a user of template tools expects):
 * `\{{` starts a literal `{{`, and the first `}}` after it (unless another `{{` comes first) is literal too, so
 * `use code \{{PROMO}} today` sends "use code {{PROMO}} today"; `\}}` is a literal `}}` on its own (a JSON
 * snippet's `{"a":{"b":1\}}`); `\\{{name}}` is a backslash followed by the variable. Any other backslash is itself.
 * Without this, no text could hold `{{` at all: every `{{` was a variable or refused as an incomplete one.
 */
export type TemplatePart =
  /** `escaped`: written through an escape, so its braces are meant (never a stray placeholder). */
  | { kind: 'literal'; text: string; at: number; escaped: boolean }
  /** `name` as written, trimmed; `at`/`end`: where `{{`…`}}` stands in the source. */
  | { kind: 'placeholder'; name: string; at: number; end: number };

export function parseTemplate(template: string): TemplatePart[] {
  const parts: TemplatePart[] = [];
  let rawAt = 0;
  const flush = (to: number): void => {
    if (to > rawAt) parts.push({ kind: 'literal', text: template.slice(rawAt, to), at: rawAt, escaped: false });
  };
  const escaped = (at: number, end: number, text: string): void => {
    flush(at);
    parts.push({ kind: 'literal', text, at, escaped: true });
    rawAt = end;
  };
  let i = 0;
  while (i < template.length) {
    if (template.startsWith('\\\\{{', i)) {
      // A literal backslash; the `{{` after it is read as usual on the next turn.
      escaped(i, i + 2, '\\');
      i += 2;
    } else if (template.startsWith('\\{{', i)) {
      const close = template.indexOf('}}', i + 3);
      const nextOpen = template.indexOf('{{', i + 3);
      const end = close >= 0 && (nextOpen < 0 || close < nextOpen) ? close + 2 : i + 3;
      escaped(i, end, template.slice(i + 1, end));
      i = end;
    } else if (template.startsWith('\\}}', i)) {
      escaped(i, i + 3, '}}');
      i += 3;
    } else {
      PLACEHOLDER_AT.lastIndex = i;
      const m = PLACEHOLDER_AT.exec(template);
      if (m) {
        flush(i);
        parts.push({ kind: 'placeholder', name: m[1]!.trim(), at: i, end: i + m[0].length });
        i += m[0].length;
        rawAt = i;
      } else i += 1;
    }
  }
  flush(template.length);
  return parts;
}


export type RenderResult =
  | { ok: true; text: string }
  /** Variables missing or empty (or, described, the text's own stray braces or DLT variable). */
  | { ok: false; missing: string[] }
  /** Variables whose value holds a placeholder (holdsPlaceholder). */
  | { ok: false; placeholderValues: string[] }
  /** Variables whose value holds a control character (holdsControlCharacter). */
  | { ok: false; controlValues: string[] };

// eslint-disable-next-line no-control-regex -- the whole ASCII range, controls included
const NON_ASCII = /[^\u0000-\u007f]/;

/**
 * Variable names are matched case-insensitively and with spaces/underscores folded, like CSV headers, and in one
 * Unicode form (NFC): the same Hindi or accented header can be typed as different code points (क़ is U+0958 on one
 * keyboard, क + ◌़ on another), and a header and a placeholder that look identical must match.
 */
export function normaliseVariableName(name: string): string {
  // ASCII is always NFC: skip the ICU call (this runs for every key of every contact when a run is materialised).
  const nfc = NON_ASCII.test(name) ? name.normalize('NFC') : name;
  return nfc.trim().toLowerCase().replace(/[\s_-]+/g, '_');
}


/** What a text sends around its placeholders, escapes resolved (for what the literal part costs or holds). */
export function literalText(template: string): string {
  return parseTemplate(template)
    .map((p) => (p.kind === 'literal' ? p.text : ''))
    .join('');
}

export function placeholders(template: string): string[] {
  return [...new Set(parseTemplate(template).flatMap((p) => (p.kind === 'placeholder' ? [p.name] : [])))];
}

/**
 * The first `{{` or `}}` that is not part of a complete placeholder nor escaped (`{{ name }`, `{{}}`, `{{ }}`,
 * `Hi {{name`), or a third brace against one (`{{{name}}}`, the Handlebars habit, sent as "Hi {Asha}"), with a
 * little context; null when there is none. Such text used to be sent as it stood, braces and all.
 */
export function strayBraces(template: string): string | null {
  const parts = parseTemplate(template);
  const found: number[] = [];
  parts.forEach((p, k) => {
    if (p.kind !== 'literal' || p.escaped) return;
    const pair = p.text.search(/\{\{|\}\}/);
    if (pair >= 0) found.push(p.at + pair);
    const before = parts[k - 1];
    const after = parts[k + 1];
    if (before?.kind === 'placeholder' && p.text.startsWith('}')) found.push(before.end - 2);
    if (after?.kind === 'placeholder' && p.text.endsWith('{')) found.push(p.at + p.text.length - 1);
  });
  if (!found.length) return null;
  const at = Math.min(...found);
  // Widened to whole characters: cut by UTF-16 units, an emoji beside the brace left half of itself in the message
  // (a lone surrogate, shown as � or escaped as \ud83c in --json).
  let from = Math.max(0, at - 10);
  if (from > 0 && isLowSurrogate(template.charCodeAt(from))) from -= 1;
  let to = Math.min(template.length, at + 12);
  if (to < template.length && isLowSurrogate(template.charCodeAt(to))) to += 1;
  return template.slice(from, to);
}

function isLowSurrogate(code: number): boolean {
  return code >= 0xdc00 && code <= 0xdfff;
}

/**
 * A DLT template variable (`{#var#}`) left in a free text: the text of a registered template pasted as it is.
 * Sent like that, every recipient reads "Dear {#var#}" (or the operator rejects it); `{{column}}` is what fills in.
 */
export function dltVariable(template: string): string | null {
  return /\{#[^{}#]*#\}/i.exec(template)?.[0] ?? null;
}

/**
 * Does a contact's value hold `{{`, `}}` or a DLT variable `{#var#}` (a list exported from another tool with its own
 * merge fields left unfilled)? Values are not rendered again, so it would reach the phone as it stands.
 */
export function holdsPlaceholder(value: string): boolean {
  return /\{\{|\}\}|\{#[^{}#]*#\}/.test(value);
}

/**
 * Does a contact's value hold a control character no SMS should carry? C0 controls other than tab/LF/CR, DEL and C1
 * controls (U+0080–U+009F, Windows-1252 punctuation read as Latin-1): the characters a campaign text refuses
 * (validation.ts). The import refuses them in values since it was fixed; a
 * list imported before holds them still, and each would be sent invisibly and switch the message to UCS-2.
 */
export function holdsControlCharacter(value: string): boolean {
  return CONTROL_CHARACTER.test(value);
}

/**
 * The last text rendered, parsed and checked: a run renders one text for every contact of its list, and parsing it
 * for each of them doubled the time a 1M-contact start spends rendering.
 */
let lastParsed: { template: string; parts: TemplatePart[]; refusal: string | null } | null = null;

function parsedForRendering(template: string): { parts: TemplatePart[]; refusal: string | null } {
  if (lastParsed?.template === template) return lastParsed;
  // Checked at create; here again so that no stored text can ever send braces.
  const stray = strayBraces(template);
  const dlt = stray === null ? dltVariable(template) : null;
  const refusal = stray !== null ? `an incomplete placeholder near "${stray}"` : dlt !== null ? `a DLT variable ${dlt} in the text` : null;
  lastParsed = { template, parts: parseTemplate(template), refusal };
  return lastParsed;
}

export function renderTemplate(template: string, variables: Readonly<Record<string, string>>): RenderResult {
  const { parts, refusal } = parsedForRendering(template);
  if (refusal !== null) return { ok: false, missing: [refusal] };
  const lookup = new Map(Object.entries(variables).map(([k, v]) => [normaliseVariableName(k), v]));
  const missing: string[] = [];
  const placeholderValues: string[] = [];
  const controlValues: string[] = [];
  let text = '';
  for (const part of parts) {
    if (part.kind === 'literal') {
      text += part.text;
      continue;
    }
    const value = lookup.get(normaliseVariableName(part.name));
    if (value === undefined || value === '') {
      missing.push(part.name);
      continue;
    }
    if (holdsPlaceholder(value)) placeholderValues.push(part.name);
    if (holdsControlCharacter(value)) controlValues.push(part.name);
    text += value;
  }
  if (missing.length) return { ok: false, missing: [...new Set(missing)] };
  if (placeholderValues.length) return { ok: false, placeholderValues: [...new Set(placeholderValues)] };
  if (controlValues.length) return { ok: false, controlValues: [...new Set(controlValues)] };
  return { ok: true, text };
}

/**
 * `{{phone}}` (and `--var phone`): the recipient's own number as stored (E.164, `+919876543210`). The import keeps
 * the phone column out of a contact's variables, so without this a placeholder naming the column the list plainly
 * has was refused as "not a column". A variable of the list that is itself called phone wins (the recipient's number
 * is only the fallback).
 */
export const RECIPIENT_PHONE = 'phone';

/** The contact's variables with `phone` added as the recipient's number unless the list has a column of that name. */
export function withRecipientPhone(variables: Readonly<Record<string, unknown>>, phone: string): Record<string, unknown> {
  return { [RECIPIENT_PHONE]: phone, ...variables };
}
