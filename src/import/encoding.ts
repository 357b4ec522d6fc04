/**
 * Encoding detection (pure): BOMs, well-known binary formats, UTF-16 without BOM, UTF-8 vs Windows-1252.
 * Spreadsheet exports on Windows are often Windows-1252; decoding them as UTF-8 would store U+FFFD or
 * mojibake, so a sample that is not valid UTF-8 (and shows no UTF-8 multi-byte sequence) is Windows-1252.
 */
import { isUtf8 } from 'node:buffer';

export type TextEncoding = 'utf-8' | 'utf-16le' | 'utf-16be' | 'windows-1252';
/** `ascii` = no byte ≥ 0x80 seen yet: UTF-8 and Windows-1252 are still both possible. */
export type SniffedEncoding = TextEncoding | 'ascii';

/** `at` = the byte offset the failure is about, for failures that have one (where UTF-8 breaks in a mixed file). */
export type SniffResult = { ok: true; encoding: SniffedEncoding; bomLength: number } | { ok: false; reason: string; at?: number };

const MAGIC: ReadonlyArray<[number[], string | ((sample: Buffer) => string)]> = [
  [[0x50, 0x4b, 0x03, 0x04], zipKind],
  [[0xd0, 0xcf, 0x11, 0xe0], 'a legacy Excel .xls workbook; save it as "CSV UTF-8" first'],
  [[0x25, 0x50, 0x44, 0x46], 'a PDF document, not a CSV file'],
  [[0x1f, 0x8b], 'a gzip archive; decompress it first'],
  [[0x89, 0x50, 0x4e, 0x47], 'a PNG image, not a CSV file'],
  [[0xff, 0xd8, 0xff], 'a JPEG image, not a CSV file'],
  [[0x47, 0x49, 0x46, 0x38], 'a GIF image, not a CSV file'],
];

/**
 * What a ZIP file is, from the names of its entries (stored uncompressed in each entry's header, the first ones
 * within the sample): office files are ZIP archives, and an .xlsx renamed .csv was only guessed at, an .ods or a
 * .docx called "an Excel .xlsx workbook?".
 */
const ZIP_KINDS: ReadonlyArray<[string, string]> = [
  ['xl/workbook.xml', 'an Excel .xlsx workbook; save it as "CSV UTF-8" first'],
  ['application/vnd.oasis.opendocument.spreadsheet', 'an OpenDocument spreadsheet (.ods); save it as "CSV UTF-8" first'],
  ['word/document.xml', 'a Word .docx document, not a CSV file'],
];

function zipKind(sample: Buffer): string {
  const known = ZIP_KINDS.find(([marker]) => sample.includes(marker, 0, 'latin1'));
  return known ? known[1] : 'a ZIP archive (an Excel .xlsx workbook?); save it as "CSV UTF-8" first';
}

function startsWith(buf: Buffer, bytes: readonly number[]): boolean {
  return buf.length >= bytes.length && bytes.every((b, i) => buf[i] === b);
}

/** Index of the first well-formed-looking UTF-8 multi-byte sequence in the buffer, or -1. */
export function utf8MultibyteAt(buf: Buffer): number {
  for (let i = 0; i < buf.length - 1; i++) {
    const b = buf[i]!;
    if (b < 0xc2 || b > 0xf4) continue;
    const need = b >= 0xf0 ? 3 : b >= 0xe0 ? 2 : 1;
    let ok = i + need < buf.length;
    for (let k = 1; ok && k <= need; k++) ok = (buf[i + k]! & 0xc0) === 0x80;
    if (ok) return i;
  }
  return -1;
}

/**
 * How many bytes at the end of `buf` begin a UTF-8 multi-byte character that the buffer's end cuts off (a lead byte
 * and fewer continuation bytes than it announces), or 0.
 */
export function openUtf8Tail(buf: Buffer): number {
  for (let k = 1; k <= Math.min(3, buf.length); k++) {
    const b = buf[buf.length - k]!;
    if ((b & 0xc0) === 0x80) continue;
    if (b < 0xc2 || b > 0xf4) return 0;
    const length = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : 2;
    return length > k ? k : 0;
  }
  return 0;
}

/** True when the buffer holds at least one well-formed UTF-8 multi-byte sequence. */
export function hasUtf8Multibyte(buf: Buffer): boolean {
  return utf8MultibyteAt(buf) !== -1;
}

/**
 * Index of the first byte of the first ill-formed UTF-8 sequence (Unicode table 3-7: no overlongs, surrogates or
 * code points above U+10FFFF), or -1 when there is none. A sequence cut by the end of the buffer is ill-formed
 * only when `complete` (nothing follows). Used on error paths only, to say exactly where a file stops being UTF-8.
 */
