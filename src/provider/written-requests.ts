/**
 * The provider's limit as this process wrote its requests: the moment undici writes each request's headers to a
 * connection (its `undici:client:sendHeaders` diagnostics channel, published in the same tick as the write), counted
 * in the sliding 1-second window the simulator uses.
 *
 * Why: the simulator stamps a request when its own event loop gets to it. On a busy machine that process stalls
 * (traced at 14–36 ms on a shared 2-core VM) and the requests written meanwhile are stamped together, a burst that was
 * never sent: the demo's "max in any 1 s" can read 204 of 200 while every second of what this process wrote held 200
 * (measured on the wire with tcpdump, scripts/lib/wire-capture.ts). Showing both says which clock went over.
 * Only the time and the path's `/API/` prefix are read: the rest of a V1 path holds the API key.
 */
import diagnostics from 'node:diagnostics_channel';
import { SlidingWindow } from '../simulator/sliding-window';

const SEND_HEADERS = 'undici:client:sendHeaders';

export interface WrittenRequests {
  /** Most provider requests (`/API/…`) written in any 1-second window so far. */
  maxWindow(): number;
  stop(): void;
}

interface SendHeadersMessage {
  request: { origin?: unknown; path?: unknown };
}

/** Watches this process's requests to `origin` (e.g. `http://127.0.0.1:3001`) until stop(). */
export function watchWrittenRequests(origin: string): WrittenRequests {
  const expected = new URL(origin).origin;
  const window = new SlidingWindow();
  let max = 0;
  const onMessage = (message: unknown): void => {
    const { request } = message as SendHeadersMessage;
    if (String(request.origin) !== expected || typeof request.path !== 'string' || !request.path.startsWith('/API/')) return;
    max = Math.max(max, window.add(performance.now()));
  };
  diagnostics.subscribe(SEND_HEADERS, onMessage);
  return {
    maxWindow: () => max,
    stop: () => void diagnostics.unsubscribe(SEND_HEADERS, onMessage),
  };
}
