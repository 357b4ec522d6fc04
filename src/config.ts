/**
 * The only module that reads process.env. Every setting of the operator contract
 * (../shared/cli-contract.md) is validated once here; a bad value is a startup error naming the variable.
 */
import path from 'node:path';
import { z } from 'zod';
import { DEFAULT_SENDER_RULES } from './campaign/validation';
import { BIND_HOST_RULE, isBindHost } from './lib/bind-host';
import { PG_LINK_DEFAULTS } from './db/pg';

/**
 * A whole number written in digits, from `min` to `max`. Coerced with Number(), a blank value was 0 (RETENTION_DAYS="
 * " meant archive every ended run), "1e3" and "0x10" numbers, and "abc" said "expected number, received NaN".
 */
const wholeNumber = (min: number, max = Number.MAX_SAFE_INTEGER) => {
  const range = `must be a whole number ${max === Number.MAX_SAFE_INTEGER ? `of ${min} or more` : `from ${min} to ${max}`} (digits only)`;
  return z.string().trim().regex(/^\d{1,15}$/, range).transform(Number).pipe(z.number().min(min, range).max(max, range));
};
const positiveInt = wholeNumber(1);
/** "true"/"1"/"yes" and "false"/"0"/"no", case-insensitive. */
const bool = z
  .string()
  .regex(/^(true|false|1|0|yes|no)$/i, 'true or false')
  .transform((v) => /^(true|1|yes)$/i.test(v));
