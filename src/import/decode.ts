/**
 * Byte stream → text chunks. Detects the encoding on the first 64 KiB, then decodes incrementally. A file
 * that is pure ASCII at first stays undecided until its first non-ASCII chunk, which picks UTF-8 or
 * Windows-1252 (lossless, since ASCII is the same in both). Valid UTF-8 followed by bytes that are not, a byte
 * Windows-1252 does not define, NUL bytes after the start, or more bytes than `maxFileBytes`: a DecodeError, never mojibake.
 */
import { isAscii } from 'node:buffer';
import iconv from 'iconv-lite';
import { hasUtf8Multibyte, isUtf8Prefix, openUtf8Tail, sniffEncoding, utf8ErrorAt, utf8MultibyteAt, type SniffedEncoding } from './encoding';

export class DecodeError extends Error {
  constructor(
    readonly reason: string,
    /** Offset in the file of the byte at fault (null for a verdict on the whole file, e.g. binary data). */
    readonly byteOffset: number | null,
    /** The file's text from the end of the last chunk yielded up to that byte: its line breaks locate the line. */
    readonly textBefore = '',
  ) {
    super(reason);
  }
}

const SAMPLE_BYTES = 64 * 1024;

interface Decoder {
  write(chunk: Buffer): string;
  end(): string;
}

function iconvDecoder(encoding: string): Decoder {
  const d = iconv.getDecoder(encoding);
  return { write: (b) => d.write(b), end: () => d.end() ?? '' };
}

function utf16Unit(buf: Buffer, i: number, bigEndian: boolean): number {
  return bigEndian ? (buf[i]! << 8) | buf[i + 1]! : buf[i]! | (buf[i + 1]! << 8);
}

const isHighSurrogate = (u: number): boolean => u >= 0xd800 && u <= 0xdbff;
const isLowSurrogate = (u: number): boolean => u >= 0xdc00 && u <= 0xdfff;

/** Byte index of the first unpaired surrogate in unit-aligned UTF-16, or -1 (a high one at the very end may yet be paired). */
function unpairedSurrogateAt(buf: Buffer, bigEndian: boolean): number {
  const n = buf.length - (buf.length % 2);
  for (let i = 0; i < n; i += 2) {
    const u = utf16Unit(buf, i, bigEndian);
    if (isLowSurrogate(u)) return i;
    if (!isHighSurrogate(u)) continue;
    if (i + 2 >= n) return -1;
    if (!isLowSurrogate(utf16Unit(buf, i + 2, bigEndian))) return i;
    i += 2;
  }
  return -1;
}

/** Throws on bytes that are not the encoding (iconv-lite's UTF-16 let an unpaired surrogate through and dropped an odd last byte). */
function fatalDecoder(encoding: 'utf-8' | 'utf-16le' | 'utf-16be'): Decoder {
  const d = new TextDecoder(encoding, { fatal: true, ignoreBOM: true });
  return { write: (b) => d.decode(b, { stream: true }), end: () => d.decode() };
}

export class TextSource {
  encoding: SniffedEncoding = 'ascii';
  bytesRead = 0;
  private decoder: Decoder | null = null;
  /** Windows-1252 files: the last bytes of the previous chunk (a UTF-8 character may straddle chunks). */
  private carry1252: Buffer = Buffer.alloc(0);
  /**
   * Bytes given to the current decoder, and the last (up to 4) of them: enough to know which bytes a streaming
   * decoder still holds (the start of a character cut by the chunk's end), so an error is placed on its exact byte.
   */
  private fed = 0;
  private tail: Buffer = Buffer.alloc(0);
  /**
   * While the file is still all ASCII: the last bytes of the previous chunk when they could begin a UTF-8 character
   * the chunk's end cut. Alone they prove nothing (Windows-1252 `é`, 0xE9, is also a UTF-8 lead byte), so the choice
   * waits for the bytes after them: judged alone, a Windows-1252 file whose first accent was the last byte of a read
   * was taken for UTF-8 and refused as "mixing UTF-8 with another encoding" at the next byte.
   */
  private undecided: Buffer = Buffer.alloc(0);

  constructor(
    private readonly source: AsyncIterable<Buffer | string>,
    private readonly maxFileBytes: number,
  ) {}

