/**
 * Request timeouts over real sockets: a client trickling its headers (slowloris) or a JSON body is answered 408 and
 * cut off, while a CSV upload that takes longer than both timeouts, but never stalls, still imports.
 */
import { connect } from 'node:net';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { request } from 'undici';
import { useTestEnv } from '../../helpers/env';
import { wiredServices } from '../../../src/cli/commands/serve';
import { TEST_API_TOKEN, startApi, type RunningApi } from '../../helpers/api-server';

const HEADERS_TIMEOUT_MS = 500;
const BODY_TIMEOUT_MS = 800;
const env = useTestEnv({
  API_TOKEN: TEST_API_TOKEN,
  API_HEADERS_TIMEOUT_MS: String(HEADERS_TIMEOUT_MS),
  API_BODY_TIMEOUT_MS: String(BODY_TIMEOUT_MS),
});

interface Trickled {
  /** What the server wrote before it closed the connection. */
  answer: string;
  /** Bytes of `slowly` sent by then: fewer than all of them means the server cut the client off. */
  sent: number;
  closedAfterMs: number;
}

/** Writes `head` at once, then `slowly` one byte every `everyMs`, until the server closes the connection (or 15 s). */
function trickle(url: string, head: string, slowly: string, everyMs = 50): Promise<Trickled> {
  const { hostname, port } = new URL(url);
  const started = Date.now();
  return new Promise((resolve) => {
    const socket = connect(Number(port), hostname);
    let answer = '';
    let sent = 0;
    const timer = setInterval(() => {
      if (sent < slowly.length) socket.write(slowly[sent++]!);
    }, everyMs);
    const giveUp = setTimeout(() => socket.destroy(), 15_000);
    socket.on('connect', () => socket.write(head));
    socket.on('data', (chunk) => (answer += chunk.toString('latin1')));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearInterval(timer);
      clearTimeout(giveUp);
      resolve({ answer, sent, closedAfterMs: Date.now() - started });
    });
  });
}