/** RFC 3986 pchar without percent-escapes: what the router hands to the webhook as it was configured. */
const WEBHOOK_SECRET_CHARS = /^[A-Za-z0-9\-._~!$&'()*+,;=:@]*$/;
const logLevel = z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']);
/** A URL with one of the given schemes: any URL parsed, and a wrong scheme failed later without naming the variable. */
const urlWithScheme = (...schemes: string[]) =>
  z.string().superRefine((value, ctx) => {
    const problem = urlProblem(value, schemes);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  });

/** Special characters of a URL's user or password and what they are written as. */
const PERCENT_ENCODE_HINT = 'special characters of the user and password percent-encoded: / as %2F, ? as %3F, # as %23, @ as %40, % as %25';

/**
 * Why a URL setting is unusable, in words that never quote it (a password would be in them). A password holding an
 * unescaped "/", "?" or "#" ends the host part early, and the URL still parses: pg and ioredis connected to a piece
 * of the password as the host ("getaddrinfo ENOTFOUND <that piece>" in every error and log line, exit 1, the
 * variable never named). Nothing a service's URL means comes after a "#" or has an "@" past the host.
 */
function urlProblem(value: string, schemes: readonly string[]): string | undefined {
  const expected = `a ${schemes.join(':// or ')}:// URL`;
  if (!URL.canParse(value)) return `is not ${expected} (scheme://user:password@host:port/…, ${PERCENT_ENCODE_HINT})`;
  const url = new URL(value);
  if (!schemes.includes(url.protocol.replace(/:$/, ''))) return `must be ${expected}`;
  if (value.includes('#') || url.pathname.includes('@') || url.search.includes('@')) {
    return `has a "#", or an "@" after its host: a "/", "?" or "#" in the password cuts the host short (write the URL with ${PERCENT_ENCODE_HINT})`;
  }
  return undefined;
}

/** A regular expression source; an invalid one failed every `campaign create` (500 over HTTP) without naming the variable. */
const regexSource = z.string().refine((source) => {
  try {
    new RegExp(source);
    return true;
  } catch {
    return false;
  }
}, 'not a valid regular expression');

/**
 * Kernel pseudo-file systems where Node's recursive mkdirSync never returns (the kernel answers ENOENT with the parent
 * there, and Node retries forever on the main thread, deaf to SIGTERM): REPORTS_DIR=/proc/… hung every import at
 * 100 % CPU. The archive checks its destination the same way (archive/local-destination.ts).
 */
const SPINNING_MKDIR_ROOTS = ['/proc', '/sys'];
const directoryOnDisk = z.string().refine((dir) => {
  const abs = path.resolve(dir);
  return !SPINNING_MKDIR_ROOTS.some((root) => abs === root || abs.startsWith(`${root}/`));
}, 'is under /proc or /sys, a kernel pseudo-file system; choose a directory on a disk');

/**
 * Upper bounds of the millisecond settings that end up in Node timers: a delay above 2^31 − 1 ms fires at once
 * (Node warns and uses 1 ms), so SMS_REQUEST_TIMEOUT_MS=3000000000 timed every request out on the spot (each then
 * `unknown`). A guard of 1 s already halves the rate (limit × 1000 / (1000 + guard)); far larger ones stalled
 * sending, and at low limits the pacer's waits ((1000 + guard) / limit ms apart) overflowed the same way. 10 minutes
 * is far past any answer 2Factor gives.
 */
const MAX_REQUEST_TIMEOUT_MS = 600_000;
const MAX_RATE_GUARD_MS = 1_000;

const schema = z.object({
  /** PostgreSQL; `bulksms migrate` creates the database if it is missing. */
  DATABASE_URL: urlWithScheme('postgresql', 'postgres').default('postgresql://postgres@127.0.0.1:5432/bulksms'),
  /**
   * PostgreSQL's side of every connection probes a silent peer after this many seconds (tcp_keepalives_idle, sent
   * as a startup option; db/pg.ts PgLinkSettings), and our sockets too. A host lost mid-transaction (power, partition,
   * frozen VM) kept its session and row locks for the server's 7200 s. 0 = the server's and system's own setting.
   */
  PG_KEEPALIVE_IDLE_SECONDS: wholeNumber(0, 32_767).default(PG_LINK_DEFAULTS.PG_KEEPALIVE_IDLE_SECONDS),
  /** Seconds between the server's unanswered probes (tcp_keepalives_interval); 0 = the server's setting. */
  PG_KEEPALIVE_INTERVAL_SECONDS: wholeNumber(0, 32_767).default(PG_LINK_DEFAULTS.PG_KEEPALIVE_INTERVAL_SECONDS),
  /** Unanswered probes after which the server ends the session (tcp_keepalives_count); 0 = the server's setting. */
  PG_KEEPALIVE_COUNT: wholeNumber(0, 127).default(PG_LINK_DEFAULTS.PG_KEEPALIVE_COUNT),
  /**
   * The server ends a session whose data stays unacknowledged this long (ms, tcp_user_timeout, PostgreSQL 12 or
   * later: set 0 for an older server, which refuses the name); 0 = the server's setting.
   */
  PG_TCP_USER_TIMEOUT_MS: wholeNumber(0, 2_147_483_647).default(PG_LINK_DEFAULTS.PG_TCP_USER_TIMEOUT_MS),
  /** Redis for BullMQ and the shared rate limiter. */
  REDIS_URL: urlWithScheme('redis', 'rediss').default('redis://127.0.0.1:6379'),
  /** Prefix of every Redis key, so deployments and test runs can share one Redis. */
  QUEUE_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_.-]+$/, 'letters, digits, "_", "." and "-" only')
    .default('bulksms'),
  /** Provider base URL (point it at `bulksms simulator` for demos and tests). */
  TWOFACTOR_BASE_URL: urlWithScheme('https', 'http').default('https://2factor.in'),
  /** Account API key; never logged, never stored in job data. */
  TWOFACTOR_API_KEY: z.string().min(1).optional(),
  /** Account-wide requests per second, shared by every worker on every host. */
  SMS_RATE_LIMIT: positiveInt.default(200),
  /**
   * Jitter budget (ms) between a request's admission and its arrival at the provider: requests are spaced at
   * limit × 1000 / (1000 + guard) and no more than the limit are admitted in any 1 s + ¾ guard (pacer.ts).
   * 12 ms = 98.8 % of the limit, and no 1 s window over it in any bench:send row or chaos run (BENCHMARKS.md,
   * round 4). 8 ms (99.2 %) reaches 0.991–0.992 of 200/s with no window over, but let the chaos suite's SIGKILL
   * row put 404 requests into a second at a limit of 400 in 1 of 4 runs (a restarting worker on 2 cores) and
   * 2000/s up to 8 over. Raise it on a network with more jitter than a LAN; lower it where ≥ 99 % matters more
   * than an occasional 429 (each one is retried without counting an attempt).
   */
  SMS_RATE_GUARD_MS: wholeNumber(0, MAX_RATE_GUARD_MS).default(12),
  /** Per-request timeout towards the provider (ms), at most 10 minutes (a Node timer; see MAX_REQUEST_TIMEOUT_MS). */
  SMS_REQUEST_TIMEOUT_MS: wholeNumber(1, MAX_REQUEST_TIMEOUT_MS).default(10_000),
  /** Attempts for retryable-and-not-sent outcomes before a message is `failed`. */
  SMS_MAX_ATTEMPTS: positiveInt.default(5),
  /** Bearer token for the HTTP API (required when `serve` binds a non-loopback address). */
  API_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  /**
   * Secret path segment authenticating delivery-report webhooks. Only characters that stand for themselves in a path
   * segment, and at most the router's 100 per parameter: a base64 secret with a `/` was a 404 for every callback, one
   * with `?`, `#` or `%` a 401 or 400, one over 100 characters a 414 (the webhook silently dead).
   */
  WEBHOOK_SECRET: z
    .string()
    .min(16, 'must be at least 16 characters')
    .max(100, 'must be at most 100 characters (the longest path segment the API routes)')
    .regex(WEBHOOK_SECRET_CHARS, "may hold only letters, digits and - . _ ~ ! $ & ' ( ) * + , ; = : @ (it is a URL path segment: no / ? # %, spaces or other characters)")
    .optional(),
  /**
   * `serve`: a request's head (request line and headers) must arrive within this many ms of its first byte, and a new
   * connection must send one that soon; else 408 and the connection is closed. Without it a client trickling its
   * headers a byte at a time (slowloris) held a connection for Node's default 60–90 s, and a few thousand of them
   * the server's sockets. Keep-alive connections between requests are Node's keepAliveTimeout's (72 s).
   */
  API_HEADERS_TIMEOUT_MS: positiveInt.default(10_000),
  /**
   * `serve`: a JSON or form request body (at most 1 MiB) must arrive within this many ms of the head; else 408 and the
   * connection is closed. Also the fields before a CSV upload's file, but not the file: it streams into the importer
   * for as long as it keeps coming and ends after 30 s without a byte (upload-stream.ts), so a large file on a slow
   * link still goes through.
   */
  API_BODY_TIMEOUT_MS: positiveInt.default(30_000),
  /** Comma-separated CIDR allow-list for the HTTP API; empty = allow all. */
  API_ALLOW_IPS: z.string().optional(),
  /**
   * Addresses/CIDRs of the reverse proxies in front of `serve` (same syntax as API_ALLOW_IPS). A request from one of
   * them is judged by the client address it forwards (X-Forwarded-For, read right to left past trusted proxies): the
   * allow-list, the loopback-only mode without API_TOKEN, OTP grants (bound to an address) and audit entries. Unset:
   * X-Forwarded-For is ignored, and behind a proxy every client has the proxy's address.
   */
  API_TRUST_PROXY: z.string().optional(),
  /** How long a verified SMS OTP lets an owner see unmasked per-message data (seconds). */
  // Bounded so the grant's expiry stays a date (a value near 2^53 s made an invalid one): a day at most.
  OTP_GRANT_TTL_SECONDS: wholeNumber(1, 86_400).default(900),
  /** 2Factor OTP template name for the second factor (dashboard template with the XXXX placeholder); none = account default. */
  OTP_TEMPLATE: z.string().min(1).optional(),
  /** Days after a campaign run ends before its messages are archived and deleted (ordinary campaigns). */
  // At most 100 years: beyond, the cut-off date and PostgreSQL's interval overflow ("interval out of range").
  RETENTION_DAYS: wholeNumber(0, 36_500).default(365),
  /** Same for campaigns marked `regulated` (banking): 7 years by default; `--older-than` never shortens it. */
  RETENTION_REGULATED_DAYS: wholeNumber(0, 36_500).default(2557),
  /** Archive destination: a local directory or `s3://bucket/prefix` (S3-compatible, see ARCHIVE_S3_*). */
  ARCHIVE_DEST: z.string().min(1).default('archive'),
  /** Messages read per export page and deleted per statement once a run's archive is verified (short statements, short locks). */
  ARCHIVE_DELETE_BATCH: positiveInt.default(5000),
  /** S3-compatible endpoint (e.g. http://127.0.0.1:9000 for MinIO); unset = AWS. Credentials: the AWS SDK chain. */
  ARCHIVE_S3_ENDPOINT: z.string().url().optional(),
  /** S3 region (MinIO accepts any). */
  ARCHIVE_S3_REGION: z.string().min(1).default('us-east-1'),
  /** Path-style bucket addressing (needed by MinIO and most S3 look-alikes). */
  ARCHIVE_S3_FORCE_PATH_STYLE: bool.default(false),
  /**
   * Server-side encryption each archive upload asks S3 for: the files hold every recipient's number and message text,
   * and a bucket's default encryption is someone else's setting (off on older buckets and many S3 look-alikes).
   * AES256 = SSE-S3 (S3-managed keys, works everywhere AWS runs), aws:kms = SSE-KMS (ARCHIVE_S3_SSE_KMS_KEY_ID, or the
   * account's aws/s3 key), none = no header, for an S3-compatible store that refuses it (MinIO without a KMS).
   */
  ARCHIVE_S3_SSE: z
    .enum(['AES256', 'aws:kms', 'none'], {
      error: 'must be AES256 (SSE-S3), aws:kms (SSE-KMS, key in ARCHIVE_S3_SSE_KMS_KEY_ID) or none',
    })
    .default('AES256'),
  /** KMS key (id, ARN or alias/…) for ARCHIVE_S3_SSE=aws:kms; unset = the account's aws/s3 key. */
  ARCHIVE_S3_SSE_KMS_KEY_ID: z.string().trim().min(1).optional(),
  /** Test hook only: `bulksms archive` stops at this stage (exported | deleting) so a test can kill it there. */
  ARCHIVE_TEST_PAUSE: z.enum(['exported', 'deleting']).optional(),
  /** Contacts removed per statement (and transaction) when a list is deleted: short locks, no giant transaction. */
  LIST_DELETE_BATCH: positiveInt.default(5000),
  /** Test hook only: `bulksms list delete` stops after its first batch so a test can kill it there. */
  LIST_DELETE_TEST_PAUSE: bool.default(false),
  /** Where imports write their reject reports (the failures export is streamed over HTTP, archives go to ARCHIVE_DEST). */
  REPORTS_DIR: directoryOnDisk.default('reports'),
  /** Sender-id (DLT header) rule for transactional campaigns, a regular expression checked at create time. */
  SENDER_PATTERN_TRANSACTIONAL: regexSource.default(DEFAULT_SENDER_RULES.transactional),
  /** Sender-id (DLT header) rule for promotional campaigns (numeric headers under DLT). */
  SENDER_PATTERN_PROMOTIONAL: regexSource.default(DEFAULT_SENDER_RULES.promotional),
  /** `bulksms worker` serves Prometheus /metrics of its own process on this port (0 = any free port); off when unset. */
  METRICS_PORT: wholeNumber(0, 65535).optional(),
  /** Address the worker's /metrics binds (no auth: keep it on loopback or a private interface). */
  METRICS_HOST: z.string().refine(isBindHost, BIND_HOST_RULE).default('127.0.0.1'),
  /** Stop polling delivery reports for a message this long after it was sent (it stays `sent`). */
  // At most a year: the report poller's and the archive's intervals are built from it.
  DLR_MAX_AGE_HOURS: wholeNumber(1, 8_760).default(72),
  /**
   * Delivery-report requests a worker process keeps in flight. Each takes a slot of the account's request budget,
   * so polls cost sends; at 100–500 ms answers, 4 check ~13 sessions/s per process. Campaigns sending faster than
   * that should have 2Factor push reports to the webhook (the poller is then the backstop), or raise this.
   */
  DLR_POLL_CONCURRENCY: wholeNumber(1, 1000).default(4),
  LOG_LEVEL: logLevel.default('info'),
  NODE_ENV: z.string().default('production'),
});

