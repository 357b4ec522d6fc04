/**
 * Field rules for a new campaign (pure): name, type, DLT sender header, content, DLT ids, pack size. Errors name
 * each input through the caller's namer (`--pack` on the CLI, `packSize` over HTTP; errors.ts InputNamer).
 */
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

/** Largest comma list we put in one request; 2Factor documents no maximum (reference §7), so stay modest. */
export const MAX_PACK_SIZE = 100;
/** As a list name's limit (import-contacts.ts MAX_LIST_NAME): the HTTP API had it, `campaign create` did not. */
export const MAX_CAMPAIGN_NAME = 200;

const DIGITS = /^\d{1,30}$/;

export function validateSender(type: CampaignType, from: string, rules: SenderRules): string {
  const pattern = type === 'transactional' ? rules.transactional : rules.promotional;
  const human =
    type === 'transactional'
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
  const stray = hasText ? strayBraces(input.text!) : null;
  if (stray !== null) {
    throw new ValidationError((n) => `${n('text')}: "${stray}" has an incomplete placeholder (write {{column}}, with two braces each side)`, 'text');
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