describe('request timeouts', () => {
  let api: RunningApi;
  beforeAll(async () => {
    api = await startApi(env.container(), wiredServices(), { dashboard: false });
    env.cleanup(() => api.close());
  });

  it('answers 408 and closes a connection whose headers arrive byte by byte', async () => {
    const headers = `POST /api/campaigns HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TEST_API_TOKEN}\r\nX-Pad: ${'a'.repeat(200)}\r\n\r\n`;
    const cut = await trickle(api.url, '', headers);
    expect(cut.answer).toMatch(/^HTTP\/1\.1 408 /);
    // In the API's error shape, like every other refusal.
    expect(JSON.parse(cut.answer.slice(cut.answer.indexOf('\r\n\r\n') + 4))).toEqual({
      error: { code: 'request_timeout', message: expect.stringContaining('request head') },
    });
    expect(cut.sent).toBeLessThan(headers.length);
    // Cut at the timeout (checked every half of it), not after Node's default 60 s.
    expect(cut.closedAfterMs).toBeLessThan(HEADERS_TIMEOUT_MS * 2 + 1000);
  });

  it('answers headers too large and a request that is not HTTP in the API\'s error shape', async () => {
    const raw = async (text: string): Promise<{ status: string; body: unknown }> => {
      const socket = connect(Number(new URL(api.url).port), '127.0.0.1');
      const chunks: Buffer[] = [];
      socket.on('data', (c: Buffer) => chunks.push(c));
      await new Promise<void>((resolve) => socket.on('connect', () => resolve()));
      socket.write(text);
      await new Promise<void>((resolve) => socket.on('close', () => resolve()));
      const answer = Buffer.concat(chunks).toString();
      return { status: answer.slice(0, answer.indexOf('\r\n')), body: JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4)) };
    };
    expect(await raw(`GET /health HTTP/1.1\r\nHost: x\r\nX-Pad: ${'a'.repeat(20_000)}\r\n\r\n`)).toEqual({
      status: 'HTTP/1.1 431 Request Header Fields Too Large',
      body: { error: { code: 'headers_too_large', message: expect.any(String) } },
    });
    expect(await raw('NOT HTTP AT ALL\r\n\r\n')).toEqual({
      status: 'HTTP/1.1 400 Bad Request',
      body: { error: { code: 'bad_request', message: expect.any(String) } },
    });
  });

  it('closes a connection that never sends a byte', async () => {
    const idle = await trickle(api.url, '', '');
    expect(idle.closedAfterMs).toBeLessThan(HEADERS_TIMEOUT_MS * 2 + 1000);
  });

  it('answers 408 and closes a connection whose JSON body arrives byte by byte', async () => {
    const body = JSON.stringify({ name: 'slow'.repeat(40), list: 'none', type: 'transactional', from: 'ACMEIN', text: 'Hi' });
    const head =
      `POST /api/campaigns HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TEST_API_TOKEN}\r\n` +
      `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n`;
    const cut = await trickle(api.url, head, body);
    expect(cut.answer).toMatch(/^HTTP\/1\.1 408 /);
    expect(cut.answer).toMatch(/connection: close/i);
    expect(JSON.parse(cut.answer.slice(cut.answer.indexOf('\r\n\r\n') + 4))).toEqual({
      error: { code: 'request_timeout', message: expect.stringContaining('request body') },
    });
    expect(cut.sent).toBeLessThan(body.length);
    expect(cut.closedAfterMs).toBeLessThan(BODY_TIMEOUT_MS + 1500);
    // Nothing was created from the part that arrived.
    expect((await env.container().pg.query(`SELECT 1 FROM campaigns`)).rowCount).toBe(0);
  });

  it('answers 408 and closes an upload whose fields before the file arrive byte by byte', async () => {
    const head =
      `POST /api/lists HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TEST_API_TOKEN}\r\n` +
      `Content-Type: multipart/form-data; boundary=B\r\nTransfer-Encoding: chunked\r\n\r\n`;
    // One byte per chunk of the chunked body: the `name` field, a byte at a time (a byte every 50 ms is no stall).
    const field = '--B\r\nContent-Disposition: form-data; name="name"\r\n\r\n' + 'n'.repeat(200);
    const chunked = [...field].map((byte) => `1\r\n${byte}\r\n`).join('');
    const cut = await trickle(api.url, head, chunked, 10);
    expect(cut.answer).toMatch(/^HTTP\/1\.1 408 /);
    expect(cut.sent).toBeLessThan(chunked.length);
    expect(cut.closedAfterMs).toBeLessThan(BODY_TIMEOUT_MS + 1500);
  });

  it('still imports a CSV upload that takes longer than both timeouts but never stalls', async () => {
    const rows = Array.from({ length: 30 }, (_, i) => `98765${String(43210 + i).padStart(5, '0')},N${i}`);
    const parts = [
      '--B\r\nContent-Disposition: form-data; name="name"\r\n\r\nslow-upload\r\n',
      '--B\r\nContent-Disposition: form-data; name="file"; filename="slow.csv"\r\nContent-Type: text/csv\r\n\r\nphone,name\n',
      ...rows.map((r) => `${r}\n`),
      '\r\n--B--\r\n',
    ];
    const started = Date.now();
    async function* slowBody(): AsyncGenerator<Buffer> {
      for (const part of parts) {
        yield Buffer.from(part);
        await sleep(100);
      }
    }
    const res = await request(`${api.url}/api/lists`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TEST_API_TOKEN}`, 'content-type': 'multipart/form-data; boundary=B' },
      body: Readable.from(slowBody()),
    });
    const answer = (await res.body.json()) as { accepted: number };
    expect(Date.now() - started).toBeGreaterThan(BODY_TIMEOUT_MS * 3);
    expect([res.statusCode, answer.accepted]).toEqual([201, 30]);
  });
});