export type Config = Readonly<z.infer<typeof schema>>;

/** Every variable this module reads (docs and deployment files are checked against it). */
export const CONFIG_KEYS: readonly string[] = Object.keys(schema.shape);

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** The settings whose values are secret, and the URLs whose password is (`scheme://user:password@host`). */
const SECRET_KEYS = ['TWOFACTOR_API_KEY', 'API_TOKEN', 'WEBHOOK_SECRET'] as const;
const URL_KEYS = ['DATABASE_URL', 'REDIS_URL', 'ARCHIVE_S3_ENDPOINT'] as const;

/**
 * Every value the logger and the error printers must scrub: the API key, the API and webhook secrets, and the
 * passwords of the database, Redis and S3 URLs (as written and decoded: ioredis and pg send the decoded one, and
 * ioredis puts it in its errors' `command.args`). Takes the raw environment as well as a Config.
 */
export function secretValues(settings: Partial<Record<(typeof SECRET_KEYS)[number] | (typeof URL_KEYS)[number], string | undefined>>): string[] {
  const values: (string | undefined)[] = SECRET_KEYS.map((k) => settings[k]);
  for (const key of URL_KEYS) {
    const raw = settings[key];
    if (!raw || !URL.canParse(raw)) continue;
    const { password } = new URL(raw);
    values.push(password);
    try {
      values.push(decodeURIComponent(password));
    } catch {
      // a malformed escape: the password as written is all there is
    }
  }
  return [...new Set(values.filter((v): v is string => !!v))];
}

