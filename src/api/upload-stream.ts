/**
 * Guards a multipart file stream for a streaming consumer (the importer). busboy merely *truncates* a file
 * at `limits.fileSize` and ends the stream normally, which an importer would take for a complete (shorter)
 * file and commit: a silent half-apply. Here the size limit becomes a stream error (413) instead of that end.
 * busboy may already have hit the limit (and queued the end) before we get the stream, so the check runs
 * both on the `limit` event and when the stream ends (`file.truncated`).
 *
 * The importer holds a PostgreSQL connection while it reads, so a body that stops arriving must end the stream
 * too: after `idleMs` without a byte (408), or when the client goes away. An upload whose closing boundary never
 * came held its connection for good; ten of them took the API's whole pool.
 */
import type { ServerResponse } from 'node:http';
import { Transform, type Readable } from 'node:stream';
import { PayloadTooLargeError, RequestTimeoutError } from './http-errors';

export interface GuardedUpload {
  stream: Readable;
  exceeded(): boolean;
  /** Discards whatever the consumer left unread, so the multipart request can finish. */
  drain(): void;
  /** Ends the upload with `err` for its consumer (as a stall or a disconnect does), e.g. when the server stops. */
  abort(err: Error): void;
}

type TruncatableStream = Readable & { truncated?: boolean };

export interface UploadLimits {
  maxBytes: number;
  /** No byte for this long ends the upload (default 30 s). */
  idleMs?: number;
  /**
   * The response to the upload's request: its connection closing before the answer was written ends the upload
   * (the request itself may count as complete: its Content-Length arrived, only the closing boundary did not).
   */
  response?: ServerResponse;
}

export const DEFAULT_UPLOAD_IDLE_MS = 30_000;

export function guardUpload(file: TruncatableStream, limits: UploadLimits): GuardedUpload {
  const { maxBytes, idleMs = DEFAULT_UPLOAD_IDLE_MS, response } = limits;
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
  const stop = (): void => {
    clearTimeout(idle);
    response?.off('close', onClose);
  };
  const stalled = (): void => {
    // Waiting on the importer (backpressure: the pipe paused the file), not on the client.
    if (out.writableNeedDrain || file.isPaused()) {
      idle.refresh();
      return;
    }
    out.destroy(new RequestTimeoutError(`upload stalled: no data for ${Math.round(idleMs / 1000)} s, nothing was imported`));
  };
  const onClose = (): void => {
    if (response && !response.writableEnded) out.destroy(new RequestTimeoutError('the client went away before the upload was complete: nothing was imported'));
  };
  const idle = setTimeout(stalled, idleMs);
  file.on('data', () => idle.refresh());
  response?.on('close', onClose);
  // The guard's watch ends when the client has sent the whole part, the consumer is done with the stream, or it is
  // drained: an error destroyed into a stream nobody listens to any more is an unhandled 'error' — it ended the
  // process 30 s after an upload the importer had refused early.
  file.on('end', stop);
  out.on('close', stop);
  out.on('end', stop);
  file.pipe(out);
  return {
    stream: out,
    exceeded: () => exceeded,
    drain() {
      stop();
      file.unpipe(out);
      file.resume();
    },
    abort(err) {
      stop();
      out.destroy(err);
    },
  };
}
