/**
 * One CSV record → a contact row (E.164 phone + variables) or a reject entry. Pure.
 *
 * The variables are built directly as an element of a PostgreSQL text[] literal (JSON with `"` and `\`
 * backslash-escaped once more): escaping whole JSON strings afterwards was the importer's largest JS
 * cost, and most values need no escaping at all.
 */
import type { CountryCode } from 'libphonenumber-js/max';
import type { ContactRow } from './contact-writer';
import type { CsvRecord } from './csv-parser';
import { cleanHeader, type ColumnMapping } from './detect';
import { normalisePhone } from './phone';
import type { RejectEntry } from './reject-report';

/** C0 controls other than tab/LF/CR, and DEL: never wanted in an SMS, a log line or a terminal. */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]/g;

function clean(value: string): string {
  const v = value.trim();
  CONTROL.lastIndex = 0;
  return CONTROL.test(v) ? v.replace(CONTROL, '') : v;
}

/** Raw values quoted in a reason are cut so a 1 MB cell does not make a 1 MB reason. */
function quote(raw: string): string {
  return raw.length > 40 ? `${raw.slice(0, 40)}…` : raw;
}

/** Characters JSON must escape inside a string. */
// eslint-disable-next-line no-control-regex -- control characters are exactly what needs escaping
const JSON_SPECIAL = /["\\\u0000-\u001F]/;
const LITERAL_SPECIAL = /[\\"]/g;

/** JSON text of a value, escaped for a PostgreSQL array literal element. */
export function literalJson(value: string): string {
  if (!JSON_SPECIAL.test(value)) return `\\"${value}\\"`;
  return JSON.stringify(value).replace(LITERAL_SPECIAL, '\\$&');
}

export type MappedRow = { ok: true; row: ContactRow } | { ok: false; entry: RejectEntry };

export class RowMapper {
  /** `"name":` per variable column, JSON-escaped once instead of per row. */
  private readonly keys: string[];
  private readonly indexes: number[];
  private readonly optional: boolean[];
  private readonly width: number;
  private readonly phoneHeaderKey: string;

  constructor(
    private readonly mapping: ColumnMapping,
    private readonly country: CountryCode,
    private readonly maxColumns: number,
    headerWidth: number,
  ) {
    this.keys = mapping.variables.map((v) => `${literalJson(v.name)}:`);
    this.indexes = mapping.variables.map((v) => v.index);
    this.optional = mapping.variables.map((v) => v.optional);
    this.width = headerWidth;
    this.phoneHeaderKey = mapping.phoneHeader.toLowerCase();
  }

  map(rec: CsvRecord): MappedRow {
    const f = rec.fields;
    if (f.length > this.maxColumns) {
      return this.reject(rec, '', `${f.length} fields, more than the limit of ${this.maxColumns}`);
    }
    const raw = (f[this.mapping.phoneIndex] ?? '').trim();
    const phone = normalisePhone(raw, this.country);
    if (!phone.ok) {
      // Concatenated exports repeat the header mid-file; say so rather than "not a phone number".
      if (cleanHeader(raw).toLowerCase() === this.phoneHeaderKey) return this.reject(rec, this.mapping.phoneHeader, 'repeated header row');
      return this.reject(rec, this.mapping.phoneHeader, raw ? `${phone.reason}: ${quote(raw)}` : phone.reason);
    }
    let json = '{';
    for (let k = 0; k < this.keys.length; k++) {
      const value = clean(f[this.indexes[k]!] ?? '');
      if (value === '' && this.optional[k]) continue;
      if (json.length > 1) json += ',';
      json += this.keys[k]! + literalJson(value);
    }
    // Ragged rows: missing trailing fields are empty; extra non-empty ones are kept as column_<n>.
    for (let i = this.width; i < f.length; i++) {
      const extra = clean(f[i]!);
      if (extra !== '') json += `${json.length > 1 ? ',' : ''}${literalJson(`column_${i + 1}`)}:${literalJson(extra)}`;
    }
    json += '}';
    return { ok: true, row: { phone: phone.e164, raw, variablesLiteral: json, line: rec.line, rawRow: rec.raw } };
  }

  private reject(rec: CsvRecord, column: string, reason: string): MappedRow {
    return { ok: false, entry: { line: rec.line, raw: rec.raw, column, reason } };
  }
}
