/** Files rejected whole: a clear ImportError (exit 2), the list left `failed` with the reason, nothing stored. */
import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { useTestEnv } from '../../helpers/env';
import { ValidationError } from '../../../src/errors';
import { ImportError, type ImportOptions } from '../../../src/import/import-contacts';
import { FIXTURES, importer } from './helpers';

const env = useTestEnv();
const imp = importer(env);

async function expectRejected(source: string | Readable, message: string, opts: Partial<ImportOptions> = {}): Promise<void> {
  const listName = imp.nextName();
  const stream = typeof source === 'string' ? createReadStream(path.join(FIXTURES, source)) : source;
  const fileName = typeof source === 'string' ? source : 'upload.csv';
  const err: unknown = await imp.stream(stream, { fileName, ...opts }).then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ImportError);
  expect((err as ImportError).exitCode).toBe(2);
  expect((err as ImportError).message).toBe(message);
  const list = await imp.list(listName);
  expect(list).toEqual({ id: expect.any(String), status: 'failed', failure_reason: message, contacts: 0 });
  expect(imp.reports().filter((f) => f.includes(list!.id))).toEqual([]);
}

describe('import: files rejected whole', () => {
  it.each([
    ['empty.csv', 'empty.csv: the file is empty'],
    ['blank-only.csv', 'blank-only.csv: the file has no rows (it is empty or only blank lines)'],
    ['bom-only.csv', 'bom-only.csv: the file has no rows (it is empty or only blank lines)'],
    ['header-only.csv', 'header-only.csv, line 1: the file has a header row but no data rows'],
    [
      'no-phone-column.csv',
      'no-phone-column.csv, line 1: no recognisable phone column in the header (columns: "name", "email", "city"); name it phone/mobile/msisdn or pass phoneColumn',
    ],
    [
      'headerless.csv',
      'headerless.csv, line 1: no recognisable phone column in the header (columns: "9876543210", "Asha"); name it phone/mobile/msisdn or pass phoneColumn',
    ],
    ['fake.xlsx', 'fake.xlsx: this is a ZIP archive (an Excel .xlsx workbook?); save it as "CSV UTF-8" first'],
    ['binary.bin', 'binary.bin: binary data (NUL bytes), not a text CSV file'],
    [
      'mixed-encoding.csv',
      'mixed-encoding.csv, line 3: the file mixes UTF-8 and another encoding (Windows-1252?); save it as UTF-8 (byte offset 31)',
    ],
    ['unclosed-quote-eof.csv', 'unclosed-quote-eof.csv, line 3, column "phone": a quoted field is never closed (missing closing quote)'],
  ])('%s', async (file, message) => {
    await expectRejected(file, message);
  });

  it('an unclosed quote stops at the record limit instead of buffering the file', async () => {
    await expectRejected(
      'unclosed-quote.csv',
      'unclosed-quote.csv, line 3: record longer than the limit of 500 characters (an unclosed quote?)',
      { limits: { maxRecordChars: 500 } },
    );
  });

  it('too many columns', async () => {
    await expectRejected('wide.csv', 'wide.csv, line 1: 12 columns, more than the limit of 10', { limits: { maxColumns: 10 } });
  });

  it('a file larger than the limit fails while streaming, after rows were already written', async () => {
    const text = `name,phone\n${Array.from({ length: 12000 }, (_, i) => `P${i},${9876000000 + i}\n`).join('')}`;
    const chunks = Array.from({ length: Math.ceil(text.length / 8192) }, (_, i) => Buffer.from(text.slice(i * 8192, (i + 1) * 8192)));
    await expectRejected(Readable.from(chunks), 'upload.csv, line 8740: the file is larger than the limit of 150000 bytes (byte offset 150000)', {
      limits: { maxFileBytes: 150_000 },
    });
  });

  it('a broken record deep in the file rolls back the batches already inserted', async () => {
    const good = Array.from({ length: 12000 }, (_, i) => `P${i},${9876000000 + i}\n`).join('');
    const source = Readable.from([`name,phone\n${good}`, `bad,"${'x'.repeat(2000)}`]);
    await expectRejected(source, 'upload.csv, line 12002: record longer than the limit of 1000 characters (an unclosed quote?)', {
      limits: { maxRecordChars: 1000 },
    });
  });

  it('the source stream failing (an aborted upload) fails the import', async () => {
    const listName = imp.nextName();
    const source = new Readable({ read() {} });
    source.push('name,phone\n9876543210,x\n'.repeat(3000));
    setTimeout(() => source.destroy(new Error('client aborted')), 100);
    await expect(imp.stream(source)).rejects.toThrow('import of upload.csv failed: client aborted');
    expect(await imp.list(listName)).toMatchObject({ status: 'failed', contacts: 0 });
  });

  it('an unknown country is bad usage and creates nothing', async () => {
    const listName = imp.nextName();
    await expect(imp.file('crlf.csv', { country: 'XX' })).rejects.toThrow('unknown country "XX"');
    expect(await imp.list(listName)).toBeUndefined();
  });

  it('a list name longer than 200 characters is bad usage and creates nothing', async () => {
    const listName = Array.from({ length: 201 }, (_v, i) => String.fromCharCode(97 + ((i * 7) % 26))).join('');
    await expect(imp.file('crlf.csv', { listName })).rejects.toThrow(new ValidationError('list name must be at most 200 characters'));
    expect(await imp.list(listName)).toBeUndefined();
    // Random text that long is more than the name's unique index can hold: it failed there, as a runtime error.
    const long = randomBytes(3000).toString('base64');
    await expect(imp.file('crlf.csv', { listName: long })).rejects.toBeInstanceOf(ValidationError);
  });
});
