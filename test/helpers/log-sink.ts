/** A stream that keeps what a logger (or any writer) wrote, chunk by chunk (pino writes one line per chunk). */
import { Writable } from 'node:stream';

export interface LogSink {
  destination: Writable;
  /** The chunks written so far (the array given, when one was). */
  lines: string[];
  text(): string;
}

export function logSink(into: string[] = []): LogSink {
  const destination = new Writable({
    write(chunk: Buffer, _enc, done) {
      into.push(chunk.toString());
      done();
    },
  });
  return { destination, lines: into, text: () => into.join('') };
}
