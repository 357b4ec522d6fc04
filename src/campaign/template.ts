/**
 * `{{column}}` personalisation. Pure. A placeholder whose variable is missing or empty, or whose value holds a
 * placeholder itself, makes the message fail with a reason: a literal `{{x}}` must never reach a phone.
 */
/** `{{ name }}`: a name with at least one visible character (`{{ }}` is an incomplete placeholder, see strayBraces). */
export const PLACEHOLDER = /\{\{\s*([^{}\s][^{}]*?)\s*\}\}/g;

export type RenderResult =
  | { ok: true; text: string }
  /** Variables missing or empty (or, described, the text's own stray braces or DLT variable). */
  | { ok: false; missing: string[] }
  /** Variables whose value holds a placeholder (holdsPlaceholder). */
  | { ok: false; placeholderValues: string[] };

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

export function placeholders(template: string): string[] {
  return [...new Set([...template.matchAll(PLACEHOLDER)].map((m) => m[1]!.trim()))];
}

/**
 * The first `{{` or `}}` that is not part of a complete placeholder (`{{ name }`, `{{}}`, `{{ }}`, `Hi {{name`), or
 * a third brace against one (`{{{name}}}`, the Handlebars habit, sent as "Hi {Asha}"), with a little context; null
 * when there is none. Such text used to be sent as it stood, braces and all.
 */
export function strayBraces(template: string): string | null {
  const rest = template.replace(PLACEHOLDER, (all) => ' '.repeat(all.length));
  const found = [rest.search(/\{\{|\}\}/), template.search(/\{\{\{|\}\}\}/)].filter((i) => i >= 0);
  if (!found.length) return null;
  const at = Math.min(...found);
  return template.slice(Math.max(0, at - 10), at + 12);
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

export function renderTemplate(template: string, variables: Readonly<Record<string, string>>): RenderResult {
  // Checked at create; here again so that no stored text can ever send braces.
  const stray = strayBraces(template);
  if (stray !== null) return { ok: false, missing: [`an incomplete placeholder near "${stray}"`] };
  const dlt = dltVariable(template);
  if (dlt !== null) return { ok: false, missing: [`a DLT variable ${dlt} in the text`] };
  const lookup = new Map(Object.entries(variables).map(([k, v]) => [normaliseVariableName(k), v]));
  const missing: string[] = [];
  const placeholderValues: string[] = [];
  const text = template.replace(PLACEHOLDER, (_all, name: string) => {
    const value = lookup.get(normaliseVariableName(name));
    if (value === undefined || value === '') {
      missing.push(name.trim());
      return '';
    }
    if (holdsPlaceholder(value)) placeholderValues.push(name.trim());
    return value;
  });
  if (missing.length) return { ok: false, missing: [...new Set(missing)] };
  if (placeholderValues.length) return { ok: false, placeholderValues: [...new Set(placeholderValues)] };
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