/** Parse the environment (or a given record) into a frozen Config; throws ConfigError naming each bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  // Treat empty strings as unset: `FOO= bulksms ...` must not fail validation of an optional variable.
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = schema.safeParse(cleaned);
  const problems = parsed.success ? combinationProblems(parsed.data) : parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
  if (!parsed.success || problems.length > 0) throw new ConfigError(`invalid configuration: ${problems.join('; ')}`);
  return Object.freeze(parsed.data);
}

/** Settings that are each valid but contradict one another, named like a single bad variable. */
function combinationProblems(config: z.infer<typeof schema>): string[] {
  const problems: string[] = [];
  // The key would be silently unused, and the operator believe the archives are under their KMS key.
  if (config.ARCHIVE_S3_SSE_KMS_KEY_ID !== undefined && config.ARCHIVE_S3_SSE !== 'aws:kms') {
    problems.push(`ARCHIVE_S3_SSE_KMS_KEY_ID: is used only with ARCHIVE_S3_SSE=aws:kms (ARCHIVE_S3_SSE is ${config.ARCHIVE_S3_SSE})`);
  }
  return problems;
}

/** Reads `.env` into process.env (without overriding) so every entry point sees the same configuration. */
export function loadDotEnv(): void {
  // dotenv is quiet by default in v17+ only when asked; keep stdout clean for --json output.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  require('dotenv').config({ quiet: true });
}
