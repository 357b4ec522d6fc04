/** Detection on the first lines of a file (pure): the delimiter, the phone column, the variable names. */
import type { InputNamer } from '../errors';
import { normaliseVariableName } from '../campaign/template';
import { CsvParser, CsvSyntaxError, type CsvRecord } from './csv-parser';

export const DELIMITERS = [',', ';', '\t', '|'] as const;

/**
 * Nothing but whitespace and C0 control characters, a line with nothing to import: a last line holding only
 * DOS's end-of-file mark (Ctrl-Z, 0x1A, still written by some accounting exports) was a row, rejected for its phone.
 */
// eslint-disable-next-line no-control-regex -- control characters are what counts as empty here
const EMPTY_VALUE = /^[\s\u0000-\u001F\u007F]*$/;

function isBlank(fields: readonly string[]): boolean {
  return fields.every((f) => EMPTY_VALUE.test(f));
}

/**
 * The delimiter whose header splits into the most columns with the rows agreeing with it: parses the
 * sample once per candidate (quote-aware), prefers a candidate that yields >1 column, then the share of
 * rows with exactly the header's column count, then the column count. Falls back to ','.
 */
export function detectDelimiter(sample: string, complete: boolean): string {
  let best: { d: string; score: [number, number, number] } | null = null;
  for (const d of DELIMITERS) {
    let records: CsvRecord[];
    try {
      records = new CsvParser(d, Math.max(sample.length, 1)).push(sample, complete);
    } catch (err) {
      // A syntax error (an unclosed quote) further down does not make the delimiter wrong: judge it on the records
      // before the error, so the import then reports that error with its line — dropping the candidate made a
      // `;` file with one bad quote parse as a single `,` column, every variable lost.
      records = err instanceof CsvSyntaxError ? parseBefore(sample, d, err.line) : [];
    }
    const rows = records.filter((r) => !isBlank(r.fields)).slice(0, 50);
    if (rows.length === 0) continue;
    const width = rows[0]!.fields.length;
    const rest = rows.slice(1);
    const agree = rest.length ? rest.filter((r) => r.fields.length === width).length / rest.length : 1;
    const score: [number, number, number] = [width > 1 ? 1 : 0, agree, width];
    if (!best || compare(score, best.score) > 0) best = { d, score };
  }
  return best && best.score[0] === 1 ? best.d : ',';
}

/** The complete records of `sample` (whose first line is `firstLine`) that start before `line`. */
export function parseBefore(sample: string, delimiter: string, line: number, firstLine = 1): CsvRecord[] {
  const head = sample.split(/\r\n|\r|\n/).slice(0, line - firstLine);
  try {
    return new CsvParser(delimiter, Math.max(sample.length, 1), firstLine).push(head.length ? `${head.join('\n')}\n` : '', true);
  } catch {
    return [];
  }
}

function compare(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return 0;
}

/** Header cell as shown to people: BOMs and surrounding whitespace removed, inner whitespace collapsed. */
export function cleanHeader(cell: string): string {
  return cell.replace(/\uFEFF/g, '').replace(/\s+/g, ' ').trim();
}

function headerKey(cell: string): string {
  return cleanHeader(cell).toLowerCase().replace(/[^a-z0-9]/g, '');
}

/** Header keys that name the phone column exactly, best first. */
const EXACT = [
  'mobile', 'mobileno', 'mobilenumber', 'mobilephone', 'phone', 'phoneno', 'phonenumber', 'msisdn',
  'whatsapp', 'whatsappno', 'whatsappnumber', 'cell', 'cellphone', 'cellno', 'cellnumber', 'contact',
  'contactno', 'contactnumber', 'number', 'mob', 'mobno', 'tel', 'telephone', 'ph', 'phno',
];
/** Substrings that make a header a phone column when no header matches exactly. */
const PARTIAL = ['mobile', 'phone', 'msisdn', 'whatsapp', 'cell', 'contactno', 'contactnum'];

export interface ColumnMapping {
  phoneIndex: number;
  phoneHeader: string;
  /**
   * Every other column, with its variable name (normaliseVariableName of the header, unique). Columns
   * without a header are `column_<n>` and `optional`: stored only when the row has a value there.
   */
  variables: { index: number; name: string; optional: boolean; header: string }[];
}

