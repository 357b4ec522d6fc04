/**
 * Transport failures against real sockets: refused, reset, hang, HTML 200, queue timeout, aborts, DNS —
 * each classified by whether the request was written. Then every failure class once more, asserting the
 * API key appears in no outcome, error or log line.
 */
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { createTwoFactorProvider, type TwoFactorClient } from '../../../src/provider/twofactor/client';
import type { SendRequest } from '../../../src/provider/sms-provider';
import { startSimulator } from '../../../src/simulator/server';
import { captureLogger } from '../../helpers/provider';
import { freePort } from '../../../scripts/lib/free-port';

const KEY = 'leak-check-5c9e2f71-0d3b-4a8e-b6c4-1f2e3d4c5b6a';
const REQ: SendRequest = { module: 'TRANS_SMS', to: ['+919876543210'], from: 'ACMEIN', content: { kind: 'text', text: 'hello' } };
const log = captureLogger();
const clients: TwoFactorClient[] = [];
const servers: (Server | HttpServer)[] = [];
const sockets = new Set<Socket>();

function client(baseUrl: string, timeoutMs = 1_000, connections = 4): TwoFactorClient {
  const c = createTwoFactorProvider({ baseUrl, apiKey: KEY, timeoutMs, connections, logger: log.logger });
  clients.push(c);
  return c;
}

