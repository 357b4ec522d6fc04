import iconv from 'iconv-lite';
import { TextSource, DecodeError } from '../../../src/import/decode';
import { sniffEncoding } from '../../../src/import/encoding';
import { openCsvTable } from '../../../src/import/csv-table';
import { ImportError } from '../../../src/import/import-error';
import { resolveLimits } from '../../../src/import/limits';

async function decodeAll(chunks: Buffer[], max = 1e9): Promise<{ text: string; encoding: string }> {
  async function* gen(): AsyncGenerator<Buffer> {
    yield* chunks;
  }
  const src = new TextSource(gen(), max);
  let text = '';
  for await (const t of src.chunks()) text += t;
  return { text, encoding: src.encoding };
}

describe('sniffEncoding', () => {
  it.each([
    ['UTF-8 BOM', Buffer.from('\uFEFFa,b', 'utf8'), 'utf-8', 3],
    ['UTF-16LE BOM', Buffer.from([0xff, 0xfe, 0x61, 0]), 'utf-16le', 2],
    ['UTF-16BE BOM', Buffer.from([0xfe, 0xff, 0, 0x61]), 'utf-16be', 2],
    ['UTF-16LE without BOM', iconv.encode('phone,name\n9876543210,x\n', 'utf-16le'), 'utf-16le', 0],
    ['UTF-16BE without BOM', iconv.encode('phone,name\n9876543210,x\n', 'utf-16be'), 'utf-16be', 0],
    ['plain ASCII', Buffer.from('phone\n1\n'), 'ascii', 0],
    ['UTF-8 text', Buffer.from('name\nJosé\n'), 'utf-8', 0],
    ['Windows-1252 text', iconv.encode('name\nJosé € “x”\n', 'win1252'), 'windows-1252', 0],
  ])('%s', (_name, sample, encoding, bomLength) => {
    expect(sniffEncoding(sample, true)).toEqual({ ok: true, encoding, bomLength });
  });

  it.each([
    ['empty', Buffer.alloc(0), 'the file is empty'],
    ['a ZIP archive', Buffer.from([0x50, 0x4b, 0x03, 0x04, 1, 2]), 'ZIP archive'],
    // Office files are ZIP archives: told apart by their entries' names.
    ['xlsx', Buffer.concat([Buffer.from([0x50, 0x4b, 0x03, 0x04]), Buffer.alloc(26), Buffer.from('[Content_Types].xml…xl/workbook.xml')]), 'this is an Excel .xlsx workbook;'],
    ['ods', Buffer.concat([Buffer.from([0x50, 0x4b, 0x03, 0x04]), Buffer.alloc(26), Buffer.from('mimetypeapplication/vnd.oasis.opendocument.spreadsheet')]), 'OpenDocument spreadsheet (.ods)'],
    ['docx', Buffer.concat([Buffer.from([0x50, 0x4b, 0x03, 0x04]), Buffer.alloc(26), Buffer.from('[Content_Types].xml…word/document.xml')]), 'Word .docx document'],
    ['xls', Buffer.from([0xd0, 0xcf, 0x11, 0xe0, 1]), 'legacy Excel'],
    ['pdf', Buffer.from('%PDF-1.7'), 'PDF'],
    ['gzip', Buffer.from([0x1f, 0x8b, 8, 0]), 'gzip'],
    ['NUL bytes', Buffer.from([0x61, 0, 0, 0x62, 0x63, 0x64, 0, 0x65, 0x66, 0x67]), 'NUL bytes'],
    ['control bytes', Buffer.from('a\x01b\x02c\x03d\x04e\x05f\x06'), 'control bytes'],
    ['UTF-32', Buffer.from([0xff, 0xfe, 0, 0, 0x61, 0, 0, 0]), 'UTF-32'],
    ['mixed UTF-8 and 1252', Buffer.concat([Buffer.from('José,'), Buffer.from([0x52, 0xe9, 0x2c])]), 'mixes UTF-8'],
  ])('rejects %s', (_name, sample, reason) => {
    const r = sniffEncoding(sample, true);
    expect(r.ok).toBe(false);
    expect(r.ok ? '' : r.reason).toContain(reason);
  });

  it('places a stray NUL in otherwise UTF-8 text at its byte (the import names its line)', () => {
    const text = Buffer.from('name,phone\nAsha,9876543210\nRa\u0000vi,9876543211\n');
    expect(sniffEncoding(text, true)).toEqual({ ok: false, reason: 'binary data (NUL byte) inside the text', at: 29 });
  });

  it('does not mistake a UTF-8 character cut by the sample boundary for an error', () => {
    const cut = Buffer.from('ab José').subarray(0, 7); // ends in the first byte of "é"
    expect(sniffEncoding(cut, false)).toEqual({ ok: true, encoding: 'utf-8', bomLength: 0 });
  });
});

