import { PassThrough, type Readable } from 'node:stream';
import { guardUpload } from '../../../src/api/upload-stream';

async function collect(stream: Readable): Promise<string> {
  let out = '';
  for await (const chunk of stream) out += String(chunk);
  return out;
}

describe('guardUpload', () => {
  it('passes a complete file through unchanged', async () => {
    const file = new PassThrough();
    const g = guardUpload(file, 100);
    file.end('phone\n123\n');
    await expect(collect(g.stream)).resolves.toBe('phone\n123\n');
    expect(g.exceeded()).toBe(false);
  });

  it('turns a truncated file (limit already hit before the guard) into a 413 error instead of an end', async () => {
    const file = Object.assign(new PassThrough(), { truncated: true });
    const g = guardUpload(file, 10);
    file.end('phone\n12');
    await expect(collect(g.stream)).rejects.toMatchObject({ httpStatus: 413 });
    expect(g.exceeded()).toBe(true);
  });

  it('errors as soon as the limit event fires mid-stream', async () => {
    const file = new PassThrough();
    const g = guardUpload(file, 10);
    const done = collect(g.stream);
    file.write('phone\n');
    file.emit('limit');
    await expect(done).rejects.toMatchObject({ code: 'payload_too_large' });
  });
});
