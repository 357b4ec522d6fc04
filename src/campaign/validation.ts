/**
 * Field rules for a new campaign (pure): name, type, DLT sender header, content, DLT ids, pack size. Errors name
 * each input through the caller's namer (`--pack` on the CLI, `packSize` over HTTP; errors.ts InputNamer).
 */
import { CONTROL_CHARACTER } from '../import/control-characters';
import { refuseControlInName } from '../lib/names';
import { ValidationError } from '../errors';
import { dltVariable, strayBraces } from './template';

export type CampaignType = 'transactional' | 'promotional';

export interface RawCampaignFields {
  name: string;
  type: string;
  from: string;
  text?: string;
  template?: string;
  vars?: string[];
  peid?: string;
  ctid?: string;
  packSize?: number;
}

export interface CampaignFields {
  name: string;
  type: CampaignType;
  from: string;
  text?: string;
  template?: string;
  vars: string[];
  peid?: string;
  ctid?: string;
  packSize: number;
}

export interface SenderRules {
  transactional: string;
  promotional: string;
}

/** The sender rules when SENDER_PATTERN_TRANSACTIONAL / _PROMOTIONAL are not set (config.ts defaults to these). */
export const DEFAULT_SENDER_RULES: SenderRules = { transactional: '^[A-Za-z]{6}$', promotional: '^[0-9]{6}$' };

/** Largest comma list we put in one request; 2Factor documents no maximum (reference §7), so stay modest. */
export const MAX_PACK_SIZE = 100;
/** As a list name's limit (import-contacts.ts MAX_LIST_NAME): the HTTP API had it, `campaign create` did not. */
export const MAX_CAMPAIGN_NAME = 200;

const DIGITS = /^\d{1,30}$/;

/**
 * Characters no SMS should carry, which a text picks up when pasted: C0 controls other than tab/LF/CR (Word's
 * line break is U+000B), DEL, and C1 controls (U+0080–U+009F: Windows-1252 punctuation read as Latin-1, e.g. a
 * curly apostrophe arriving as U+0092). The import refuses them in values too (import/control-characters.ts); in
 * the text itself they would be sent invisibly and switch the whole message to UCS-2. Also a lone UTF-16 surrogate
 * (half an emoji, from a client that cut a string by code units): it cannot be encoded, and PostgreSQL and the
 * request would have stored and sent U+FFFD in its place.
 */
const UNSENDABLE = new RegExp(`${CONTROL_CHARACTER.source}|[\\uD800-\\uDBFF](?![\\uDC00-\\uDFFF])|(?<![\\uD800-\\uDBFF])[\\uDC00-\\uDFFF]`);

/** The first character of `text` that cannot be sent as it stands, described for an error; null when none. */
export function unsendableCharacter(text: string): string | null {
  const m = UNSENDABLE.exec(text);
  if (!m) return null;
  const code = `U+${m[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}`;
  const what = m[0] >= '\uD800' ? 'half of an emoji or other two-part character (an unpaired surrogate)' : 'a control character';
  // Characters counted as the operator sees them (code points), 1-based.
  const at = [...text.slice(0, m.index)].length + 1;
  return `${code}, ${what}, at character ${at}`;
}

export function validateSender(type: CampaignType, from: string, rules: SenderRules): string {
  const pattern = type === 'transactional' ? rules.transactional : rules.promotional;
  // The plain-words rule only describes the default pattern: with SENDER_PATTERN_* set otherwise it contradicted
  // the rule it was printed next to ("6 letters; rule ^[A-Z]{3,11}$").
  const human =
    pattern !== DEFAULT_SENDER_RULES[type]
      ? 'the sender must match SENDER_PATTERN_' + type.toUpperCase()
      : type === 'transactional'
        ? 'transactional DLT headers are 6 letters, e.g. TFCTOR'
        : 'promotional DLT headers are 6 digits, e.g. 123456';
  if (!new RegExp(pattern).test(from)) {
    throw new ValidationError((n) => `${n('from')}: sender "${from}" is not valid for a ${type} campaign (${human}; rule ${pattern})`, 'from');
  }
  // Alphabetic headers are registered in upper case.
  return /^[A-Za-z]+$/.test(from) ? from.toUpperCase() : from;
}