  async *chunks(): AsyncGenerator<string, void, undefined> {
    let sample: Buffer[] = [];
    let sampleBytes = 0;
    for await (const raw of this.source) {
      const chunk = typeof raw === 'string' ? Buffer.from(raw, 'utf8') : raw;
      this.bytesRead += chunk.length;
      if (this.bytesRead > this.maxFileBytes) {
        throw new DecodeError(`the file is larger than the limit of ${this.maxFileBytes} bytes`, this.maxFileBytes);
      }
      if (sample.length || this.decoder === null) {
        sample.push(chunk);
        sampleBytes += chunk.length;
        if (sampleBytes < SAMPLE_BYTES) continue;
        const text = this.start(Buffer.concat(sample), false);
        sample = [];
        if (text) yield text;
        continue;
      }
      const text = this.decode(chunk, this.bytesRead - chunk.length);
      if (text) yield text;
    }
    if (this.decoder === null) {
      const text = this.start(Buffer.concat(sample), true);
      if (text) yield text;
    }
    if (this.undecided.length) {
      // The file ends there: judged as before, a UTF-8 character cut short (a single lead byte at the very end).
      const text = this.decode(Buffer.alloc(0), this.bytesRead, true);
      if (text) yield text;
    }
    let tail: string;
    try {
      tail = this.decoder!.end();
    } catch {
      // A file cut short (a download or copy that stopped) mid-character: was a runtime error naming no file or line.
      // The character's first byte is the one at fault (everything before it was yielded already).
      throw new DecodeError(
        `the file ends in the middle of a ${this.encoding.toUpperCase()} character (was it cut short?)`,
        this.bytesRead - this.held(),
      );
    }
    if (tail) yield tail;
  }

  private start(sample: Buffer, complete: boolean): string {
    const open = complete ? 0 : openUtf8Tail(sample);
    const head = sample.length - open;
    if (open > 0 && head > 0 && isAscii(sample.subarray(0, head))) {
      // An ASCII sample but for the start of a character cut at its end: that is no evidence yet (see `undecided`).
      return this.start(sample.subarray(0, head), false) + this.decode(sample.subarray(head), head);
    }
    const sniffed = sniffEncoding(sample, complete);
    if (!sniffed.ok) {
      if (sniffed.at === undefined) throw new DecodeError(sniffed.reason, null);
      throw new DecodeError(sniffed.reason, sniffed.at, sample.subarray(0, sniffed.at).toString('utf8'));
    }
    this.encoding = sniffed.encoding;
    this.decoder = this.makeDecoder(sniffed.encoding);
    return this.decode(sample.subarray(sniffed.bomLength), sniffed.bomLength);
  }

  /** How many of the bytes fed so far the decoder still holds: the start of a character the chunk's end cut. */
  private held(): number {
    const t = this.tail;
    if (this.encoding === 'utf-16le' || this.encoding === 'utf-16be') {
      const odd = this.fed % 2;
      const end = t.length - odd;
      return end >= 2 && isHighSurrogate(utf16Unit(t, end - 2, this.encoding === 'utf-16be')) ? odd + 2 : odd;
    }
    if (this.encoding !== 'utf-8') return 0;
    for (let k = 1; k <= Math.min(3, t.length); k++) {
      const b = t[t.length - k]!;
      if ((b & 0xc0) === 0x80) continue;
      const length = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc0 ? 2 : 1;
      return length > k ? k : 0;
    }
    return 0;
  }

  /** Text of bytes known to be valid in the current encoding (before a bad byte), for locating the line. */
  private textOf(bytes: Buffer): string {
    switch (this.encoding) {
      case 'utf-16le':
        return bytes.toString('utf16le');
      case 'utf-16be':
        return Buffer.from(bytes.subarray(0, bytes.length - (bytes.length % 2))).swap16().toString('utf16le');
      case 'windows-1252':
        return iconv.decode(bytes, 'win1252');
      case 'utf-8':
        return bytes.toString('utf8');
      case 'ascii':
        return bytes.toString('latin1');
    }
  }

  /**
   * An error in `chunk` (at file offset `offset`): the bytes the decoder still held from the previous chunks, then
   * the chunk, with the file offset of their first byte.
   */
  private withHeld(chunk: Buffer, offset: number): { bytes: Buffer; start: number } {
    const held = this.held();
    return { bytes: held ? Buffer.concat([this.tail.subarray(this.tail.length - held), chunk]) : chunk, start: offset - held };
  }

  private fail(reason: string, bytes: Buffer, start: number, at: number): never {
    throw new DecodeError(reason, start + at, this.textOf(bytes.subarray(0, at)));
  }

  private makeDecoder(encoding: SniffedEncoding): Decoder {
    this.fed = 0;
    this.tail = Buffer.alloc(0);
    switch (encoding) {
      case 'utf-16le':
      case 'utf-16be':
        return fatalDecoder(encoding);
      case 'windows-1252':
        return iconvDecoder('win1252');
      case 'utf-8':
        return fatalDecoder('utf-8');
      case 'ascii':
        return { write: (b) => b.toString('latin1'), end: () => '' };
    }
  }

