/** Plain node-postgres pool for set-based SQL (unnest inserts, COPY, group-commit updates) that Prisma is too slow for. */
import { Pool, Client, type ClientConfig } from 'pg';

/**
 * How both ends of a PostgreSQL connection find out that the other end is gone without a word: a host lost to power,
 * a kernel panic, a partition or a frozen VM closes nothing. PostgreSQL kept such a session — an open transaction's
 * row locks with it (a control change's `campaigns` row blocked the feeder and every outcome batch's `FOR SHARE`) —
 * until the server's TCP keep-alive gave up, two hours and more by default. These are sent as the session's own
 * settings (PostgreSQL 12 or later; any user may set them), so the server probes a silent peer after
 * `PG_KEEPALIVE_IDLE_SECONDS` and ends its session (rolling back, releasing its locks) when
 * `PG_KEEPALIVE_COUNT` probes `PG_KEEPALIVE_INTERVAL_SECONDS` apart go unanswered, or when data it sent stays
 * unacknowledged for `PG_TCP_USER_TIMEOUT_MS`. A live host's kernel answers the probes however long its process
 * keeps a transaction idle (an import's stream), so unlike idle_in_transaction_session_timeout this ends no session
 * that is merely slow. 0 leaves a setting to the server. Our own sockets probe after the same idle time (Node sets
 * no probe interval or count: the system's tcp_keepalive_intvl and tcp_keepalive_probes apply).
 */
export interface PgLinkSettings {
  readonly PG_KEEPALIVE_IDLE_SECONDS: number;
  readonly PG_KEEPALIVE_INTERVAL_SECONDS: number;
  readonly PG_KEEPALIVE_COUNT: number;
  readonly PG_TCP_USER_TIMEOUT_MS: number;
}

/** A dead peer's session ends within about 25 s of its last word. */
export const PG_LINK_DEFAULTS: PgLinkSettings = Object.freeze({
  PG_KEEPALIVE_IDLE_SECONDS: 10,
  PG_KEEPALIVE_INTERVAL_SECONDS: 5,
  PG_KEEPALIVE_COUNT: 3,
  PG_TCP_USER_TIMEOUT_MS: 25_000,
});

/**
 * How long a new connection may take. Without a limit, a PostgreSQL host that accepts the connection and never
 * answers (or drops packets) held every command for good — Ctrl-C during an import could not end it either. TCP
 * keep-alive finds a connection whose server went away while it sat idle.
 */
const CONNECT_TIMEOUT_MS = 10_000;

/** The `-c name=value` startup options that set the server side of PgLinkSettings (settings at 0 are left out). */
export function sessionLinkOptions(link: PgLinkSettings): string {
  const settings: [string, number][] = [
    ['tcp_keepalives_idle', link.PG_KEEPALIVE_IDLE_SECONDS],
    ['tcp_keepalives_interval', link.PG_KEEPALIVE_INTERVAL_SECONDS],
    ['tcp_keepalives_count', link.PG_KEEPALIVE_COUNT],
    ['tcp_user_timeout', link.PG_TCP_USER_TIMEOUT_MS],
  ];
  return settings
    .filter(([, value]) => value > 0)
    .map(([name, value]) => `-c ${name}=${value}`)
    .join(' ');
}

/**
 * The node-postgres settings of every connection the app opens (pg pools and clients, Prisma's adapter). The link
 * settings travel as startup options, so they hold from the session's first statement and survive RESET ALL /
 * DISCARD ALL. `options` written in DATABASE_URL come after ours and win for a name both set (node-postgres lets
 * the URL's `options` replace a configured one, so the two are merged here).
 */
export function pgConnectionConfig(databaseUrl: string, link: PgLinkSettings): ClientConfig {
  const ours = sessionLinkOptions(link);
  let connectionString = databaseUrl;
  let options = ours;
  const url = URL.canParse(databaseUrl) ? new URL(databaseUrl) : undefined;
  const theirs = url?.searchParams.get('options');
  if (url && theirs !== null && theirs !== undefined) {
    url.searchParams.delete('options');
    connectionString = url.toString();
    options = [ours, theirs].filter(Boolean).join(' ');
  }
  return {
    connectionString,
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    keepAlive: true,
    // 0 would leave the system's idle time (7200 s by default).
    keepAliveInitialDelayMillis: link.PG_KEEPALIVE_IDLE_SECONDS * 1000,
    ...(options ? { options } : {}),
  };
}

export function createPgPool(databaseUrl: string, link: PgLinkSettings, max = 10): Pool {
  const pool = new Pool({ ...pgConnectionConfig(databaseUrl, link), max });
  // An idle client erroring (e.g. PostgreSQL restarted) must not crash the process; the next query reconnects.
  pool.on('error', () => undefined);
  // Nor one that is checked out: pg-pool listens only while a client is idle, and a session the server ended between
  // two queries of its holder (a restart, pg_terminate_backend, a link silent past PG_KEEPALIVE_*: an import's stream
  // idle in its transaction) threw an unhandled 'error' that ended the process. The holder's next query fails instead.
  pool.on('connect', (client) => client.on('error', () => undefined));
  return pool;
}

/** Splits a database URL into the target database name and a URL for the maintenance database `postgres`. */
export function maintenanceUrl(databaseUrl: string): { database: string; adminUrl: string } {
  const url = new URL(databaseUrl);
  const database = decodeURIComponent(url.pathname.replace(/^\//, '')) || 'postgres';
  url.pathname = '/postgres';
  return { database, adminUrl: url.toString() };
}

export async function withClient<T>(connectionString: string, fn: (c: Client) => Promise<T>, link: PgLinkSettings = PG_LINK_DEFAULTS): Promise<T> {
  const client = new Client(pgConnectionConfig(connectionString, link));
  client.on('error', () => undefined); // as in createPgPool: `fn`'s next query fails instead
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Quote an SQL identifier (database names come from configuration, never from end users). */
export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}