export function validateCampaignFields(input: RawCampaignFields, rules: SenderRules): CampaignFields {
  const name = input.name?.trim();
  if (!name) throw new ValidationError((n) => `${n('name')}: a campaign name is required`, 'name');
  if (name.length > MAX_CAMPAIGN_NAME) throw new ValidationError((n) => `${n('name')}: must be at most ${MAX_CAMPAIGN_NAME} characters`, 'name');
  refuseControlInName(name, 'name', 'a campaign name');
  if (input.type !== 'transactional' && input.type !== 'promotional') {
    throw new ValidationError((n) => `${n('type')}: "${input.type}" must be transactional or promotional`, 'type');
  }
  const type: CampaignType = input.type;
  const from = validateSender(type, (input.from ?? '').trim(), rules);

  const hasText = input.text !== undefined;
  const hasTemplate = input.template !== undefined;
  if (hasText === hasTemplate) {
    throw new ValidationError(
      (n) => `give exactly one of ${n('text')} (the message body) or ${n('template')} (a provider template name)`,
      hasText ? 'template' : 'text',
    );
  }
  if (hasText && input.text!.trim() === '') throw new ValidationError((n) => `${n('text')}: the message text is empty`, 'text');
  const unsendable = hasText ? unsendableCharacter(input.text!) : null;
  if (unsendable !== null) {
    throw new ValidationError((n) => `${n('text')}: holds ${unsendable}, which no SMS should carry (it would be sent invisibly or mangled); remove it`, 'text');
  }
  const stray = hasText ? strayBraces(input.text!) : null;
  if (stray !== null) {
    throw new ValidationError((n) => `${n('text')}: "${stray}" has an incomplete placeholder (write {{column}}, with two braces each side; for braces sent as they are, \\{{ or \\}})`, 'text');
  }
  const dlt = hasText ? dltVariable(input.text!) : null;
  if (dlt !== null) {
    throw new ValidationError(
      (n) =>
        `${n('text')}: ${dlt} is a DLT template variable and would be sent as it stands: write {{column}} where each value goes, ` +
        `or send the registered template with ${n('template')} and ${n('vars')}`,
      'text',
    );
  }
  if (hasTemplate && input.template!.trim() === '') throw new ValidationError((n) => `${n('template')}: the template name is empty`, 'template');
  // Sent in every request as the text is: a pasted control character or half an emoji would reach 2Factor mangled
  // (U+FFFD), and each message then fail on a template name nobody typed.
  const unsendableName = hasTemplate ? unsendableCharacter(input.template!) : null;
  if (unsendableName !== null) {
    throw new ValidationError((n) => `${n('template')}: holds ${unsendableName}, which no template name has; remove it`, 'template');
  }
  const vars = (input.vars ?? []).map((v) => v.trim());
  if (hasText && vars.length) throw new ValidationError((n) => `${n('vars')} is only used with ${n('template')} (use {{column}} in ${n('text')})`, 'vars');
  if (vars.some((v) => v === '')) throw new ValidationError((n) => `${n('vars')}: empty column name`, 'vars');

  for (const [id, value] of [['peid', input.peid], ['ctid', input.ctid]] as const) {
    // DLT ids are long digit strings: keep them as strings (never numbers, they exceed 2^53).
    if (value !== undefined && !DIGITS.test(value)) throw new ValidationError((n) => `${n(id)}: "${value}" must be digits only`, id);
  }

  const packSize = input.packSize ?? 1;
  if (!Number.isInteger(packSize) || packSize < 1 || packSize > MAX_PACK_SIZE) {
    throw new ValidationError((n) => `${n('packSize')}: ${input.packSize} must be a whole number from 1 to ${MAX_PACK_SIZE}`, 'packSize');
  }

  return {
    name,
    type,
    from,
    text: hasText ? input.text : undefined,
    template: hasTemplate ? input.template!.trim() : undefined,
    vars,
    peid: input.peid,
    ctid: input.ctid,
    packSize,
  };
}
