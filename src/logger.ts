/**
 * pino factory. The 2Factor API key travels in URL paths (V1), form bodies and query strings (R1), so
 * redaction works on two levels: well-known fields are censored by path, and every string value that
 * contains the configured key (or looks like an `apikey=` parameter) is scrubbed before it is written.
 */
import pino, { type Logger } from 'pino';

export type { Logger };

const SECRET_FIELDS = [
  'apiKey', 'apikey', 'api_key', 'key', 'token', 'password', 'secret', 'authorization',
];

const REDACT_PATHS = [
  ...SECRET_FIELDS,
  ...SECRET_FIELDS.map((f) => `*.${f}`),
  ...SECRET_FIELDS.map((f) => `*.*.${f}`),
  'req.headers.authorization',
  'headers.authorization',
  '*.headers.authorization',
];

const APIKEY_PARAM = /(apikey=)[^&\s"']+/gi;
/** 2Factor V1 puts the key right after /API/V1/ in the path. */
const V1_PATH_KEY = /(\/API\/V1\/)[^/\s"']+/gi;
/** Campaign webhook URLs carry their secret after /webhooks/dlr/. */
const WEBHOOK_PATH_SECRET = /(\/webhooks\/dlr\/)[^/?\s"']+/gi;
/**
 * The password of a connection URL (`redis://user:password@host`, `postgresql://…`), configured or not. Bounded
 * quantifiers: unbounded, a 100 kB provider answer like `a.a.a.…` took 3 s (every `\b` a start scanning to the end).
 */
const URL_PASSWORD = /(\b[a-z][a-z0-9+.-]{0,31}:\/\/[^\s:/@"']{0,256}:)[^\s/@"']{1,256}@/gi;

export function scrubString(value: string, secrets: readonly string[]): string {
  let out = value
    .replace(APIKEY_PARAM, '$1[REDACTED]')
    .replace(V1_PATH_KEY, '$1[REDACTED]')
    .replace(WEBHOOK_PATH_SECRET, '$1[REDACTED]')
    .replace(URL_PASSWORD, '$1[REDACTED]@');
  for (const secret of secrets) {
    if (secret.length >= 6 && out.includes(secret)) out = out.split(secret).join('[REDACTED]');
  }
  return out;
}

/** Deep copy with every string scrubbed; Errors become plain objects so their message and stack are scrubbed too. */
export function scrubValue(value: unknown, secrets: readonly string[], depth = 0): unknown {
  if (depth > 8) return '[Truncated]';
  if (typeof value === 'string') return scrubString(value, secrets);
  if (value === null || typeof value !== 'object') return value;
  if (value instanceof Error) {
    const plain: Record<string, unknown> = { type: value.name, message: value.message, stack: value.stack };
    for (const [k, v] of Object.entries(value)) plain[k] = v;
    if (value.cause !== undefined) plain.cause = value.cause;
    return scrubValue(plain, secrets, depth + 1);
  }
  if (Array.isArray(value)) return value.map((v) => scrubValue(v, secrets, depth + 1));
  if (value instanceof Date) return value;
  // Bytes are not logged (and pino's path redaction threw on a typed array, losing the whole line).
  if (ArrayBuffer.isView(value)) return `[${value.constructor.name} ${value.byteLength} bytes]`;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = scrubValue(v, secrets, depth + 1);
  return out;
}

export interface LoggerOptions {
  level: string;
  /** Values that must never reach the output (config.ts `secretValues`: the API key, tokens, URL passwords). */
  secrets?: readonly (string | undefined)[];
  pretty?: boolean;
  /** Where to write; defaults to stderr so `--json` stdout stays clean. */
  destination?: pino.DestinationStream;
  /**
   * Called once when the default destination (stderr) meets a closed pipe: pino then drops every later line and
   * tells nobody, so a worker whose log reader died would run on unseen (`bulksms worker 2>&1 | …`).
   */
  onClosedOutput?: () => void;
}

export function createLogger(opts: LoggerOptions): Logger {
  const secrets = (opts.secrets ?? []).filter((s): s is string => typeof s === 'string' && s.length > 0);
  const options: pino.LoggerOptions = {
    level: opts.level,
    redact: { paths: REDACT_PATHS, censor: '[REDACTED]' },
    hooks: {
      // Scrub the interpolated message and every argument object before pino serialises them.
      logMethod(args, method) {
        const scrubbed = args.map((a) => scrubValue(a, secrets)) as Parameters<typeof method>;
        return method.apply(this, scrubbed);
      },
      // The finished line once more: a child logger's bindings (`logger.child({...})`) never pass logMethod.
      streamWrite: (line) => scrubString(line, secrets),
    },
    serializers: { err: (e: unknown) => scrubValue(e, secrets), error: (e: unknown) => scrubValue(e, secrets) },
    base: { pid: process.pid },
  };
  if (opts.pretty && !opts.destination) {
    return pino({ ...options, transport: { target: 'pino-pretty', options: { colorize: true, destination: 2 } } });
  }
  if (opts.destination) return pino(options, opts.destination);
  const stderr = pino.destination({ fd: 2, sync: false });
  const onClosedOutput = opts.onClosedOutput;
  if (onClosedOutput) {
    // Beside pino's own listener, which silences the stream on EPIPE and re-emits anything else.
    const onError = (err: NodeJS.ErrnoException): void => {
      if (err.code !== 'EPIPE') return;
      stderr.off('error', onError);
      onClosedOutput();
    };
    stderr.on('error', onError);
  }
  return pino(options, stderr);
}
