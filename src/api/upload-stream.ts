/**
 * Guards a multipart file stream for a streaming consumer (the importer). busboy merely *truncates* a file
 * at `limits.fileSize` and ends the stream normally, which an importer would take for a complete (shorter)
 * file and commit: a silent half-apply. Here the size limit becomes a stream error (413) before that end.
 */
import { PassThrough, type Readable } from 'node:stream';
import { PayloadTooLargeError } from './http-errors';

export interface GuardedUpload {
  stream: Readable;
  exceeded(): boolean;
  /** Discards whatever the consumer left unread, so the multipart request can finish. */
  drain(): void;
}

export function guardUpload(file: Readable, maxBytes: number): GuardedUpload {
  const out = new PassThrough();
  let exceeded = false;
  file.on('limit', () => {
    exceeded = true;
    file.unpipe(out);
    out.destroy(new PayloadTooLargeError(`upload exceeds the limit of ${maxBytes} bytes: nothing was imported`));
    file.resume();
  });
  file.on('error', (err) => out.destroy(err));
  file.pipe(out);
  return {
    stream: out,
    exceeded: () => exceeded,
    drain() {
      file.unpipe(out);
      file.resume();
    },
  };
}
