/**
 * Guards a multipart file stream for a streaming consumer (the importer). busboy merely *truncates* a file
 * at `limits.fileSize` and ends the stream normally, which an importer would take for a complete (shorter)
 * file and commit: a silent half-apply. Here the size limit becomes a stream error (413) instead of that end.
 * busboy may already have hit the limit (and queued the end) before we get the stream, so the check runs
 * both on the `limit` event and when the stream ends (`file.truncated`).
 */
import { Transform, type Readable } from 'node:stream';
import { PayloadTooLargeError } from './http-errors';

export interface GuardedUpload {
  stream: Readable;
  exceeded(): boolean;
  /** Discards whatever the consumer left unread, so the multipart request can finish. */
  drain(): void;
}

type TruncatableStream = Readable & { truncated?: boolean };

export function guardUpload(file: TruncatableStream, maxBytes: number): GuardedUpload {
  let exceeded = false;
  const tooLarge = (): PayloadTooLargeError => {
    exceeded = true;
    return new PayloadTooLargeError(`upload exceeds the limit of ${maxBytes} bytes: nothing was imported`);
  };
  const out = new Transform({
    transform: (chunk: Buffer, _enc, cb) => cb(null, chunk),
    flush: (cb) => (file.truncated ? cb(tooLarge()) : cb()),
  });
  file.on('limit', () => {
    file.unpipe(out);
    out.destroy(tooLarge());
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
