/** Helpers for provider/simulator tests: a capturing raw pino logger (no redaction, so leaks would show). */
import { logSink } from './log-sink';
import pino from 'pino';
import type { Logger } from '../../src/logger';

export function captureLogger(): { logger: Logger; text: () => string } {
  const { destination, text } = logSink();
  return { logger: pino({ level: 'trace' }, destination), text };
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `check` until it returns true or `timeoutMs` passes. */
export async function waitFor(check: () => boolean, timeoutMs = 5_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await sleep(10);
  }
}