describe('TextSource', () => {
  it('decodes UTF-8 split across chunks inside a character', async () => {
    const bytes = Buffer.from('\uFEFFname\nअनुराधा\n', 'utf8');
    const chunks = Array.from({ length: bytes.length }, (_, i) => bytes.subarray(i, i + 1));
    expect(await decodeAll(chunks)).toEqual({ text: 'name\nअनुराधा\n', encoding: 'utf-8' });
  });

  it('decodes UTF-16 split at odd bytes', async () => {
    const bytes = Buffer.concat([Buffer.from([0xfe, 0xff]), iconv.encode('n\nJosé\n', 'utf-16be')]);
    const chunks = Array.from({ length: bytes.length }, (_, i) => bytes.subarray(i, i + 1));
    expect(await decodeAll(chunks)).toEqual({ text: 'n\nJosé\n', encoding: 'utf-16be' });
  });

  it('settles on Windows-1252 when the first non-ASCII byte comes after the sample', async () => {
    const ascii = Buffer.from(`${'a,b\n'.repeat(20000)}`);
    const late = iconv.encode('Renée,€\n', 'win1252');
    const r = await decodeAll([ascii, late]);
    expect(r.encoding).toBe('windows-1252');
    expect(r.text.endsWith('Renée,€\n')).toBe(true);
  });

  it('settles on UTF-8 when the first non-ASCII bytes after the sample are UTF-8', async () => {
    const r = await decodeAll([Buffer.from('a,b\n'.repeat(20000)), Buffer.from('Renée\n')]);
    expect(r.encoding).toBe('utf-8');
    expect(r.text.endsWith('Renée\n')).toBe(true);
  });

  it.each([
    ['é (0xE9, also a UTF-8 lead byte)', 'the sample', 'René'],
    ['é (0xE9, also a UTF-8 lead byte)', 'a read after an ASCII sample', 'René'],
    ['€ (0x80, a UTF-8 continuation byte)', 'the sample', 'Rs €'],
    ['€ (0x80, a UTF-8 continuation byte)', 'a read after an ASCII sample', 'Rs €'],
    ['é and a no-break space (0xE9 0xA0, a cut 3-byte UTF-8 start)', 'a read after an ASCII sample', 'René\u00A0'],
  ])('Windows-1252 %s as the last byte(s) of %s is judged with the bytes after it', async (_bytes, where, cut) => {
    const ascii = Buffer.from('a,b\n'.repeat(20000));
    const end = iconv.encode(cut, 'win1252');
    const chunks = where === 'the sample' ? [Buffer.concat([ascii, end]), Buffer.from(',x\n')] : [ascii, end, Buffer.from(',x\n')];
    expect(await decodeAll(chunks)).toEqual({ text: `${ascii.toString()}${cut},x\n`, encoding: 'windows-1252' });
  });

  it.each([
    ['the sample', 0],
    ['a read after an ASCII sample', 1],
  ])('a UTF-8 character cut by the end of %s is still UTF-8', async (_where, reads) => {
    const ascii = Buffer.from('a,b\n'.repeat(20000));
    const word = Buffer.from('राहुल,x\n');
    const chunks = reads === 0 ? [Buffer.concat([ascii, word.subarray(0, 2)]), word.subarray(2)] : [ascii, word.subarray(0, 2), word.subarray(2)];
    expect(await decodeAll(chunks)).toEqual({ text: `${ascii.toString()}राहुल,x\n`, encoding: 'utf-8' });
  });

  it('fails when valid UTF-8 is followed by bytes that are not', async () => {
    const head = Buffer.from(`José\n${'a,b\n'.repeat(20000)}`);
    await expect(decodeAll([head, Buffer.from([0x52, 0xe9, 0x0a])])).rejects.toThrow(/invalid UTF-8/);
  });

  it.each([
    ['in the sample', [iconv.encode('José\n', 'win1252')]],
    ['after an ASCII sample', [Buffer.from('a,b\n'.repeat(20000)), iconv.encode('José\n', 'win1252')]],
  ])('fails when Windows-1252 (%s) is followed by UTF-8 later on, even split across chunks', async (_where, head) => {
    // The encoding is settled on the first chunks; the UTF-8 comes in later ones, a character cut between two.
    const padding = Buffer.from('a,b\n'.repeat(30000));
    const later = Buffer.from('राहुल\n');
    const decoded = decodeAll([...head, padding, later.subarray(0, 4), later.subarray(4)]);
    await expect(decoded).rejects.toThrow(/mixes UTF-8/);
  });

  it('fails on a NUL byte after the sample', async () => {
    await expect(decodeAll([Buffer.from('a,b\n'.repeat(20000)), Buffer.from([0x61, 0])])).rejects.toBeInstanceOf(DecodeError);
  });

  it.each([
    ['UTF-8 after the sample', [Buffer.from('a,b\n'.repeat(20000)), Buffer.from('José').subarray(0, -1)], /ends in the middle of a UTF-8 character/],
    ['UTF-16LE with an odd last byte', [Buffer.from([0xff, 0xfe]), iconv.encode('n\nJosé\n', 'utf-16le'), Buffer.from([0x41])], /ends in the middle of a UTF-16LE character/],
    ['UTF-16BE ending in half a surrogate pair', [Buffer.from([0xfe, 0xff]), iconv.encode('n\n😀', 'utf-16be').subarray(0, -2)], /ends in the middle of a UTF-16BE character/],
  ])('fails on a file cut inside a character (%s), never dropping or replacing it', async (_what, chunks, reason) => {
    await expect(decodeAll(chunks)).rejects.toThrow(reason);
  });

  it('fails on an unpaired UTF-16 surrogate, even when the pair is split across chunks first', async () => {
    const pair = Buffer.concat([Buffer.from([0xff, 0xfe]), iconv.encode('n\n😀\n', 'utf-16le')]);
    const oneByOne = Array.from({ length: pair.length }, (_, i) => pair.subarray(i, i + 1));
    expect(await decodeAll(oneByOne)).toEqual({ text: 'n\n😀\n', encoding: 'utf-16le' });
    const lone = Buffer.concat([Buffer.from([0xff, 0xfe]), iconv.encode('n\nJ', 'utf-16le'), Buffer.from([0x3d, 0xd8]), iconv.encode('x\n', 'utf-16le')]);
    await expect(decodeAll([lone])).rejects.toThrow(/invalid UTF-16LE: an unpaired surrogate/);
  });

  it('enforces the file size limit while streaming', async () => {
    await expect(decodeAll([Buffer.from('a,b\n'), Buffer.from('c,d\n')], 6)).rejects.toThrow('larger than the limit of 6 bytes');
  });
});

