/** JSONL log of accepted recipients: one line `{t, to, hash, sessionId}` per recipient. */
import { createWriteStream, type WriteStream } from 'node:fs';
import { PRIVATE_FILE } from '../lib/private-files';

export class AcceptedLog {
  private stream: WriteStream;

  constructor(readonly path: string) {
    this.stream = createWriteStream(path, { flags: 'a', mode: PRIVATE_FILE });
    // A log that cannot be written must not crash the simulator (it is a diagnostic, not the product).
    this.stream.on('error', () => undefined);
  }

  write(recipients: readonly string[], hash: string, sessionId: string): void {
    const t = new Date().toISOString();
    let lines = '';
    for (const to of recipients) lines += `${JSON.stringify({ t, to, hash, sessionId })}\n`;
    this.stream.write(lines);
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.stream.end(resolve));
  }
}
