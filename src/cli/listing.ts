/** What the listing commands (`campaign list`, `list ls`) share: their paging options and the human table. */
import { formatIst } from '../campaign/send-window';
import { ValidationError } from '../errors';
import { cutToWidth, displayWidth, padToWidth } from './display-width';

/** `--limit`: digits only (Number() took '1e2', ' ' and '0x10'); the range is the listing's own to check. */
export function parseLimit(raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  if (!/^\d{1,9}$/.test(raw)) throw new ValidationError(`--limit: "${raw}" is not a whole number`, 'limit');
  return Number(raw);
}

/** The command that prints the next page: the same filters, and the cursor the last page ended on. */
export function nextPageHint(command: string, nextCursor: string | null, options: readonly (string | undefined)[]): string[] {
  return nextCursor ? [`more: ${[command, ...options.filter(Boolean), `--cursor ${nextCursor}`].join(' ')}`] : [];
}

export interface Column<T> {
  header: string;
  value: (row: T) => string;
  /** Numbers read best right-aligned. */
  align?: 'right';
  /** Longer values (in terminal columns) are cut, ending in `…` (free-form names would push every other column off the screen). */
  max?: number;
}

/**
 * Control characters in a stored name (a newline, an ANSI escape sent through the API) would break the row or
 * drive the operator's terminal: shown as spaces. So are the bidirectional embedding, override and isolate controls
 * (U+202A–U+202E, U+2066–U+2069): a name holding U+202E (right-to-left override) drew the rest of its row, counts
 * included, reversed. Other format characters stay (the zero-width joiner holds emoji sequences together).
 */
export const printable = (text: string): string => text.replace(/[\p{Cc}\u202A-\u202E\u2066-\u2069]/gu, ' ');

function cut(text: string, max: number | undefined): string {
  return max !== undefined ? cutToWidth(text, max) : text;
}

/** Columns padded to their widest cell in terminal columns (display-width.ts), so Hindi, CJK or emoji names line up. */
export function formatTable<T>(rows: readonly T[], columns: readonly Column<T>[]): string {
  const cells = rows.map((row) => columns.map((col) => cut(printable(col.value(row)), col.max)));
  const widths = columns.map((col, i) => Math.max(displayWidth(col.header), ...cells.map((r) => displayWidth(r[i]!))));
  const line = (values: readonly string[]) =>
    values
      .map((v, i) => padToWidth(v, widths[i]!, columns[i]!.align))
      .join('  ')
      .trimEnd();
  return [line(columns.map((c) => c.header)), ...cells.map(line)].join('\n');
}

/** A time column: IST to the minute (`2026-11-30 22:00 IST`), one zone for the whole column so rows compare; `-` when unset. */
export const istOrDash = (at: Date | null): string => (at ? formatIst(at) : '-');