/** The DecodeError a byte stream ends in (fails the test when it decodes cleanly). */
async function decodeError(chunks: Buffer[]): Promise<DecodeError> {
  const err: unknown = await decodeAll(chunks).then(
    () => null,
    (e: unknown) => e,
  );
  if (!(err instanceof DecodeError)) throw new Error(`expected a DecodeError, got ${String(err)}`);
  return err;
}

/** Cuts `bytes` into chunks of `size` bytes (a character may be split anywhere). */
function chunked(bytes: Buffer, size: number): Buffer[] {
  return Array.from({ length: Math.ceil(bytes.length / size) }, (_, i) => bytes.subarray(i * size, (i + 1) * size));
}

describe('DecodeError: the exact byte at fault', () => {
  const ascii = Buffer.from('a,b\n'.repeat(20000)); // longer than the 64 KiB sample

  it.each([1, 3, 7, 4096])('invalid UTF-8 after the sample, in chunks of %i bytes', async (size) => {
    const head = Buffer.from(`José\n${'a,b\n'.repeat(20000)}`);
    const bytes = Buffer.concat([head, Buffer.from('Ren'), Buffer.from([0xe9, 0x2c, 0x0a])]);
    const err = await decodeError([head, ...chunked(bytes.subarray(head.length), size)]);
    expect(err.reason).toMatch(/invalid UTF-8/);
    expect(err.byteOffset).toBe(head.length + 3);
    expect(bytes[err.byteOffset!]).toBe(0xe9);
  });

  it('a UTF-8 lead byte held from the previous chunk is where the bad sequence starts', async () => {
    const head = Buffer.from(`José\n${'a,b\n'.repeat(20000)}x`);
    // C3 ends one chunk; the next starts with a byte that cannot continue it.
    const err = await decodeError([head, Buffer.from([0xc3]), Buffer.from([0x41, 0x0a])]);
    expect(err.byteOffset).toBe(head.length);
  });

  it('Windows-1252 followed by UTF-8 split across chunks: the UTF-8 character\'s first byte', async () => {
    const head = iconv.encode('José\n', 'win1252');
    const later = Buffer.from('राहुल\n');
    const err = await decodeError([head, ascii, later.subarray(0, 1), later.subarray(1)]);
    expect(err.reason).toMatch(/mixes UTF-8/);
    expect(err.byteOffset).toBe(head.length + ascii.length);
  });

  it('mixed bytes in the first non-ASCII chunk after an ASCII sample: the first byte that is not UTF-8', async () => {
    const late = Buffer.concat([Buffer.from('José,'), iconv.encode('Müller\n', 'win1252')]);
    const err = await decodeError([ascii, late]);
    expect(err.byteOffset).toBe(ascii.length + 'José,M'.length + 1);
    expect(late[err.byteOffset! - ascii.length]).toBe(0xfc);
  });

  it.each([
    ['in the sample', (bad: Buffer) => [Buffer.concat([iconv.encode('José,', 'win1252'), bad])]],
    ['in the first non-ASCII read after an ASCII sample', (bad: Buffer) => [ascii, bad]],
    ['in a read after the encoding is settled', (bad: Buffer) => [iconv.encode('José\n', 'win1252'), ascii, bad]],
  ])('a byte that is no Windows-1252 character (%s), never stored as U+FFFD', async (_where, chunksWith) => {
    const bad = Buffer.from([0x52, 0xe9, 0x81, 0x0a]); // "Ré" then 0x81, undefined in Windows-1252
    const chunks = chunksWith(bad);
    const err = await decodeError(chunks);
    expect(err.reason).toMatch(/byte 0x81 is not a Windows-1252 character/);
    expect(Buffer.concat(chunks)[err.byteOffset!]).toBe(0x81);
  });

  it('a NUL byte after the sample', async () => {
    const err = await decodeError([ascii, Buffer.from([0x61, 0x62, 0, 0x63])]);
    expect(err.byteOffset).toBe(ascii.length + 2);
  });

  it.each(['utf-16le', 'utf-16be'] as const)('%s: an unpaired surrogate and a NUL character, fed one byte at a time', async (enc) => {
    const bom = Buffer.from(enc === 'utf-16le' ? [0xff, 0xfe] : [0xfe, 0xff]);
    const high = Buffer.from(enc === 'utf-16le' ? [0x3d, 0xd8] : [0xd8, 0x3d]);
    const lone = Buffer.concat([bom, iconv.encode('n\nJ😀', enc), high, iconv.encode('x\n', enc)]);
    const surrogate = await decodeError(chunked(lone, 1));
    expect(surrogate.reason).toMatch(/unpaired surrogate/);
    expect(surrogate.byteOffset).toBe(2 + 2 * 'n\nJ😀'.length);

    const nul = Buffer.concat([bom, iconv.encode('n\nJ😀\u0000x\n', enc)]);
    const binary = await decodeError(chunked(nul, 3));
    expect(binary.reason).toMatch(/NUL characters/);
    expect(binary.byteOffset).toBe(2 + 2 * 'n\nJ😀'.length);
  });

  it.each([
    ['UTF-8 cut after the sample', [ascii, Buffer.from('José').subarray(0, -1)], ascii.length + 3],
    ['UTF-8 cut, 4-byte character with 3 bytes left, one per chunk', [ascii, Buffer.from('é'), ...chunked(Buffer.from('x😀').subarray(0, -1), 1)], ascii.length + 3],
    ['UTF-16LE with an odd last byte', [Buffer.from([0xff, 0xfe]), iconv.encode('n\nJosé\n', 'utf-16le'), Buffer.from([0x41])], 2 + 14],
    ['UTF-16BE ending in half a surrogate pair', [Buffer.from([0xfe, 0xff]), iconv.encode('n\n😀', 'utf-16be').subarray(0, -2)], 2 + 4],
    ['UTF-16BE ending in half a surrogate pair and an odd byte', [Buffer.from([0xfe, 0xff]), iconv.encode('n\n😀', 'utf-16be').subarray(0, -1)], 2 + 4],
  ])('a file cut inside a character (%s): the character\'s first byte', async (_what, chunks, offset) => {
    const err = await decodeError(chunks);
    expect(err.reason).toMatch(/ends in the middle of a/);
    expect(err.byteOffset).toBe(offset);
  });

  it('a whole-file verdict has no byte offset', async () => {
    expect((await decodeError([Buffer.from([0x50, 0x4b, 0x03, 0x04, 1, 2])])).byteOffset).toBeNull();
  });
});

