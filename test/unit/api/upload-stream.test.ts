import { EventEmitter } from 'node:events';
import type { ServerResponse } from 'node:http';
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
    const g = guardUpload(file, { maxBytes: 100 });
    file.end('phone\n123\n');
    await expect(collect(g.stream)).resolves.toBe('phone\n123\n');
    expect(g.exceeded()).toBe(false);
  });

  it('turns a truncated file (limit already hit before the guard) into a 413 error instead of an end', async () => {
    const file = Object.assign(new PassThrough(), { truncated: true });
    const g = guardUpload(file, { maxBytes: 10 });
    file.end('phone\n12');
    await expect(collect(g.stream)).rejects.toMatchObject({ httpStatus: 413 });
    expect(g.exceeded()).toBe(true);
  });

  it('errors as soon as the limit event fires mid-stream', async () => {
    const file = new PassThrough();
    const g = guardUpload(file, { maxBytes: 10 });
    const done = collect(g.stream);
    file.write('phone\n');
    file.emit('limit');
    await expect(done).rejects.toMatchObject({ code: 'payload_too_large' });
  });

  it('a body that stops arriving ends the upload with 408 after the idle time (it held its connection for good)', async () => {
    const file = new PassThrough();
    const g = guardUpload(file, { maxBytes: 1000, idleMs: 150 });
    const done = collect(g.stream);
    file.write('phone\n');
    const started = Date.now();
    await expect(done).rejects.toMatchObject({ httpStatus: 408, message: expect.stringMatching(/stalled/) });
    expect(Date.now() - started).toBeGreaterThanOrEqual(100);
  });

  it('data keeps the upload alive', async () => {
    const file = new PassThrough();
    const g = guardUpload(file, { maxBytes: 1000, idleMs: 120 });
    const done = collect(g.stream);
    const feed = setInterval(() => file.write('1234567890\n'), 40);
    await new Promise((r) => setTimeout(r, 400));
    clearInterval(feed);
    file.end('end\n');
    await expect(done).resolves.toMatch(/end\n$/);
  });

  it('a slow consumer is not a stalled client: while the importer holds the stream back, the clock waits', async () => {
    const file = new PassThrough();
    const g = guardUpload(file, { maxBytes: 1 << 20, idleMs: 120 });
    // More than the guard's buffer holds, then nothing read for 400 ms: the pipe has paused the file.
    file.write('x'.repeat(256 * 1024));
    await new Promise((r) => setTimeout(r, 400));
    const done = collect(g.stream);
    file.end('end\n');
    await expect(done).resolves.toMatch(/end\n$/);
  });

  it('a client that goes away mid-upload ends it at once', async () => {
    const file = new PassThrough();
    const response = Object.assign(new EventEmitter(), { writableEnded: false }) as unknown as ServerResponse;
    const g = guardUpload(file, { maxBytes: 1000, response });
    const done = collect(g.stream);
    file.write('phone\n');
    response.emit('close');
    await expect(done).rejects.toMatchObject({ httpStatus: 408, message: expect.stringMatching(/went away/) });
  });

  it('once drained (the importer gave up early), the guard raises nothing: an unheard error would end the process', async () => {
    const file = new PassThrough();
    const response = Object.assign(new EventEmitter(), { writableEnded: false }) as unknown as ServerResponse;
    const g = guardUpload(file, { maxBytes: 1000, idleMs: 100, response });
    file.write('phone\n');
    g.drain(); // no reader, no 'error' listener from here on
    const errors: unknown[] = [];
    const unheard = (err: unknown): void => void errors.push(err);
    process.on('uncaughtException', unheard);
    try {
      await new Promise((r) => setTimeout(r, 300));
      response.emit('close');
      await new Promise((r) => setImmediate(r));
    } finally {
      process.off('uncaughtException', unheard);
    }
    expect(errors).toEqual([]);
    expect(g.stream.destroyed).toBe(false);
  });

  it('a part the client has sent completely is never called stalled, however long the importer takes', async () => {
    const file = new PassThrough();
    const g = guardUpload(file, { maxBytes: 1000, idleMs: 100 });
    file.end('phone\n123\n');
    await new Promise((r) => setTimeout(r, 300));
    await expect(collect(g.stream)).resolves.toBe('phone\n123\n');
  });
});
