/**
 * PostgreSQL COPY text format (tab-separated, `\N` for NULL, backslash escapes), one row per line, so
 * an archive file loads back with plain `COPY messages (<columns>) FROM STDIN` as well as `bulksms restore`.
 */
const ESCAPES: Record<string, string> = { '\\': '\\\\', '\n': '\\n', '\r': '\\r', '\t': '\\t' };
const UNESCAPES: Record<string, string> = { '\\': '\\', n: '\n', r: '\r', t: '\t', b: '\b', f: '\f', v: '\v' };

export function encodeField(value: string | null): string {
  if (value === null) return '\\N';
  return value.replace(/[\\\n\r\t]/g, (c) => ESCAPES[c]!);
}

export function encodeRow(values: readonly (string | null)[]): string {
  return `${values.map(encodeField).join('\t')}\n`;
}

export function decodeField(field: string): string | null {
  if (field === '\\N') return null;
  if (!field.includes('\\')) return field;
  return field.replace(/\\(.)/g, (_m, c: string) => UNESCAPES[c] ?? c);
}

/** One line without its trailing newline → values; throws naming the line when the column count is off. */
export function decodeRow(line: string, columns: number, lineNo: number): (string | null)[] {
  const fields = line.split('\t');
  if (fields.length !== columns) throw new Error(`line ${lineNo}: expected ${columns} fields, found ${fields.length}`);
  return fields.map(decodeField);
}
