/**
 * Phone numbers → E.164 (libphonenumber-js, "max" metadata so the number type is known). Pure.
 *
 * libphonenumber costs ~20 µs per number here, which alone would be 20 s for a 1M-row file. The fast path
 * below handles the overwhelmingly common Indian mobile spellings (10 digits with an optional `+91`, `91`,
 * `0091` or `0` prefix and the usual separators) with libphonenumber's OWN mobile pattern for IN, read from
 * its metadata. It only ever *accepts*; anything it does not recognise goes to libphonenumber, which also
 * produces the rejection reasons. test/unit/import/phone-fast-path.test.ts proves the two agree.
 */
import { parsePhoneNumberFromString, validatePhoneNumberLength, type CountryCode } from 'libphonenumber-js/max';
import maxMetadata from 'libphonenumber-js/metadata.max.json';

export type PhoneResult = { ok: true; e164: string } | { ok: false; reason: string };

const ACCEPTED_TYPES = new Set(['MOBILE', 'FIXED_LINE_OR_MOBILE']);

const LENGTH_REASONS: Record<string, string> = {
  TOO_SHORT: 'too short',
  TOO_LONG: 'too long',
  NOT_A_NUMBER: 'not a phone number',
  INVALID_COUNTRY: 'unknown country calling code',
  INVALID_LENGTH: 'invalid length',
};

const TYPE_NAMES: Record<string, string> = {
  FIXED_LINE: 'a fixed line',
  TOLL_FREE: 'a toll-free number',
  PREMIUM_RATE: 'a premium-rate number',
  SHARED_COST: 'a shared-cost number',
  VOIP: 'a VoIP number',
  PERSONAL_NUMBER: 'a personal number',
  PAGER: 'a pager number',
  UAN: 'a UAN number',
  VOICEMAIL: 'a voicemail number',
};

/** The anchored IN mobile pattern from libphonenumber's metadata, or null if its layout ever changes. */
function indianMobilePattern(): RegExp | null {
  const plan: unknown = (maxMetadata as { countries: Record<string, unknown> }).countries.IN;
  if (!Array.isArray(plan) || plan[0] !== '91') return null;
  const types: unknown = plan[11];
  if (!Array.isArray(types)) return null;
  const mobile: unknown = types[1];
  if (!Array.isArray(mobile) || typeof mobile[0] !== 'string') return null;
  const lengths: unknown = mobile[1];
  // The fast path assumes every Indian mobile number has exactly 10 national digits.
  if (!Array.isArray(lengths) || lengths.length !== 1 || lengths[0] !== 10) return null;
  return new RegExp(`^(?:${mobile[0]})$`);
}

const IN_MOBILE = indianMobilePattern();
/** Optional +91 / 0091 / 91 / 0 prefix, then 10 digits, after separators are removed. */
const IN_SPELLING = /^(?:\+91|0091|91|0)?(\d{10})$/;
const SEPARATORS = /[\s\-.()]/g;

/** The fast path: an accepted E.164 number, or null when libphonenumber must decide. */
export function fastIndianMobile(raw: string): string | null {
  if (IN_MOBILE === null) return null;
  const compact = raw.replace(SEPARATORS, '');
  const m = IN_SPELLING.exec(compact);
  if (m === null) return null;
  const national = m[1]!;
  return IN_MOBILE.test(national) ? `+91${national}` : null;
}

/** Digits of the Indian scripts (Devanagari, Bengali, Gurmukhi, Gujarati, Oriya, Tamil, Telugu, Kannada, Malayalam). */
const INDIC_DIGITS = /[\u0966-\u096F\u09E6-\u09EF\u0A66-\u0A6F\u0AE6-\u0AEF\u0B66-\u0B6F\u0BE6-\u0BEF\u0C66-\u0C6F\u0CE6-\u0CEF\u0D66-\u0D6F]/g;
/** What spreadsheets do to long numbers: `9.19876543210E+11`, or `9876543210.0` after a float round trip. */
const SCIENTIFIC = /^(\d)(?:\.(\d+))?e\+?(\d{1,2})$/i;
const TRAILING_ZERO_DECIMALS = /^(\d+)\.0+$/;

/** Undoes spreadsheet damage where that is lossless; a reason when digits were lost. */
function repairSpreadsheetNumber(value: string): { value: string } | { reason: string } {
  const sci = SCIENTIFIC.exec(value);
  if (sci) {
    const mantissa = sci[1]! + (sci[2] ?? '');
    const digits = Number(sci[3]) + 1;
    if (mantissa.replace(/0+$/, '').length > digits) return { reason: 'not a phone number (scientific notation)' };
    if (mantissa.length < digits) {
      return { reason: 'in scientific notation, digits lost (format the column as text in the spreadsheet and export again)' };
    }
    return { value: mantissa.slice(0, digits) };
  }
  const decimal = TRAILING_ZERO_DECIMALS.exec(value);
  return { value: decimal ? decimal[1]! : value };
}

