/**
 * Byte stream → text chunks. Detects the encoding on the first 64 KiB, then decodes incrementally. A file
 * that is pure ASCII at first stays undecided until its first non-ASCII chunk, which picks UTF-8 or
 * Windows-1252 (lossless, since ASCII is the same in both). Valid UTF-8 followed by bytes that are not,
 * NUL bytes after the start, or more bytes than `maxFileBytes`: a DecodeError, never mojibake.
 */
import { isAscii } from 'node:buffer';
import iconv from 'iconv-lite';
import { hasUtf8Multibyte, isUtf8Prefix, sniffEncoding, type SniffedEncoding } from './encoding';

export class DecodeError extends Error {
  constructor(
    readonly reason: string,
    readonly byteOffset: number,
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
    let tail: string;
    try {
      tail = this.decoder!.end();
    } catch {
      // A file cut short (a download or copy that stopped) mid-character: was a runtime error naming no file or line.
      throw new DecodeError(`the file ends in the middle of a ${this.encoding.toUpperCase()} character (was it cut short?)`, this.bytesRead);
    }
    if (tail) yield tail;
  }

  private start(sample: Buffer, complete: boolean): string {
    const sniffed = sniffEncoding(sample, complete);
    if (!sniffed.ok) throw new DecodeError(sniffed.reason, 0);
    this.encoding = sniffed.encoding;
    this.decoder = this.makeDecoder(sniffed.encoding);
    return this.decode(sample.subarray(sniffed.bomLength), sniffed.bomLength);
  }

  private makeDecoder(encoding: SniffedEncoding): Decoder {
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

  private decode(chunk: Buffer, offset: number): string {
    if (this.encoding === 'utf-16le' || this.encoding === 'utf-16be') {
      let text: string;
      try {
        text = this.decoder!.write(chunk);
      } catch {
        throw new DecodeError(`invalid ${this.encoding.toUpperCase()}: an unpaired surrogate (a damaged file?)`, offset);
      }
      if (text.includes('\u0000')) throw new DecodeError('binary data (NUL characters) inside the text', offset);
      return text;
    }
    const nul = chunk.indexOf(0);
    if (nul !== -1) throw new DecodeError('binary data (NUL byte) inside the text', offset + nul);
    if (this.encoding === 'ascii' && !isAscii(chunk)) this.settleAscii(chunk, offset);
    else if (this.encoding === 'windows-1252') this.checkNoUtf8(chunk, offset);
    try {
      return this.decoder!.write(chunk);
    } catch {
      throw new DecodeError('invalid UTF-8: the file mixes UTF-8 with another encoding; save it as UTF-8', offset);
    }
  }

  /**
   * A file judged Windows-1252 (from its first non-ASCII bytes) must not turn into UTF-8 further on: decoded as
   * Windows-1252, a later `राहुल` was stored as `à¤°à¤¾…` and sent so. The last bytes of the previous chunk are
   * looked at too, so a character split across chunks is seen.
   */
  private checkNoUtf8(chunk: Buffer, offset: number): void {
    const seen = this.carry1252.length ? Buffer.concat([this.carry1252, chunk]) : chunk;
    if (hasUtf8Multibyte(seen)) {
      throw new DecodeError('the file mixes UTF-8 and another encoding (Windows-1252?); save it as UTF-8', offset);
    }
    this.carry1252 = Buffer.from(seen.subarray(Math.max(0, seen.length - 3)));
  }

  /** First non-ASCII bytes of a file that looked like ASCII: choose UTF-8 or Windows-1252 from them. */
  private settleAscii(chunk: Buffer, offset: number): void {
    if (isUtf8Prefix(chunk, false)) this.encoding = 'utf-8';
    else if (hasUtf8Multibyte(chunk)) {
      throw new DecodeError('the file mixes UTF-8 and another encoding (Windows-1252?); save it as UTF-8', offset);
    } else this.encoding = 'windows-1252';
    this.decoder = this.makeDecoder(this.encoding);
  }
}
