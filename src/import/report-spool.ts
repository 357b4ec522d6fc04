/**
 * The reject report lists every rejected row in source-line order, but which rows are duplicates is only
 * known once the whole file is in (duplicates.ts). Until then the importer spools, in line order, the
 * rows it rejected and the rows that may still turn out to be duplicates (the Bloom filter's "maybe seen");
 * at the end `writeReport` merges that spool with the duplicate verdicts, also in line order, into the
 * report. Both are streamed, so memory stays flat whatever the file holds.
 *
 * The spool is JSON lines: a raw row may contain newlines, NULs or anything else, and JSON escapes all of
 * them onto one line. Its file is removed from the directory as soon as it is opened and used through the open
 * descriptor only: raw rows (names, numbers) never outlive the import, even one killed with SIGKILL (a spool of
 * 9.5 MB was left behind for good that way).
 */
import { closeSync, createReadStream, createWriteStream, mkdirSync, openSync, unlinkSync, type WriteStream } from 'node:fs';
import { once } from 'node:events';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { PRIVATE_DIR, PRIVATE_FILE } from '../lib/private-files';
import type { RejectEntry, RejectReport } from './reject-report';

/** A rejected row, or (two elements) a row that may be a later occurrence of an earlier number. */
type SpoolRecord = [line: number, raw: string, column: string, reason: string] | [line: number, raw: string];

export interface DuplicateVerdict {
  line: number;
  /** The line whose occurrence of the number was kept. */
  kept: number;
  phone: string;
}

export class ReportSpool {
  private stream: WriteStream | null = null;
  private fd: number | null = null;
  private failed: Error | null = null;
  readonly path: string;

  constructor(dir: string, fileBase: string) {
    this.path = path.resolve(dir, `${fileBase}.spool`);
  }

  /** Rejected rows and maybe-duplicates of one batch; callers pass batches in line order. */
  async write(rejects: readonly RejectEntry[], maybeDuplicates: readonly { line: number; rawRow: string }[]): Promise<void> {
    if (rejects.length === 0 && maybeDuplicates.length === 0) return;
    if (this.failed) throw this.failed;
    if (!this.stream) {
      mkdirSync(path.dirname(this.path), { recursive: true, mode: PRIVATE_DIR });
      this.fd = openSync(this.path, 'w+', PRIVATE_FILE);
      unlinkSync(this.path);
      this.stream = createWriteStream('', { fd: this.fd, autoClose: false });
      this.stream.on('error', (err) => (this.failed = err));
    }
    const records: SpoolRecord[] = rejects.map((e) => [e.line, e.raw, e.column, e.reason]);
    for (const m of maybeDuplicates) records.push([m.line, m.rawRow]);
    records.sort((a, b) => a[0] - b[0]);
    let chunk = '';
    for (const r of records) chunk += `${JSON.stringify(r)}\n`;
    if (!this.stream.write(chunk)) await once(this.stream, 'drain');
  }

  /** The spooled records in line order (closes the spool for writing). */
  async *records(): AsyncGenerator<SpoolRecord> {
    if (!this.stream) return;
    const s = this.stream;
    await new Promise<void>((resolve, reject) => s.end((err?: Error | null) => (err ? reject(err) : resolve())));
    if (this.failed) throw this.failed;
    // Read from the start through the same descriptor (positional reads; the file has no name any more).
    const input = createReadStream('', { fd: this.fd!, start: 0, encoding: 'utf8', autoClose: false });
    const lines = createInterface({ input, crlfDelay: Infinity });
    try {
      for await (const line of lines) yield JSON.parse(line) as SpoolRecord;
    } finally {
      // Destroying the stream closes the descriptor once its last read is done (never under a read in flight).
      input.destroy();
      if (!input.closed) await once(input, 'close');
      this.fd = null;
    }
  }

  async discard(): Promise<void> {
    if (this.stream && !this.stream.writableFinished) {
      const s = this.stream;
      await new Promise<void>((resolve) => s.end(() => resolve()));
    }
    if (this.fd !== null) {
      closeSync(this.fd);
      this.fd = null;
    }
  }
}

/**
 * Writes the report: every spooled reject, and each spooled maybe-duplicate that the verdicts name (both in
 * line order). A verdict for a line the spool does not hold means the two disagree about the file: the
 * import fails rather than publish a report that miscounts.
 */
export async function writeReport(
  spool: ReportSpool,
  verdicts: AsyncIterable<DuplicateVerdict[]>,
  report: RejectReport,
  phoneColumn: string,
): Promise<void> {
  const pending = flatten(verdicts);
  const nextVerdict = async (): Promise<DuplicateVerdict | undefined> => (await pending.next()).value ?? undefined;
  let out: RejectEntry[] = [];
  let verdict = await nextVerdict();
  for await (const rec of spool.records()) {
    if (rec.length === 4) out.push({ line: rec[0], raw: rec[1], column: rec[2], reason: rec[3] });
    else if (verdict && verdict.line === rec[0]) {
      out.push({ line: rec[0], raw: rec[1], column: phoneColumn, reason: `duplicate of line ${verdict.kept}: ${verdict.phone}` });
      verdict = await nextVerdict();
    }
    if (out.length >= 1000) {
      await report.write(out);
      out = [];
    }
  }
  await report.write(out);
  if (verdict) throw new Error(`duplicate on line ${verdict.line} is not among the spooled rows: report and contacts disagree`);
}

async function* flatten<T>(pages: AsyncIterable<T[]>): AsyncGenerator<T, undefined> {
  for await (const page of pages) yield* page;
  return undefined;
}
