/**
 * One CSV record → a contact row (E.164 phone + variables) or a reject entry. Pure.
 *
 * The variables are built directly as a COPY text field (JSON with its backslashes doubled): escaping
 * whole JSON strings afterwards was once the importer's largest JS cost, and most values need no escaping.
 */
import type { CountryCode } from 'libphonenumber-js/max';
import type { ContactRow } from './contact-writer';
import type { CsvRecord } from './csv-parser';
import { cleanHeader, type ColumnMapping } from './detect';
import { c0ControlReason, C0_CONTROL } from './control-characters';
import { normalisePhone } from './phone';
import type { RejectEntry } from './reject-report';

/** C0 controls other than tab/LF/CR, and DEL: only looked for to tell a field past the header that holds nothing. */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROLS = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]/g;

/**
 * Excel's text-forcing formula `="00123"`: exports write it so leading zeros survive opening the file in Excel, which
 * shows the text inside. Read as it is, `{{customer_id}}` sent `="00123"` in the SMS.
 */
const EXCEL_TEXT = /^="((?:[^"]|"")*)"$/;
const EQUALS = 61;

function excelText(value: string): string {
  if (value.charCodeAt(0) !== EQUALS) return value;
  const m = EXCEL_TEXT.exec(value);
  return m ? m[1]!.replace(/""/g, '"') : value;
}

function clean(value: string): string {
  return excelText(value.trim());
}

/** A field past the header's last column, as a value for the message about it; empty when it holds nothing. */
function extraValue(value: string): string {
  return clean(value).replace(CONTROLS, '');
}

/** Raw values quoted in a reason are cut so a 1 MB cell does not make a 1 MB reason. */
function quote(raw: string): string {
  return raw.length > 40 ? `${raw.slice(0, 40)}…` : raw;
}

/** Characters JSON must escape inside a string. */
// eslint-disable-next-line no-control-regex -- control characters are exactly what needs escaping
const JSON_SPECIAL = /["\\\u0000-\u001F]/;
const BACKSLASH = /\\/g;

/**
 * JSON text of a value as it goes into a COPY text field. JSON itself escapes every control character
 * (tab and newline included), so the only COPY escape left to add is doubling JSON's backslashes.
 */
export function copyJson(value: string): string {
  if (!JSON_SPECIAL.test(value)) return `"${value}"`;
  return JSON.stringify(value).replace(BACKSLASH, '\\\\');
}

export type MappedRow = { ok: true; row: ContactRow } | { ok: false; entry: RejectEntry };

export class RowMapper {
  /** `"name":` per variable column, JSON-escaped once instead of per row. */
  private readonly keys: string[];
  private readonly indexes: number[];
  private readonly optional: boolean[];
  private readonly headers: string[];
  private readonly width: number;
  private readonly phoneHeaderKey: string;
  /** Rows shorter than the header that were accepted (their missing trailing fields read as empty). */
  shortRows = 0;

  constructor(
    private readonly mapping: ColumnMapping,
    private readonly country: CountryCode,
    private readonly maxColumns: number,
    headerWidth: number,
  ) {
    this.keys = mapping.variables.map((v) => `${copyJson(v.name)}:`);
    this.indexes = mapping.variables.map((v) => v.index);
    this.optional = mapping.variables.map((v) => v.optional);
    this.headers = mapping.variables.map((v) => v.header);
    this.width = headerWidth;
    this.phoneHeaderKey = mapping.phoneHeader.toLowerCase();
  }

  map(rec: CsvRecord): MappedRow {
    const f = rec.fields;
    if (f.length > this.maxColumns) {
      return this.reject(rec, '', `${f.length} fields, more than the limit of ${this.maxColumns}`);
    }
    if (f.length > this.width) {
      // Trailing empty fields are what spreadsheets export after a cleared cell; a value past the header's last
      // column is most often a row shifted by an unquoted delimiter, so its values would land in the wrong columns.
      for (let i = this.width; i < f.length; i++) {
        const extra = extraValue(f[i]!);
        if (extra !== '') {
          return this.reject(
            rec,
            '',
            `field ${i + 1} of line ${rec.line} holds "${quote(extra)}" but the header has only ${this.width} columns (an unquoted delimiter in a value?)`,
          );
        }
      }
    }
    if (f.length <= this.mapping.phoneIndex) {
      return this.reject(
        rec,
        this.mapping.phoneHeader,
        `line ${rec.line} has ${f.length} field${f.length === 1 ? '' : 's'} and ends before the phone column (field ${this.mapping.phoneIndex + 1} of ${this.width})`,
      );
    }
    // One test of the record's text says whether any of its values can hold a control character (almost never): the
    // values are only looked at one by one then.
    const controls = C0_CONTROL.test(rec.raw);
    const raw = f[this.mapping.phoneIndex]!.trim();
    // A control character is refused in the phone as in any other column (C1 ones fail the whole file earlier, in
    // csv-table.ts): the row's data is damaged, and the number would otherwise be read past it or refused quoting it.
    if (controls && C0_CONTROL.test(raw)) return this.reject(rec, this.mapping.phoneHeader, c0ControlReason(raw)!);
    const phone = normalisePhone(excelText(raw), this.country);
    if (!phone.ok) {
      // Concatenated exports repeat the header mid-file; say so rather than "not a phone number".
      if (cleanHeader(raw).toLowerCase() === this.phoneHeaderKey) return this.reject(rec, this.mapping.phoneHeader, 'repeated header row');
      return this.reject(rec, this.mapping.phoneHeader, raw ? `${phone.reason}: ${quote(raw)}` : phone.reason);
    }
    let json = '{';
    // A short row's missing trailing fields read as empty values, like cells left blank.
    for (let k = 0; k < this.keys.length; k++) {
      const value = clean(f[this.indexes[k]!] ?? '');
      if (value === '' && this.optional[k]) continue;
      // Refused, not removed: removed, "Ravi<ESC>[31mRed" was sent as "Ravi[31mRed" and "Asha<BEL>Bell" as
      // "AshaBell", without a word; kept, it would be sent invisibly and switch the whole message to UCS-2.
      if (controls && C0_CONTROL.test(value)) return this.reject(rec, this.headers[k]!, c0ControlReason(value)!);
      if (json.length > 1) json += ',';
      json += this.keys[k]! + copyJson(value);
    }
    json += '}';
    if (f.length < this.width) this.shortRows++;
    return { ok: true, row: { phone: phone.e164, raw, variablesCopy: json, line: rec.line, rawRow: rec.raw } };
  }

  private reject(rec: CsvRecord, column: string, reason: string): MappedRow {
    return { ok: false, entry: { line: rec.line, raw: rec.raw, column, reason } };
  }
}
