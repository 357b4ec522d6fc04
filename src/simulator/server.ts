/**
 * The built-in 2Factor look-alike over plain node:http (fast enough never to be the bottleneck).
 * 2Factor paths answer like 2Factor; `/__stats`, `/__config` and `/__reset` are the simulator's own.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AppError } from '../errors';
import { resolveOptions, type SimulatorInput, type SimulatorOptions } from './options';
import { handleSend } from './r1';
import { html, json, onBody, readBody } from './responses';
import { Simulator } from './simulator';
import type { SimulatorStats } from './stats';
import { handleV1 } from './v1';

export type { SimulatorOptions, SimulatorInput } from './options';
export type { SimulatorStats } from './stats';

export interface RunningSimulator {
  url: string;
  port: number;
  stats(): SimulatorStats;
  /** Validated runtime patch (throws ValidationError); `port`/`host` changes do not rebind. */
  configure(patch: Partial<SimulatorOptions>): void;
  close(): Promise<void>;
}

function splitPath(pathname: string): string[] | null {
  try {
    return pathname.split('/').map(decodeURIComponent);
  } catch {
    return null;
  }
}

async function handleAdmin(sim: Simulator, req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
  if (path === '/__stats' && req.method === 'GET') return json(res, 200, sim.stats());
  if (path === '/__reset' && req.method === 'POST') {
    sim.reset();
    return json(res, 200, sim.stats());
  }
  if (path === '/__config' && req.method === 'POST') {
    const body = await readBody(req);
    let patch: unknown;
    try {
      patch = JSON.parse(body ?? '');
    } catch {
      return json(res, 400, { error: 'body must be a JSON object' });
    }
    try {
      sim.configure(patch);
    } catch (err) {
      return json(res, 400, { error: err instanceof AppError ? err.message : String(err) });
    }
    const { apiKey: _key, ...visible } = sim.opts;
    return json(res, 200, visible);
  }
  html(res, 404, 'Not Found');
}

/**
 * A send's work runs after every other request that arrived with it was stamped too (setImmediate runs after
 * the poll phase). Stamping after the work made the n-th request of a burst wait for n - 1 others' handling
 * (~150 µs each, bench:http-floor): a burst of 40 shifted the last stamp ~6 ms, and a late stamp at the start
 * of a second is one too many in it.
 */
function deferSend(sim: Simulator, res: ServerResponse, arrivedAt: number, params: () => URLSearchParams): void {
  setImmediate(() => {
    try {
      handleSend(sim, params(), res, arrivedAt);
    } catch {
      html(res, 500, 'Internal Server Error');
    }
  });
}

function handle(sim: Simulator, req: IncomingMessage, res: ServerResponse): void {
  // A send's arrival is stamped here, when its headers are parsed (see deferSend).
  const arrivedAt = performance.now();
  // Split by hand: `new URL()` per request is a measurable share of the simulator's CPU.
  const raw = req.url ?? '/';
  const q = raw.indexOf('?');
  const path = q < 0 ? raw : raw.slice(0, q);
  if (path.startsWith('/__')) {
    handleAdmin(sim, req, res, path).catch(() => html(res, 500, 'Internal Server Error'));
    return;
  }
  const isR1 = path === '/API/R1/' || path === '/API/R1';
  const segments = path.startsWith('/API/V1/') ? splitPath(path.slice('/API/V1/'.length)) : null;
  if (!isR1 && !segments) {
    sim.counters.error('not_found');
    return html(res, 404, 'Not Found');
  }
  sim.counters.apiRequests++;
  if (segments) return handleV1(sim, segments, res);
  const query = q < 0 ? '' : raw.slice(q + 1);
  if (req.method !== 'POST') return deferSend(sim, res, arrivedAt, () => new URLSearchParams(query));
  onBody(req, (body) => {
    if (body === null) return html(res, 413, 'Request Entity Too Large');
    deferSend(sim, res, arrivedAt, () => {
      const params = new URLSearchParams(body);
      // Form fields win over query parameters (2Factor's precedence is unverified; clients send one or the other).
      if (query) for (const [k, v] of new URLSearchParams(query)) if (!params.has(k)) params.set(k, v);
      return params;
    });
  });
}

export async function startSimulator(input: SimulatorInput): Promise<RunningSimulator> {
  const sim = new Simulator(resolveOptions(input));
  const server: Server = createServer((req, res) => {
    try {
      handle(sim, req, res);
    } catch {
      html(res, 500, 'Internal Server Error');
    }
  });
  server.keepAliveTimeout = 10_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(sim.opts.port, sim.opts.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const host = sim.opts.host.includes(':') ? `[${sim.opts.host}]` : sim.opts.host;
  return {
    url: `http://${host}:${port}`,
    port,
    stats: () => sim.stats(),
    configure: (patch) => sim.configure(patch),
    close: async () => {
      await sim.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
