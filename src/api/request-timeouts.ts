/**
 * How long a client may take to send its request, so slow or stalled clients cannot hold the server's connections:
 * - the head (request line and headers), and a new connection's first request: Node's `headersTimeout`, checked
 *   every `connectionsCheckingInterval` (30 s by default: a 10 s timeout was enforced after up to 40 s);
 * - a body fastify reads before the handler (JSON, form: at most the body limit): `registerBodyTimeout` here.
 *   Node's own `requestTimeout` would do that for every route, the CSV upload too, which may take minutes on a slow
 *   link; the upload has its own guard instead (no byte for 30 s ends it, upload-stream.ts), so its route says
 *   `config: { streamsBody: true }` and is left out (it holds the fields before the file to this timeout itself).
 * A refused client is answered 408 with `Connection: close`, and its connection closed.
 */
import { STATUS_CODES, type IncomingMessage, type ServerOptions, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { FastifyInstance } from 'fastify';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The handler reads the body as a stream and bounds it itself (the CSV upload): no body deadline. */
    streamsBody?: boolean;
  }
}

/** Options for http.createServer (fastify's `http`): the head deadline, checked often enough to hold to it. */
export function headTimeoutOptions(headersTimeoutMs: number): ServerOptions {
  return {
    headersTimeout: headersTimeoutMs,
    connectionsCheckingInterval: Math.max(50, Math.min(1000, Math.floor(headersTimeoutMs / 2))),
  };
}

/** Whether a request announces a body still to come. */
function bodyToCome(req: IncomingMessage): boolean {
  if (req.complete) return false;
  return req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;
}

/** A body must be in within `timeoutMs` of its request's head, on every route but those that stream theirs. */
export function registerBodyTimeout(app: FastifyInstance, timeoutMs: number): void {
  app.addHook('onRequest', (req, reply, done) => {
    if (req.routeOptions.config.streamsBody === true || !bodyToCome(req.raw)) return done();
    const timer = setTimeout(() => cutOff(req.raw, reply.raw, timeoutMs), timeoutMs);
    const settled = (): void => clearTimeout(timer);
    req.raw.once('end', settled);
    req.raw.once('close', settled);
    done();
  });
}

function cutOff(req: IncomingMessage, res: ServerResponse, timeoutMs: number): void {
  if (res.headersSent) {
    // Answered already (a route that never reads its body), and the body still trickles in behind the answer.
    req.socket.destroy();
    return;
  }
  const body = JSON.stringify({
    error: { code: 'request_timeout', message: `the request body did not arrive within ${timeoutMs / 1000} s: nothing was done` },
  });
  // Written on the raw response: fastify is still reading the body, and finds the reply sent when that read fails.
  // `Connection: close` makes Node close the connection once the answer is out, with the body still unread.
  res.writeHead(408, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    'x-content-type-options': 'nosniff',
    connection: 'close',
  });
  res.end(body);
}

/** Node's codes for a request it refused before fastify saw it, as the API's status, code and words. */
const CLIENT_ERRORS: Record<string, [number, string, string]> = {
  ERR_HTTP_REQUEST_TIMEOUT: [408, 'request_timeout', 'the request head did not arrive in time: nothing was done'],
  HPE_HEADER_OVERFLOW: [431, 'headers_too_large', 'the request headers are too large'],
};

/**
 * fastify's `clientErrorHandler`: a request Node refused while reading its head (too slow, headers too large, not
 * HTTP) is answered in the API's error shape, like every other refusal; fastify's default wrote its own
 * `{"error":"Request Timeout","message":"Client Timeout","statusCode":408}`.
 */
export function clientError(err: NodeJS.ErrnoException, socket: Duplex): void {
  // A peer that went away, or a socket already answered: nothing to write to.
  if (err.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  const [status, code, message] = CLIENT_ERRORS[err.code ?? ''] ?? [400, 'bad_request', 'the request is not valid HTTP'];
  const body = JSON.stringify({ error: { code, message } });
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\ncontent-type: application/json; charset=utf-8\r\n` +
      `content-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
  );
}