/**
 * Spreadsheets drop a leading `+` (they take it for a sign): `+447911123456` comes as `447911123456`, invalid for the
 * default country. Said when the digits with a `+` make a valid mobile number — never accepted that way: a national
 * number that happens to look like another country's must not be sent abroad.
 */
function lostPlus(value: string): string {
  const digits = value.replace(SEPARATORS, '');
  if (!/^[1-9]\d{7,14}$/.test(digits)) return '';
  const international = parsePhoneNumberFromString(`+${digits}`);
  const type = international?.isValid() ? international.getType() : undefined;
  if (type === undefined || !ACCEPTED_TYPES.has(type)) return '';
  return ` (${international!.number} is a valid number: was the + lost?)`;
}

/** What people put between two numbers in one cell: `/`, `,`, `;`, `&`, `|`, a line break, "or", "and". */
const BETWEEN_NUMBERS = /\s*(?:[/,;&|\r\n]|\b(?:or|and)\b)\s*/i;

/** The reference path (libphonenumber only). Exported for the agreement test. */
export function slowNormalise(raw: string, country: CountryCode): PhoneResult {
  const one = parseOne(raw, country);
  // Short cells only: a long one split into thousands of parts would cost as many parses for one reason's wording.
  if (one.ok || raw.length > 80 || !BETWEEN_NUMBERS.test(raw)) return one;
  // `9876543210 / 9876543211`, `…, …`: libphonenumber calls that "too long" or "not a phone number", which sends the
  // operator looking for a typo; only `;` came out as an extension and so as two numbers (below).
  const valid = raw.split(BETWEEN_NUMBERS).filter((part) => part.trim() !== '' && parseOne(part, country).ok);
  return valid.length >= 2 ? { ok: false, reason: 'holds more than one number (one per row)' } : one;
}

function parseOne(raw: string, country: CountryCode): PhoneResult {
  const trimmed = raw.trim().replace(INDIC_DIGITS, (d) => String((d.charCodeAt(0) & 0x7f) - 0x66));
  if (trimmed === '') return { ok: false, reason: 'phone number is empty' };
  const repaired = repairSpreadsheetNumber(trimmed);
  if ('reason' in repaired) return { ok: false, reason: repaired.reason };
  const value = repaired.value;
  const parsed = parsePhoneNumberFromString(value, country);
  if (!parsed) {
    const why = validatePhoneNumberLength(value, country) ?? 'NOT_A_NUMBER';
    const detail = LENGTH_REASONS[why] ?? why;
    return { ok: false, reason: why === 'NOT_A_NUMBER' ? detail : `invalid number (${detail})${lostPlus(value)}` };
  }
  if (!parsed.isValid()) {
    const why = validatePhoneNumberLength(value, country);
    const detail = why ? LENGTH_REASONS[why] : undefined;
    const where = parsed.country ?? `+${parsed.countryCallingCode}`;
    return { ok: false, reason: `${detail ? `invalid number (${detail})` : `invalid number for ${where}`}${lostPlus(value)}` };
  }
  if (parsed.ext) {
    // `9876543210;9876543211` or `… / …`: libphonenumber reads the second number as an extension of the first.
    const second = parsePhoneNumberFromString(parsed.ext, country);
    if (parsed.ext.length >= 7 && second?.isValid()) return { ok: false, reason: 'holds more than one number (one per row)' };
    return { ok: false, reason: 'has an extension (SMS needs a plain mobile number)' };
  }
  const type = parsed.getType();
  if (type === undefined || !ACCEPTED_TYPES.has(type)) {
    return { ok: false, reason: `not a mobile number (${type ? (TYPE_NAMES[type] ?? type) : 'unknown type'})` };
  }
  return { ok: true, e164: parsed.number };
}

/**
 * libphonenumber reports unparsable input by throwing and catching its own ParseError internally; the
 * stack trace each one captured cost ~15 µs, i.e. most of the time spent on a file's invalid rows.
 * Synchronous, so no other code runs while the limit is lowered.
 */
function withoutStackTraces<T>(fn: () => T): T {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return fn();
  } finally {
    Error.stackTraceLimit = limit;
  }
}

/** Normalise one raw phone value to E.164 for `country` (default country for numbers without a + prefix). */
export function normalisePhone(raw: string, country: CountryCode = 'IN'): PhoneResult {
  if (country === 'IN') {
    const fast = fastIndianMobile(raw);
    if (fast !== null) return { ok: true, e164: fast };
  }
  return withoutStackTraces(() => slowNormalise(raw, country));
}
