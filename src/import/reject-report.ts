/**
 * Reject report: CSV of `source_line,raw_row,column,reason`, created on the first entry only. Cells that a
 * spreadsheet would run as a formula (leading `=`, `+`, `-`, `@`, tab or CR) get a leading apostrophe.
 */
import { createWriteStream, mkdirSync, rmSync, type WriteStream } from 'node:fs';
import { once } from 'node:events';
import path from 'node:path';
import { PRIVATE_DIR, PRIVATE_FILE } from '../lib/private-files';

export interface RejectEntry {
  line: number;
  raw: string;
  column: string;
  reason: string;
}

const FORMULA_START = /^[=+\-@\t\r]/;

export function neutraliseCell(value: string): string {
  return FORMULA_START.test(value) ? `'${value}` : value;
}

export function csvCell(value: string): string {
  const safe = neutraliseCell(value);
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

export function formatRejectLine(e: RejectEntry): string {
  return `${e.line},${csvCell(e.raw)},${csvCell(e.column)},${csvCell(e.reason)}\n`;
}

export const REJECT_REPORT_HEADER = 'source_line,raw_row,column,reason\n';

export class RejectReport {
  private stream: WriteStream | null = null;
  private failed: Error | null = null;
  readonly path: string;

  constructor(dir: string, fileBase: string) {
    this.path = RejectReport.pathFor(dir, fileBase);
  }

  static pathFor(dir: string, fileBase: string): string {
    return path.resolve(dir, `${fileBase}-rejects.csv`);
  }

  get written(): boolean {
    return this.stream !== null;
  }

  /** Appends entries (already in line order); waits when the disk is slower than the import. */
  async write(entries: readonly RejectEntry[]): Promise<void> {
    if (entries.length === 0) return;
    if (this.failed) throw this.failed;
    if (!this.stream) {
      mkdirSync(path.dirname(this.path), { recursive: true, mode: PRIVATE_DIR });
      this.stream = createWriteStream(this.path, { mode: PRIVATE_FILE });
      this.stream.on('error', (err) => (this.failed = err));
      this.stream.write(REJECT_REPORT_HEADER);
    }
    let chunk = '';
    for (const e of entries) chunk += formatRejectLine(e);
    if (!this.stream.write(chunk)) await once(this.stream, 'drain');
  }

  /** Flushes and closes; returns the path, or null when nothing was rejected. */
  async close(): Promise<string | null> {
    if (!this.stream) return null;
    const s = this.stream;
    await new Promise<void>((resolve, reject) => s.end((err?: Error | null) => (err ? reject(err) : resolve())));
    if (this.failed) throw this.failed;
    return this.path;
  }

  /** After a failed import: no half report left behind. */
  async discard(): Promise<void> {
    if (!this.stream) return;
    const s = this.stream;
    await new Promise<void>((resolve) => s.end(() => resolve()));
    rmSync(this.path, { force: true });
  }
}
