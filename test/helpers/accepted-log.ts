/**
 * Reads the simulator's accepted-recipients JSONL log (`--log` / `logPath`, written by
 * src/simulator/accepted-log.ts) into per-number counts, to check duplicates and gaps per recipient.
 * Shared by the in-process test simulator and the chaos suite's simulator process.
 */
import { readFile } from 'node:fs/promises';

/** Gives up waiting for lines after this long: the caller's count then shows what is missing. */
const WAIT_MS = 1_000;
const POLL_MS = 20;

/** Accepted count per number as stored in `messages.phone` (with the leading +; the log has none). */
export function countAccepted(text: string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line) continue;
    const to = `+${(JSON.parse(line) as { to: string }).to}`;
    counts.set(to, (counts.get(to) ?? 0) + 1);
  }
  return counts;
}

/**
 * The log is written asynchronously: waits (up to WAIT_MS) until it holds `expected` recipients, i.e. the
 * simulator's acceptedRecipients, then counts what is there.
 */
export async function readAcceptedLog(logPath: string, expected: number): Promise<Map<string, number>> {
  for (let waited = 0; ; waited += POLL_MS) {
    const text = await readFile(logPath, 'utf8').catch(() => '');
    const lines = text.split('\n').filter(Boolean).length;
    if (lines >= expected || waited >= WAIT_MS) return countAccepted(text);
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}