describe('openCsvTable: the line of a decoding error', () => {
  async function importError(chunks: Buffer[]): Promise<string> {
    async function* gen(): AsyncGenerator<Buffer> {
      yield* chunks;
    }
    const err: unknown = await (async () => {
      const table = await openCsvTable(gen(), 'f.csv', resolveLimits({}));
      for await (const batch of table.batches) void batch;
    })().then(
      () => null,
      (e: unknown) => e,
    );
    if (!(err instanceof ImportError)) throw new Error(`expected an ImportError, got ${String(err)}`);
    return err.message;
  }

  it('after the sample, with a record still open and CRLF split across chunks', async () => {
    const head = Buffer.from(`name,phone\r\nJosé,1\r\n${'a,b\r\n'.repeat(20000)}`);
    const lines = 2 + 20000;
    // The chunk ends between CR and LF; then a quoted two-line field, and the bad byte on its second line.
    const rest = Buffer.concat([Buffer.from('"x\r\ny",2\r\nRen'), Buffer.from([0xe9]), Buffer.from(',3\r\n')]);
    const message = await importError([head.subarray(0, -1), Buffer.concat([head.subarray(-1), rest])]);
    expect(message).toBe(
      `f.csv, line ${lines + 3}: invalid UTF-8: the file mixes UTF-8 with another encoding; save it as UTF-8 (byte offset ${head.length + rest.indexOf(0xe9)})`,
    );
  });

  it('inside the sample, before any row is parsed', async () => {
    // Line 3 is blank (CR CR); the Windows-1252 ü is on line 4.
    const bytes = Buffer.concat([Buffer.from('name,phone\nJosé,1\r\rM'), iconv.encode('üller,2\n', 'win1252')]);
    expect(await importError([bytes])).toBe(
      `f.csv, line 4: the file mixes UTF-8 and another encoding (Windows-1252?); save it as UTF-8 (byte offset ${bytes.indexOf(0xfc)})`,
    );
  });

  it('a C1 control in a record that the chunk boundary cut: its line within a quoted cell and its column', async () => {
    const head = Buffer.from(`name,phone,address\n${'Asha,9876543210,Pune\n'.repeat(4000)}`);
    // The record opens in one chunk (its U+0092 there) and ends in the next.
    const message = await importError([head, Buffer.from('Ravi,9876543211,"Flat 4\nRavi\u0092s'), Buffer.from(' house"\nMeera,9876543212,Delhi\n')]);
    expect(message).toMatch(/^f\.csv, line 4003, column "address": U\+0092 at character 12, an invisible control character/);
  });
});