export function utf8ErrorAt(buf: Buffer, complete: boolean): number {
  const n = buf.length;
  let i = 0;
  while (i < n) {
    const b = buf[i]!;
    if (b < 0x80) {
      i++;
      continue;
    }
    let need: number;
    let lo = 0x80;
    let hi = 0xbf;
    if (b >= 0xc2 && b <= 0xdf) need = 1;
    else if (b >= 0xe0 && b <= 0xef) {
      need = 2;
      if (b === 0xe0) lo = 0xa0;
      else if (b === 0xed) hi = 0x9f;
    } else if (b >= 0xf0 && b <= 0xf4) {
      need = 3;
      if (b === 0xf0) lo = 0x90;
      else if (b === 0xf4) hi = 0x8f;
    } else return i;
    for (let k = 1; k <= need; k++) {
      if (i + k >= n) return complete ? i : -1;
      const c = buf[i + k]!;
      if (k === 1 ? c < lo || c > hi : (c & 0xc0) !== 0x80) return i;
    }
    i += need + 1;
  }
  return -1;
}

/**
 * UTF-8 validity of a buffer that may end in the middle of a character (when more data follows). Only the start of
 * a character may be cut off: any last 1–3 bytes were once let off, so Windows-1252 text whose read ended in `€`
 * (0x80, a bare continuation byte) was judged UTF-8 and then refused as mixing encodings.
 */
export function isUtf8Prefix(buf: Buffer, complete: boolean): boolean {
  return isUtf8(complete ? buf : buf.subarray(0, buf.length - openUtf8Tail(buf)));
}

function utf16WithoutBom(sample: Buffer): 'utf-16le' | 'utf-16be' | null {
  const pairs = Math.floor(sample.length / 2);
  if (pairs < 4) return null;
  let evenNul = 0;
  let oddNul = 0;
  for (let i = 0; i < pairs * 2; i += 2) {
    if (sample[i] === 0) evenNul++;
    if (sample[i + 1] === 0) oddNul++;
  }
  if (oddNul / pairs > 0.4 && evenNul / pairs < 0.05) return 'utf-16le';
  if (evenNul / pairs > 0.4 && oddNul / pairs < 0.05) return 'utf-16be';
  return null;
}

/**
 * Share of control bytes (other than tab, CR, LF, FF) above which a file is treated as binary. Random
 * binary has ~10%; a text export with a stray bell or escape character in a name has far less than 5%.
 */
const CONTROL_SHARE = 0.05;

function controlShare(sample: Buffer): number {
  let n = 0;
  for (const b of sample) if ((b < 0x20 && b !== 9 && b !== 10 && b !== 13 && b !== 12) || b === 0x7f) n++;
  return n / sample.length;
}

/** `complete` = the sample is the whole file (so a trailing partial UTF-8 sequence is an error, not a cut). */
export function sniffEncoding(sample: Buffer, complete: boolean): SniffResult {
  if (sample.length === 0) return { ok: false, reason: 'the file is empty' };
  if (startsWith(sample, [0xff, 0xfe, 0x00, 0x00]) || startsWith(sample, [0x00, 0x00, 0xfe, 0xff])) {
    return { ok: false, reason: 'UTF-32 is not supported; save the file as UTF-8' };
  }
  if (startsWith(sample, [0xef, 0xbb, 0xbf])) return { ok: true, encoding: 'utf-8', bomLength: 3 };
  if (startsWith(sample, [0xff, 0xfe])) return { ok: true, encoding: 'utf-16le', bomLength: 2 };
  if (startsWith(sample, [0xfe, 0xff])) return { ok: true, encoding: 'utf-16be', bomLength: 2 };
  for (const [bytes, what] of MAGIC) {
    if (startsWith(sample, bytes)) return { ok: false, reason: `this is ${typeof what === 'string' ? what : what(sample)}` };
  }
  const nul = sample.indexOf(0);
  if (nul !== -1) {
    const utf16 = utf16WithoutBom(sample);
    if (utf16) return { ok: true, encoding: utf16, bomLength: 0 };
    // Text with a stray NUL (a database export's empty character, a damaged copy) is refused like one past the sample,
    // at its byte: a verdict on the whole file named no line, and the operator had a file of text to search.
    if (controlShare(sample) <= CONTROL_SHARE && isUtf8Prefix(sample, complete)) {
      return { ok: false, reason: 'binary data (NUL byte) inside the text', at: nul };
    }
    return { ok: false, reason: 'binary data (NUL bytes), not a text CSV file' };
  }
  if (controlShare(sample) > CONTROL_SHARE) return { ok: false, reason: 'binary data (control bytes), not a text CSV file' };
  if (isUtf8Prefix(sample, complete)) {
    return { ok: true, encoding: sample.some((b) => b >= 0x80) ? 'utf-8' : 'ascii', bomLength: 0 };
  }
  if (hasUtf8Multibyte(sample)) {
    const at = utf8ErrorAt(sample, complete);
    return { ok: false, reason: 'the file mixes UTF-8 and another encoding (Windows-1252?); save it as UTF-8', ...(at === -1 ? {} : { at }) };
  }
  return { ok: true, encoding: 'windows-1252', bomLength: 0 };
}
