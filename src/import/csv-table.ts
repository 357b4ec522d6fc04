/**
 * Readable → decoded text → delimiter detection → records in batches, with the header row split off.
 * Shared by contact import and suppression import. Every failure becomes an ImportError naming the file
 * and line.
 */
import { DecodeError, TextSource } from './decode';
import { countLineBreaks, CsvParser, CsvSyntaxError, type CsvRecord } from './csv-parser';
import { C1_CONTROL, c1ControlReason } from './control-characters';
import { cleanHeader, detectDelimiter, isBlank, parseBefore } from './detect';
import { ImportError } from './import-error';
import type { ImportLimits } from './limits';

const SAMPLE_CHARS = 64 * 1024;
const SAMPLE_LINES = 50;

export interface CsvTable {
  header: CsvRecord;
  delimiter: string;
  encoding(): string;
  bytesRead(): number;
  /** Non-blank data records, in batches of whatever one decoded chunk completed. */
  batches: AsyncGenerator<CsvRecord[], void, undefined>;
}

function countLines(s: string): number {
  let n = 0;
  for (let i = s.indexOf('\n'); i !== -1 && n < SAMPLE_LINES; i = s.indexOf('\n', i + 1)) n++;
  return n;
}

export async function openCsvTable(
  source: AsyncIterable<Buffer | string>,
  fileName: string,
  limits: ImportLimits,
): Promise<CsvTable> {
  const text = new TextSource(source, limits.maxFileBytes);
  const chunks = text.chunks();
  let parser: CsvParser | null = null;
  const fail = (err: unknown): never => {
    if (err instanceof DecodeError) {
      if (err.byteOffset === null) throw new ImportError({ file: fileName }, err.reason);
      // The line of the byte at fault: the text before it is what the parser (or, before it exists, the sample) holds
      // plus what the decoder had decoded up to that byte.
      const line = parser ? parser.lineAfter(err.textBefore) : 1 + countLineBreaks(sample + err.textBefore);
      throw new ImportError({ file: fileName, line }, `${err.reason} (byte offset ${err.byteOffset})`);
    }
    if (err instanceof CsvSyntaxError) {
      // The field's column by its header name (a fault in the header itself names none). A fault in the first
      // sample comes before the header was handed out: it is then the sample's first record before the fault.
      const fields = header?.fields ?? parseBefore(sample, delimiter, err.line, firstLine).find((r) => !blank(r))?.fields;
      const column = err.field !== undefined && fields ? cleanHeader(fields[err.field - 1] ?? '') : '';
      throw new ImportError({ file: fileName, line: err.line, ...(column ? { column } : {}) }, err.reason);
    }
    throw err;
  };

  let sample = '';
  let done = false;
  try {
    while (sample.length < SAMPLE_CHARS && countLines(sample) < SAMPLE_LINES) {
      const r = await chunks.next();
      if (r.done) {
        done = true;
        break;
      }
      sample += r.value;
    }
  } catch (err) {
    fail(err);
  }
  // Excel's "sep=;" first line names the delimiter explicitly (ended by CRLF, LF or, from Excel for Mac, a lone CR).
  const sep = /^sep=([,;\t|])(?:\r\n?|\n)/i.exec(sample);
  if (sep) sample = sample.slice(sep[0].length);
  const delimiter = sep ? sep[1]! : detectDelimiter(sample, done);
  const firstLine = sep ? 2 : 1;
  const p = new CsvParser(delimiter, limits.maxRecordChars, firstLine);
  parser = p;

  // Fast blank-line check on the raw text; only records made of whitespace, control characters, quotes and
  // delimiters get the exact (allocating) check on their fields.
  const meaningful = new RegExp(`[^\\s\\x00-\\x1F\\x7F"${delimiter === '\t' ? '\\t' : `\\${delimiter}`}]`);
  const blank = (r: CsvRecord): boolean => !meaningful.test(r.raw) && isBlank(r.fields);

  /**
   * A C1 control character (U+0080–U+009F) anywhere in the file fails the whole file at the first one, like bytes
   * that are not the file's encoding: it is the mark of a Windows-1252 file converted to UTF-8 as if it were Latin-1,
   * so every ’ “ ” – € … in the file is wrong, and the fix is converting the file again, not editing rows (thousands
   * of rejected rows and a half list to delete would say the same less clearly). Found per decoded chunk with one
   * precompiled test; only once a chunk holds one are records looked at, to name its line and column.
   */
  let c1Seen = false;
  let headerFields: string[] | undefined;
  const refuseC1 = (rows: readonly CsvRecord[]): void => {
    // Before the header was handed out, the batch's first record is the header.
    const header = headerFields ?? rows[0]?.fields ?? [];
    for (let i = 0; i < rows.length; i++) {
      const rec = rows[i]!;
      if (!C1_CONTROL.test(rec.raw)) continue;
      const field = rec.fields.findIndex((f) => C1_CONTROL.test(f));
      // A quoted cell may span lines: the line of the character itself.
      const line = rec.line + countLineBreaks(rec.raw.slice(0, rec.raw.search(C1_CONTROL)));
      const why = c1ControlReason(field === -1 ? rec.raw : rec.fields[field]!)!;
      if (headerFields === undefined && i === 0) {
        throw new ImportError({ file: fileName, line }, `field ${field + 1} of the header holds ${why}`);
      }
      const column = cleanHeader(header[field] ?? '') || `column ${field + 1}`;
      throw new ImportError({ file: fileName, line, column }, why);
    }
  };

  async function* batches(): AsyncGenerator<CsvRecord[], void, undefined> {
    try {
      c1Seen = C1_CONTROL.test(sample);
      let pending = p.push(sample, done);
      sample = '';
      for (;;) {
        const rows = pending.filter((r) => !blank(r));
        if (c1Seen) refuseC1(rows);
        if (headerFields === undefined && rows.length) headerFields = rows[0]!.fields;
        if (rows.length) yield rows;
        if (done) return;
        const r = await chunks.next();
        if (r.done) {
          done = true;
          pending = p.push('', true);
        } else {
          if (!c1Seen) c1Seen = C1_CONTROL.test(r.value);
          pending = p.push(r.value);
        }
      }
    } catch (err) {
      fail(err);
    } finally {
      await chunks.return(undefined);
    }
  }

  const all = batches();
  let header: CsvRecord | undefined;
  let first: CsvRecord[] = [];
  for (;;) {
    const r = await all.next();
    if (r.done) break;
    if (r.value.length) {
      header = r.value[0];
      first = r.value.slice(1);
      break;
    }
  }
  if (!header) throw new ImportError({ file: fileName }, 'the file has no rows (it is empty or only blank lines)');
  async function* withFirst(): AsyncGenerator<CsvRecord[], void, undefined> {
    if (first.length) yield first;
    first = [];
    yield* all;
  }
  return {
    header,
    delimiter,
    encoding: () => text.encoding,
    bytesRead: () => text.bytesRead,
    batches: withFirst(),
  };
}
