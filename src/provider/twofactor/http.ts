/**
 * Thin undici transport that knows whether a request was handed to a socket. That single bit decides
 * between "certainly not sent" (retryable) and "may have been sent" (ambiguous) for every transport
 * failure, so it is tracked precisely with a dispatch handler: `onRequestStart` runs synchronously right
 * before undici writes the request; aborting inside it prevents the write.
 *
 * Never throws: every failure comes back as a `TransportFailure`.
 */
import { Pool, type Dispatcher } from 'undici';
import type { IncomingHttpHeaders } from 'node:http';

export interface HttpResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface TransportFailure {
  /** True once the request was handed to a connection: the provider may have received it. */
  written: boolean;
  reason: 'timeout' | 'aborted' | 'network';
  /** What happened, without URL, path or body (those carry the API key). */
  detail: string;
}

export type HttpResult = { ok: true; response: HttpResponse } | { ok: false; failure: TransportFailure };

export interface HttpTransportOptions {
  baseUrl: string;
  /** Whole-request budget, waiting for a free connection included. */
  timeoutMs: number;
  /** Keep-alive connections; size it to the send concurrency. */
  connections: number;
  /** Answers larger than this are cut off (and count as a transport failure). Default 1 MiB. */
  maxBodyBytes?: number;
}

export interface HttpRequest {
  method: 'GET' | 'POST';
  /** Path below the base URL, starting with '/'. */
  path: string;
  body?: string;
  contentType?: string;
  signal?: AbortSignal;
  /** Called synchronously right before the request is written to a connection (after any connect). */
  onWrite?: () => void;
}

/** `code: message` of an undici/Node error, e.g. `ECONNREFUSED: connect ECONNREFUSED 127.0.0.1:1`. */
export function describeError(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const code = (err as NodeJS.ErrnoException).code;
  const inner = err instanceof AggregateError && err.errors[0] instanceof Error ? ` (${describeError(err.errors[0])})` : '';
  return `${code ? `${code}: ` : ''}${err.message || err.name}${inner}`;
}

export class HttpTransport {
  private readonly pool: Pool;
  private readonly prefix: string;
  private readonly maxBodyBytes: number;

  constructor(private readonly opts: HttpTransportOptions) {
    const url = new URL(opts.baseUrl);
    this.prefix = url.pathname.replace(/\/+$/, '');
    this.maxBodyBytes = opts.maxBodyBytes ?? 1024 * 1024;
    this.pool = new Pool(url.origin, {
      connections: opts.connections,
      pipelining: 1,
      connect: { timeout: opts.timeoutMs },
      // Backstops only: our own timer (below) fires first and knows whether the request was written.
      headersTimeout: opts.timeoutMs + 1_000,
      bodyTimeout: opts.timeoutMs + 1_000,
    });
  }

  request(req: HttpRequest): Promise<HttpResult> {
    return new Promise<HttpResult>((resolve) => {
      let written = false;
      let settled = false;
      let controller: Dispatcher.DispatchController | undefined;
      let status = 0;
      let headers: IncomingHttpHeaders = {};
      const chunks: Buffer[] = [];
      let size = 0;

      const settle = (result: HttpResult): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        req.signal?.removeEventListener('abort', onAbort);
        resolve(result);
      };
      const fail = (reason: TransportFailure['reason'], detail: string): void =>
        settle({ ok: false, failure: { written, reason, detail } });
      const giveUp = (reason: 'timeout' | 'aborted'): void => {
        fail(reason, reason === 'timeout' ? `no complete answer within ${this.opts.timeoutMs} ms` : 'aborted by the caller');
        // Not started yet: onRequestStart will abort before writing. Started: tear the request down.
        controller?.abort(new Error(reason));
      };
      const onAbort = (): void => giveUp('aborted');
      const timer = setTimeout(() => giveUp('timeout'), this.opts.timeoutMs);

      if (req.signal?.aborted) {
        fail('aborted', 'aborted by the caller before sending');
        return;
      }
      req.signal?.addEventListener('abort', onAbort, { once: true });

      const handler: Dispatcher.DispatchHandler = {
        onRequestStart: (c) => {
          controller = c;
          if (settled) {
            c.abort(new Error('gave up before sending'));
            return;
          }
          written = true;
          req.onWrite?.();
        },
        onResponseStart: (_c, statusCode, responseHeaders) => {
          status = statusCode;
          headers = responseHeaders;
        },
        onResponseData: (c, chunk) => {
          size += chunk.length;
          if (size > this.maxBodyBytes) {
            c.abort(new Error(`answer larger than ${this.maxBodyBytes} bytes`));
            return;
          }
          chunks.push(chunk);
        },
        onResponseEnd: () => settle({ ok: true, response: { status, headers, body: Buffer.concat(chunks).toString('utf8') } }),
        onResponseError: (_c, err) => fail('network', describeError(err)),
      };
      const headersOut: Record<string, string> = { accept: 'application/json, text/xml;q=0.9, */*;q=0.1' };
      if (req.contentType) headersOut['content-type'] = req.contentType;
      try {
        this.pool.dispatch({ path: this.prefix + req.path, method: req.method, headers: headersOut, body: req.body }, handler);
      } catch (err) {
        fail('network', describeError(err));
      }
    });
  }

  /** Lets in-flight requests finish (bounded by the request timeout), then drops whatever still hangs. */
  async close(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((r) => {
      timer = setTimeout(r, this.opts.timeoutMs);
    });
    await Promise.race([this.pool.close(), deadline]);
    clearTimeout(timer);
    if (!this.pool.destroyed) await this.pool.destroy();
  }
}
