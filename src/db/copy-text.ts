/**
 * PostgreSQL COPY text format (tab-separated, `\N` for NULL, backslash escapes), one row per line: the
 * archive's file format (it loads back with plain `COPY messages (<columns>) FROM STDIN` as well as
 * `bulksms restore`) and the contact import's bulk load.
 */
import type { PoolClient } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';

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

/**
 * Runs `COPY … FROM STDIN` with rows already in COPY text format (a string or its UTF-8 bytes); resolves with the rows PostgreSQL loaded.
 * One write of the whole text: the callers batch (thousands of rows) and one chunk is cheapest.
 */
export function copyText(client: PoolClient, sql: string, text: string | Buffer): Promise<number> {
  return new Promise((resolve, reject) => {
    const stream = client.query(copyFrom(sql));
    stream.on('error', reject);
    stream.on('finish', () => resolve(stream.rowCount));
    stream.end(text);
  });
}
