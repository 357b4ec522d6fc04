/**
 * Readable → decoded text → delimiter detection → records in batches, with the header row split off.
 * Shared by contact import and suppression import. Every failure becomes an ImportError naming the file
 * and line.
 */
import { DecodeError, TextSource } from './decode';
import { countLineBreaks, CsvParser, CsvSyntaxError, type CsvRecord } from './csv-parser';
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

  async function* batches(): AsyncGenerator<CsvRecord[], void, undefined> {
    try {
      let pending = p.push(sample, done);
      sample = '';
      for (;;) {
        const rows = pending.filter((r) => !blank(r));
        if (rows.length) yield rows;
        if (done) return;
        const r = await chunks.next();
        if (r.done) {
          done = true;
          pending = p.push('', true);
        } else pending = p.push(r.value);
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