/** `reason` names the phone-column input through the caller's namer (`--phone-column`, `phoneColumn`). */
export type MappingResult = { ok: true; mapping: ColumnMapping } | { ok: false; reason: (name: InputNamer) => string };

/**
 * The column `--phone-column` names: its header exactly (case-insensitive), else the one header equal to it
 * ignoring punctuation and spacing, else a 1-based column number. Never a match on an empty key (every Hindi or
 * Tamil header folds to one: the first column was taken) and never a guess between several (`Contact No` and
 * `Contact No.`): those are an error naming the candidates.
 */
function findNamedPhone(cleaned: string[], keys: string[], phoneColumn: string): number | { ambiguous: number[] } {
  const wanted = cleanHeader(phoneColumn).toLowerCase();
  const exact = cleaned.flatMap((h, i) => (h.toLowerCase() === wanted ? [i] : []));
  if (exact.length === 1) return exact[0]!;
  if (exact.length > 1) return { ambiguous: exact };
  const key = headerKey(phoneColumn);
  const loose = key === '' ? [] : keys.flatMap((k, i) => (k === key ? [i] : []));
  if (loose.length === 1) return loose[0]!;
  if (loose.length > 1) return { ambiguous: loose };
  // A 1-based column number, for files whose phone header is unhelpful.
  if (/^\d+$/.test(phoneColumn.trim())) {
    const index = Number(phoneColumn.trim()) - 1;
    return index >= 0 && index < keys.length ? index : -1;
  }
  return -1;
}

/** The phone column by its header, when none was named: the best exact name, else the best partial one. */
function findPhone(keys: string[]): number {
  let best = -1;
  let bestRank = Infinity;
  keys.forEach((key, i) => {
    const exact = EXACT.indexOf(key);
    const partial = PARTIAL.findIndex((p) => key.includes(p));
    const rank = exact !== -1 ? exact : partial !== -1 ? 1000 + partial : Infinity;
    if (rank < bestRank) {
      best = i;
      bestRank = rank;
    }
  });
  return best;
}

export function mapColumns(header: readonly string[], phoneColumn?: string): MappingResult {
  const cleaned = header.map(cleanHeader);
  const keys = cleaned.map(headerKey);
  const found = phoneColumn === undefined ? findPhone(keys) : findNamedPhone(cleaned, keys, phoneColumn);
  if (typeof found !== 'number') {
    const which = found.ambiguous.map((i) => `${JSON.stringify(cleaned[i])} (column ${i + 1})`).join(', ');
    return { ok: false, reason: (n) => `${n('phoneColumn')} "${phoneColumn}" matches several columns: ${which}; pass the column number` };
  }
  const phoneIndex = found;
  if (phoneIndex === -1) {
    const shown = cleaned.map((h) => JSON.stringify(h)).join(', ');
    return {
      ok: false,
      reason: (n) =>
        phoneColumn !== undefined
          ? `no column "${phoneColumn}" in the header (columns: ${shown})`
          : `no recognisable phone column in the header (columns: ${shown}); name it phone/mobile/msisdn or pass ${n('phoneColumn')}`,
    };
  }
  const used = new Set<string>();
  const variables: ColumnMapping['variables'] = [];
  cleaned.forEach((h, index) => {
    if (index === phoneIndex) return;
    // A placeholder's name cannot hold a brace: a header "Amount {INR}" made the variable amount_{inr}, which no
    // {{…}} could name (it was refused as an incomplete placeholder). Braces become separators: {{Amount INR}}.
    const base = normaliseVariableName(h.replace(/[{}]+/g, ' ')) || `column_${index + 1}`;
    let name = base;
    for (let k = 2; used.has(name); k++) name = `${base}_${k}`;
    used.add(name);
    // `header`: the column as the file names it, for reject reasons (`column N` when it has no header).
    variables.push({ index, name, optional: h === '', header: h || `column ${index + 1}` });
  });
  return { ok: true, mapping: { phoneIndex, phoneHeader: cleaned[phoneIndex] || `column ${phoneIndex + 1}`, variables } };
}

export { isBlank };
