/**
 * Incremental RFC 4180 CSV parser over decoded text, written for this importer because it must report the
 * FIRST source line of every record (records can span lines) and its raw text, accept CRLF, LF and lone
 * CR, and bound the memory an unclosed quote can take. Lines without a quote take a fast path
 * (indexOf + split); quoted records go through a small state machine. Lenient where spreadsheets are:
 * text after a closing quote is kept literally, a quote inside an unquoted field is a literal character.
 */
export interface CsvRecord {
  fields: string[];
  /** 1-based source line on which the record starts. */
  line: number;
  /** The record's source text without its line terminator. */
  raw: string;
}

export class CsvSyntaxError extends Error {
  constructor(
    readonly reason: string,
    readonly line: number,
    /** 1-based field of the record the fault is in, when known (the import names its column). */
    readonly field?: number,
  ) {
    super(`line ${line}${field === undefined ? '' : `, field ${field}`}: ${reason}`);
  }
}

const QUOTE = 34;
const CR = 13;
const LF = 10;
const INCOMPLETE = -1;
const CTRL_Z = 0x1a;

export class CsvParser {
  private buf = '';
  /** Line number at which `buf` starts. */
  private nextLine = 1;
  private readonly delimCode: number;

  constructor(
    private readonly delimiter: string,
    private readonly maxRecordChars: number,
    firstLine = 1,
  ) {
    this.nextLine = firstLine;
    if (delimiter.length !== 1) throw new RangeError('delimiter must be one character');
    this.delimCode = delimiter.charCodeAt(0);
  }

  /** Line number where the next record starts (for error messages about the stream). */
  get line(): number {
    return this.nextLine;
  }

  /** Line on which `text` would end if it were pushed now (locates a problem found in text not pushed yet). */
  lineAfter(text: string): number {
    return this.nextLine + countLineBreaks(this.buf + text);
  }

  /** Feeds text; returns every record completed by it. `final` = no more text follows. */
  push(text: string, final = false): CsvRecord[] {
    let s = this.buf + text;
    // DOS's end-of-file mark (Ctrl-Z), still written by some accounting exports, right after the last value: it is
    // not part of that value (a phone "9876543211^Z" would be refused for its control character).
    if (final && s.charCodeAt(s.length - 1) === CTRL_Z) s = s.slice(0, -1);
    const n = s.length;
    const out: CsvRecord[] = [];
    let pos = 0;
    let lf = -1;
    let cr = -1;
    let qt = -1;
    while (pos < n) {
      if (lf !== n && lf < pos) lf = indexOrEnd(s, '\n', pos);
      if (cr !== n && cr < pos) cr = indexOrEnd(s, '\r', pos);
      if (qt !== n && qt < pos) qt = indexOrEnd(s, '"', pos);
      const eol = lf < cr ? lf : cr;
      let end: number;
      let next: number;
      let fields: string[];
      const fast = qt > eol || qt === n;
      if (fast) {
        // Fast path: no quote before the end of this line.
        if (eol === n && !final) break;
        if (eol < n && s.charCodeAt(eol) === CR && eol + 1 === n && !final) break; // CR LF split across chunks?
        end = eol;
        next = eol === n ? n : s.charCodeAt(eol) === CR && s.charCodeAt(eol + 1) === LF ? eol + 2 : eol + 1;
        if (end - pos > this.maxRecordChars) throw this.tooLarge(this.nextLine);
        fields = s.slice(pos, end).split(this.delimiter);
      } else {
        fields = [];
        const r = this.quotedRecord(s, pos, final, fields);
        if (r === INCOMPLETE) break;
        end = r;
        next = end === n ? n : s.charCodeAt(end) === CR && s.charCodeAt(end + 1) === LF ? end + 2 : end + 1;
      }
      const raw = s.slice(pos, end);
      out.push({ fields, line: this.nextLine, raw });
      this.nextLine += fast ? 1 : 1 + countLineBreaks(raw);
      pos = next;
    }
    this.buf = pos < n ? s.slice(pos) : '';
    // A CR kept back because its LF may start the next chunk is a terminator, not part of the record: counted, a
    // record of exactly the limit failed the whole file whenever a chunk happened to end between CR and LF.
    const pending = this.buf.length - (this.buf.endsWith('\r') ? 1 : 0);
    if (pending > this.maxRecordChars) throw this.tooLarge(this.nextLine);
    if (final && this.buf.length) {
      // Only a quote that never closes leaves text unparsed at the end; the fields before it parse, which says which
      // field opened it (on a 100-column row, the line alone left the operator looking for it).
      const before: string[] = [];
      this.quotedRecord(this.buf, 0, true, before);
      throw new CsvSyntaxError('a quoted field is never closed (missing closing quote)', this.nextLine, before.length + 1);
    }
    return out;
  }

