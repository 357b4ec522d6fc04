/** Answer helpers shaped like 2Factor's: JSON envelopes (errors too, as HTTP 200), XML reports, HTML pages. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { SimulatorOptions } from './options';

function write(res: ServerResponse, status: number, type: string, body: string, extra?: Record<string, string>): void {
  if (res.headersSent || res.destroyed) return;
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body), ...extra });
  res.end(body);
}

export function envelope(res: ServerResponse, status: 'Success' | 'Error', details: string, http = 200, extra?: Record<string, string>): void {
  write(res, http, 'application/json; charset=utf-8', JSON.stringify({ Status: status, Details: details }), extra);
}

export function json(res: ServerResponse, http: number, value: unknown): void {
  write(res, http, 'application/json; charset=utf-8', JSON.stringify(value));
}

export function xml(res: ServerResponse, body: string): void {
  write(res, 200, 'text/xml; charset=utf-8', body);
}

export function html(res: ServerResponse, http: number, title: string): void {
  write(res, http, 'text/html; charset=utf-8', `<!DOCTYPE html><html><head><title>${http} ${title}</title></head><body><h1>${title}</h1></body></html>`);
}

/** A fault's answer (see SimulatorOptions.faultKind). */
export function fault(res: ServerResponse, kind: SimulatorOptions['faultKind']): void {
  switch (kind) {
    case 'http_502':
      return html(res, 502, 'Bad Gateway');
    case 'http_500_error':
      return envelope(res, 'Error', 'Internal Server Error', 500);
    case 'empty_200':
      return write(res, 200, 'application/json; charset=utf-8', '');
    case 'truncated_200':
      return write(res, 200, 'application/json; charset=utf-8', '{"Status":"Succ');
    case 'reset':
      res.socket?.resetAndDestroy();
      return;
  }
}

/**
 * Calls `done` with the request body as text, or null when it exceeds `limit` bytes or the request fails.
 * Callback style on purpose: this is the hot path of every send, and a Promise per request costs throughput.
 */
export function onBody(req: IncomingMessage, done: (body: string | null) => void, limit = 1024 * 1024): void {
  let text = '';
  let size = 0;
  req.setEncoding('utf8');
  req.on('data', (c: string) => {
    // The limit is in bytes: a character of Hindi sent unescaped is three of them.
    size += Buffer.byteLength(c);
    if (size <= limit) text += c;
  });
  req.on('end', () => done(size > limit ? null : text));
  req.on('error', () => done(null));
}

export function readBody(req: IncomingMessage, limit = 1024 * 1024): Promise<string | null> {
  return new Promise((resolve) => onBody(req, resolve, limit));
}