async function listen(server: Server | HttpServer): Promise<string> {
  servers.push(server);
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** A TCP server that reads the request and then resets the connection (RST) without answering. */
const resetServer = (): Promise<string> => listen(createServer((s) => s.once('data', () => s.resetAndDestroy())));
/** A TCP server that reads and never answers. */
const hangServer = (): Promise<string> => listen(createServer((s) => s.on('data', () => undefined)));
const htmlServer = (status: number, body: string): Promise<string> =>
  listen(createHttpServer((_q, res) => res.writeHead(status, { 'content-type': 'text/html' }).end(body)));

const refusedUrl = async (): Promise<string> => `http://127.0.0.1:${await freePort()}`;

afterAll(async () => {
  for (const s of sockets) s.destroy();
  await Promise.all(clients.map((c) => c.close()));
  await Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
});

describe('transport failures', () => {
  it('connection refused → retryable (not sent)', async () => {
    const out = await client(await refusedUrl()).send(REQ);
    expect(out).toMatchObject({ kind: 'retryable', detail: expect.stringContaining('ECONNREFUSED') });
  });

  it('DNS failure → retryable (not sent)', async () => {
    const out = await client('http://no-such-host.invalid', 3_000).send(REQ);
    expect(out.kind).toBe('retryable');
  });

  it('reset after the request was written → ambiguous', async () => {
    const out = await client(await resetServer()).send(REQ);
    expect(out).toMatchObject({ kind: 'ambiguous', detail: expect.stringContaining('after the request was sent') });
  });

  it('no answer → ambiguous after the timeout', async () => {
    const out = await client(await hangServer(), 200).send(REQ);
    expect(out).toMatchObject({ kind: 'ambiguous', detail: expect.stringContaining('timed out') });
  });

  it('a request given up while still waiting for a pooled connection was never written → retryable', async () => {
    const c = client(await hangServer(), 600, 1);
    const first = c.send(REQ);
    const ctl = new AbortController();
    const second = c.send(REQ, ctl.signal);
    setTimeout(() => ctl.abort(), 150);
    expect(await second).toMatchObject({ kind: 'retryable', detail: expect.stringContaining('not sent') });
    expect((await first).kind).toBe('ambiguous');
  });

  it('caller abort: before dispatch → retryable, mid-request → ambiguous', async () => {
    const c = client(await hangServer(), 5_000);
    expect((await c.send(REQ, AbortSignal.abort())).kind).toBe('retryable');
    const ctl = new AbortController();
    const pending = c.send(REQ, ctl.signal);
    setTimeout(() => ctl.abort(), 100);
    expect(await pending).toMatchObject({ kind: 'ambiguous', detail: expect.stringContaining('aborted') });
  });

  it('HTML with HTTP 200 → ambiguous; HTML 404 → account_fatal (wrong base URL)', async () => {
    expect(await client(await htmlServer(200, '<html>maintenance</html>')).send(REQ)).toMatchObject({ kind: 'ambiguous', httpStatus: 200 });
    expect(await client(await htmlServer(404, '<html>Not Found</html>')).send(REQ)).toMatchObject({ kind: 'account_fatal', httpStatus: 404 });
  });

  it('an unknown path on the simulator is an HTML 404, like 2Factor', async () => {
    const sim = await startSimulator({ apiKey: KEY });
    try {
      const res = await fetch(`${sim.url}/API/V2/whatever`);
      expect(res.status).toBe(404);
      expect(res.headers.get('content-type')).toContain('text/html');
      expect(await client(`${sim.url}/nope`).send(REQ)).toMatchObject({ kind: 'account_fatal', httpStatus: 404 });
    } finally {
      await sim.close();
    }
  });
});

describe('the API key never leaks', () => {
  it('appears in no outcome, thrown error or log line for any outcome class', async () => {
    const ours = await startSimulator({ apiKey: KEY, rate: 3, failRate: 0 });
    const theirs = await startSimulator({ apiKey: 'a-different-key-000000' });
    // A hostile server that echoes the request (URL path and form body, which carry the key) in its Details.
    const echo = await listen(
      createHttpServer((req, res) => {
        let body = '';
        req.on('data', (c: Buffer) => (body += c.toString()));
        req.on('end', () => res.end(JSON.stringify({ Status: 'Error', Details: `bad request ${req.url} ${body} ${decodeURIComponent(body)}` })));
      }),
    );
    const badNumber: SendRequest = { ...REQ, to: ['+9112'] };
    try {
      const plan: [string, SendRequest[]][] = [
        [await refusedUrl(), [REQ]], // retryable (not sent)
        [await resetServer(), [REQ]], // ambiguous (reset)
        [await hangServer(), [REQ]], // ambiguous (timeout)
        [await htmlServer(200, '<p>x</p>'), [REQ]], // ambiguous (HTML)
        [echo, [REQ]], // permanent_campaign (unknown text echoing the key)
        [theirs.url, [REQ]], // account_fatal
        [ours.url, [REQ, badNumber, REQ, REQ]], // accepted, permanent_recipient, accepted, retryable (429)
      ];
      const seen: string[] = [];
      const kinds = new Set<string>();
      for (const [url, requests] of plan) {
        const c = client(url, 300);
        for (const req of requests) {
          const out = await c.send(req);
          kinds.add(out.kind);
          seen.push(JSON.stringify(out));
        }
        for (const call of [() => c.balance('TRANSACTIONAL_SMS'), () => c.deliveryReport('s'), () => c.sendOtp('+919876543210'), () => c.verifyOtp('s', '1')]) {
          // Some calls legitimately succeed (a balance, an HTML 200 report is "not found"); errors must be typed.
          const result = await call().then(
            (value) => JSON.stringify(value),
            (e: unknown) => (e instanceof Error ? `${e.name}: ${e.message}\n${e.stack}\n${JSON.stringify(e)}` : `not an Error: ${String(e)}`),
          );
          expect(result).not.toMatch(/^not an Error/);
          seen.push(result);
        }
      }
      expect([...kinds].sort()).toEqual(['accepted', 'account_fatal', 'ambiguous', 'permanent_campaign', 'permanent_recipient', 'retryable']);
      const everything = `${seen.join('\n')}\n${log.text()}`;
      expect(everything).toContain('[REDACTED]');
      expect(everything).toContain('Invalid API Key');
      expect(everything).not.toContain(KEY);
      expect(everything).not.toContain(encodeURIComponent(KEY));
    } finally {
      await ours.close();
      await theirs.close();
    }
  });
});
