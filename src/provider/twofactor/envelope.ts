import { fieldIgnoringCase } from '../../lib/field-ignoring-case';
/** The 2Factor JSON envelope `{"Status":"Success"|"Error","Details":...}`, judged by body, never by HTTP code. */
export interface Envelope {
  status: string;
  /** `Details` as text (balances arrive as strings or numbers); '' when absent. */
  details: string;
}

/**
 * `Success`/`Error` whatever their case and surrounding spaces: a `"success"` with a session id was accepted, and an
 * `"ERROR"` is a definite refusal, yet compared exactly both became `unknown` (never re-sent, never failed).
 * Any other status stays as written (and is judged ambiguous).
 */
function canonicalStatus(raw: string): string {
  const s = raw.trim().toLowerCase();
  return s === 'success' ? 'Success' : s === 'error' ? 'Error' : raw;
}

export function parseEnvelope(body: string): Envelope | null {
  const trimmed = body.trim();
  if (!trimmed.startsWith('{')) return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(trimmed);
  } catch {
    return null;
  }
  if (!parsed || typeof parsed !== 'object') return null;
  const record = parsed as Record<string, unknown>;
  const status = fieldIgnoringCase(record, 'Status');
  if (typeof status !== 'string') return null;
  const details = fieldIgnoringCase(record, 'Details');
  return {
    status: canonicalStatus(status),
    details: typeof details === 'string' || typeof details === 'number' ? String(details) : '',
  };
}

/** Retry-After as milliseconds (delta-seconds or an HTTP date); undefined when absent or unusable. */
export function retryAfterMs(value: string | string[] | undefined, now = Date.now()): number | undefined {
  const raw = Array.isArray(value) ? value[0] : value;
  if (!raw) return undefined;
  if (/^\d+(\.\d+)?$/.test(raw.trim())) return Math.round(Number(raw) * 1000);
  const date = Date.parse(raw);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** A short, key-free description of a body that is not an envelope (for outcome details). */
export function describeBody(status: number, contentType: string | string[] | undefined, body: string): string {
  const type = (Array.isArray(contentType) ? contentType[0] : contentType)?.split(';')[0] ?? 'no content-type';
  const kind = body.trim() === '' ? 'an empty body' : /^\s*</.test(body) ? `an HTML/XML body (${type})` : `an unparseable body (${type})`;
  return `HTTP ${status} with ${kind}`;
}
