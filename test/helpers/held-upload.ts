/**
 * A multipart upload to POST /api/lists whose body stops after `head` and never ends on its own (a slow or stalled
 * uploader, boundary `B`): its answer (status 0 and the error's message when the request fails) and `stop()`, which
 * gives the body up.
 */
import { Readable } from 'node:stream';
import { request } from 'undici';
import { TEST_API_TOKEN } from './api-server';

export interface HeldUpload {
  answer: Promise<{ status: number; text: string }>;
  stop(): void;
}

export function heldUpload(apiUrl: string, head: string): HeldUpload {
  const stop = new AbortController();
  async function* body(): AsyncGenerator<Buffer> {
    yield Buffer.from(head);
    await new Promise((r) => stop.signal.addEventListener('abort', r));
  }
  const answer = request(`${apiUrl}/api/lists`, {
    method: 'POST',
    signal: stop.signal,
    headers: { authorization: `Bearer ${TEST_API_TOKEN}`, 'content-type': 'multipart/form-data; boundary=B' },
    body: Readable.from(body()),
  }).then(
    async (r) => ({ status: r.statusCode, text: await r.body.text() }),
    (e: Error) => ({ status: 0, text: e.message }),
  );
  return { answer, stop: () => stop.abort() };
}