  private tooLarge(line: number): CsvSyntaxError {
    return new CsvSyntaxError(
      `record longer than the limit of ${this.maxRecordChars} characters (an unclosed quote?)`,
      line,
    );
  }

  /** Parses one record that contains a quote; returns the index of its end (terminator) or INCOMPLETE. */
  private quotedRecord(s: string, start: number, final: boolean, fields: string[]): number {
    const n = s.length;
    const limit = start + this.maxRecordChars;
    let i = start;
    for (;;) {
      let value: string;
      if (i < n && s.charCodeAt(i) === QUOTE) {
        value = '';
        let seg = i + 1;
        for (;;) {
          const q = s.indexOf('"', seg);
          if (q === -1 || q > limit) {
            if (n > limit) throw this.tooLarge(this.nextLine);
            return INCOMPLETE;
          }
          if (q + 1 === n && !final) return INCOMPLETE;
          if (s.charCodeAt(q + 1) === QUOTE) {
            value += s.slice(seg, q + 1);
            seg = q + 2;
            continue;
          }
          value += s.slice(seg, q);
          i = q + 1;
          break;
        }
        const stop = this.fieldEnd(s, i);
        if (stop === n && !final) return INCOMPLETE;
        if (stop > i && /[\r\n]/.test(value)) {
          // A quoted field that ran over a line break and then has text after its "closing" quote: a stray quote
          // opened it and the next row's quote closed it (`"Ravi⏎9876500003,"Meena"` swallowed Meena's row and
          // put her number in Ravi's message). Kept literally, it loses a contact; refuse the file instead.
          throw new CsvSyntaxError(
            'a quoted field runs over a line break and text follows its closing quote (a stray or unclosed quote?)',
            this.nextLine,
            fields.length + 1,
          );
        }
        value += s.slice(i, stop);
        i = stop;
      } else {
        const stop = this.fieldEnd(s, i);
        if (stop === n && !final) return INCOMPLETE;
        value = s.slice(i, stop);
        i = stop;
      }
      if (i > limit) throw this.tooLarge(this.nextLine);
      fields.push(value);
      if (i >= n) return n;
      const c = s.charCodeAt(i);
      if (c === this.delimCode) {
        i++;
        continue;
      }
      if (c === CR && i + 1 === n && !final) return INCOMPLETE;
      return i;
    }
  }

  /** Index of the next delimiter or line break at or after `from`, or s.length. */
  private fieldEnd(s: string, from: number): number {
    const d = this.delimCode;
    for (let i = from; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c === d || c === LF || c === CR) return i;
    }
    return s.length;
  }
}

function indexOrEnd(s: string, ch: string, from: number): number {
  const i = s.indexOf(ch, from);
  return i === -1 ? s.length : i;
}

/** Line breaks (CRLF, LF or lone CR) inside a record's raw text. */
export function countLineBreaks(raw: string): number {
  let count = 0;
  for (let i = 0; i < raw.length; i++) {
    const c = raw.charCodeAt(i);
    if (c === LF) count++;
    else if (c === CR) {
      count++;
      if (raw.charCodeAt(i + 1) === LF) i++;
    }
  }
  return count;
}
