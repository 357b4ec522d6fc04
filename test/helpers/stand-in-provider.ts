/**
 * A small real HTTP stand-in for the 2Factor R1 endpoint, used by the sending tests until the provider team's
 * simulator lands on main. Sliding 1 s window enforcement (429), latency range, scripted answers, and the
 * counters the tests assert on: duplicates (same number accepted twice), maxWindow (max requests in any 1 s).
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type StandInAnswer = 'ok' | 'throttle' | 'fatal' | 'bad-number' | 'template' | 'busy' | 'error502' | 'hang';

export interface StandInOptions {
  apiKey: string;
  /** Sliding-window limit per second (null = unlimited). */
  rate: number | null;
  latencyMs: [number, number];
  /** Decides the answer for the n-th request (1-based); default 'ok'. */
  script?: (n: number, to: string[]) => StandInAnswer;
}

export interface StandInStats {
  requests: number;
  accepted: number;
  acceptedRecipients: number;
  duplicates: number;
  maxWindow: number;
  throttled: number;
  errors: number;
  inFlight: number;
  maxInFlight: number;
  connections: number;
}

export interface StandIn {
  url: string;
  stats(): StandInStats;
  /** How many times each number was accepted. */
  accepted(): Map<string, number>;
  /** Arrival times (ms, monotonic) of every request. */
  arrivals(): number[];
  /** How many answers were written at or after monotonic time `since` (ms). */
  answeredSince(since: number): number;
  configure(patch: Partial<StandInOptions>): void;
  close(): Promise<void>;
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export async function startStandIn(initial: StandInOptions): Promise<StandIn> {
  const opts = { ...initial };
  const stats: StandInStats = { requests: 0, accepted: 0, acceptedRecipients: 0, duplicates: 0, maxWindow: 0, throttled: 0, errors: 0, inFlight: 0, maxInFlight: 0, connections: 0 };
  const acceptedPhones = new Map<string, number>();
  const arrivals: number[] = [];
  const answers: number[] = [];
  let windowStart = 0;
  // Requests the limiter let through (a rejected request does not use up the budget).
  const admitted: number[] = [];
  let admittedStart = 0;
  let session = 0;

  const reply = (res: ServerResponse, code: number, body: object) => {
    res.writeHead(code, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };

  const server = createServer((req, res) => {
    const now = performance.now();
    arrivals.push(now);
    while (arrivals[windowStart]! <= now - 1000) windowStart++;
    const inWindow = arrivals.length - windowStart;
    stats.maxWindow = Math.max(stats.maxWindow, inWindow);
    stats.requests++;
    const n = stats.requests;
    stats.inFlight++;
    stats.maxInFlight = Math.max(stats.maxInFlight, stats.inFlight);
    void readBody(req).then((raw) => {
      const form = new URLSearchParams(raw);
      const to = (form.get('to') ?? '').split(',').filter(Boolean);
      let answer: StandInAnswer = opts.script ? opts.script(n, to) : 'ok';
      if (form.get('apikey') !== opts.apiKey) answer = 'fatal';
      while (admitted[admittedStart]! <= now - 1000) admittedStart++;
      if (opts.rate !== null && admitted.length - admittedStart >= opts.rate) answer = 'throttle';
      else admitted.push(now);
      const [min, max] = opts.latencyMs;
      const latency = answer === 'hang' ? 60_000 : min + Math.random() * (max - min);
      const timer = setTimeout(() => {
        stats.inFlight--;
        answers.push(performance.now());
        switch (answer) {
          case 'ok':
            stats.accepted++;
            for (const p of to) {
              const seen = acceptedPhones.get(p) ?? 0;
              if (seen) stats.duplicates++;
              acceptedPhones.set(p, seen + 1);
              stats.acceptedRecipients++;
            }
            return reply(res, 200, { Status: 'Success', Details: `sess-${++session}` });
          case 'throttle':
            stats.throttled++;
            return reply(res, 429, { Status: 'Error', Details: 'Too many requests' });
          case 'fatal':
            stats.errors++;
            return reply(res, 200, { Status: 'Error', Details: 'Invalid API Key - No Account Exists' });
          case 'bad-number':
            stats.errors++;
            return reply(res, 200, { Status: 'Error', Details: 'Invalid Phone Number' });
          case 'template':
            stats.errors++;
            return reply(res, 200, { Status: 'Error', Details: 'Incorrect sender id and templatename provided' });
          case 'busy':
            stats.errors++;
            return reply(res, 503, { Status: 'Error', Details: 'Service busy - request not processed' });
          case 'error502':
          case 'hang':
            stats.errors++;
            return reply(res, 502, { Status: 'Error', Details: 'Bad Gateway' });
        }
      }, latency);
      res.on('close', () => {
        if (!res.writableEnded) {
          clearTimeout(timer);
          stats.inFlight--;
        }
      });
    });
  });
  server.keepAliveTimeout = 60_000;
  server.on('connection', () => stats.connections++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    stats: () => ({ ...stats }),
    accepted: () => new Map(acceptedPhones),
    arrivals: () => [...arrivals],
    answeredSince: (since) => answers.filter((t) => t >= since).length,
    configure: (patch) => Object.assign(opts, patch),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