  /** `final`: nothing follows `chunk`, so bytes held back undecided are judged now. */
  private decode(chunk: Buffer, offset: number, final = false): string {
    if (this.encoding === 'ascii') {
      if (this.undecided.length) {
        offset -= this.undecided.length;
        chunk = Buffer.concat([this.undecided, chunk]);
        this.undecided = Buffer.alloc(0);
      }
      const open = final ? 0 : openUtf8Tail(chunk);
      if (open > 0 && isAscii(chunk.subarray(0, chunk.length - open))) {
        this.undecided = Buffer.from(chunk.subarray(chunk.length - open));
        chunk = chunk.subarray(0, chunk.length - open);
      }
    }
    const text = this.decodeChecked(chunk, offset);
    this.fed += chunk.length;
    this.tail = chunk.length >= 4 ? chunk.subarray(chunk.length - 4) : Buffer.concat([this.tail, chunk]).subarray(-4);
    return text;
  }

  private decodeChecked(chunk: Buffer, offset: number): string {
    if (this.encoding === 'utf-16le' || this.encoding === 'utf-16be') {
      const bigEndian = this.encoding === 'utf-16be';
      let text: string;
      try {
        text = this.decoder!.write(chunk);
      } catch {
        const { bytes, start } = this.withHeld(chunk, offset);
        const at = unpairedSurrogateAt(bytes, bigEndian);
        throw new DecodeError(
          `invalid ${this.encoding.toUpperCase()}: an unpaired surrogate (a damaged file?)`,
          start + Math.max(at, 0),
          at > 0 ? this.textOf(bytes.subarray(0, at)) : '',
        );
      }
      const nul = text.indexOf('\u0000');
      if (nul !== -1) {
        // The text starts with the bytes the decoder held, and every UTF-16 code unit is two bytes.
        throw new DecodeError('binary data (NUL characters) inside the text', offset - this.held() + 2 * nul, text.slice(0, nul));
      }
      return text;
    }
    const nul = chunk.indexOf(0);
    if (nul !== -1) {
      const { bytes, start } = this.withHeld(chunk, offset);
      this.fail('binary data (NUL byte) inside the text', bytes, start, nul + (offset - start));
    }
    if (this.encoding === 'ascii' && !isAscii(chunk)) this.settleAscii(chunk, offset);
    else if (this.encoding === 'windows-1252') this.checkNoUtf8(chunk, offset);
    let text: string;
    try {
      text = this.decoder!.write(chunk);
    } catch {
      const { bytes, start } = this.withHeld(chunk, offset);
      this.fail('invalid UTF-8: the file mixes UTF-8 with another encoding; save it as UTF-8', bytes, start, Math.max(utf8ErrorAt(bytes, false), 0));
    }
    if (this.encoding === 'windows-1252') {
      // Five bytes (0x81, 0x8D, 0x8F, 0x90, 0x9D) are no Windows-1252 character: the decoder made each a U+FFFD, stored
      // and sent as "A�B". Such a byte means another encoding (a Cyrillic or East Asian code page). One byte per
      // character, so the index in the text is the index in the chunk.
      const bad = text.indexOf('\uFFFD');
      if (bad !== -1) {
        const hex = chunk[bad]!.toString(16).toUpperCase();
        throw new DecodeError(`byte 0x${hex} is not a Windows-1252 character: the file is in another encoding; save it as UTF-8`, offset + bad, text.slice(0, bad));
      }
    }
    return text;
  }

  /**
   * A file judged Windows-1252 (from its first non-ASCII bytes) must not turn into UTF-8 further on: decoded as
   * Windows-1252, a later `राहुल` was stored as `à¤°à¤¾…` and sent so. The last bytes of the previous chunk are
   * looked at too, so a character split across chunks is seen.
   */
  private checkNoUtf8(chunk: Buffer, offset: number): void {
    const seen = this.carry1252.length ? Buffer.concat([this.carry1252, chunk]) : chunk;
    const at = utf8MultibyteAt(seen);
    if (at !== -1) {
      // The carried bytes were yielded with the previous chunk: a character starting there has no text before it here.
      const inChunk = Math.max(at - this.carry1252.length, 0);
      throw new DecodeError(
        'the file mixes UTF-8 and another encoding (Windows-1252?); save it as UTF-8',
        offset - this.carry1252.length + at,
        this.textOf(chunk.subarray(0, inChunk)),
      );
    }
    this.carry1252 = Buffer.from(seen.subarray(Math.max(0, seen.length - 3)));
  }

  /** First non-ASCII bytes of a file that looked like ASCII: choose UTF-8 or Windows-1252 from them. */
  private settleAscii(chunk: Buffer, offset: number): void {
    if (isUtf8Prefix(chunk, false)) this.encoding = 'utf-8';
    else if (hasUtf8Multibyte(chunk)) {
      // Placed on the first byte that is not UTF-8: the one to fix when saving the file as UTF-8.
      const at = Math.max(utf8ErrorAt(chunk, false), 0);
      throw new DecodeError('the file mixes UTF-8 and another encoding (Windows-1252?); save it as UTF-8', offset + at, chunk.subarray(0, at).toString('utf8'));
    } else this.encoding = 'windows-1252';
    this.decoder = this.makeDecoder(this.encoding);
  }
}
