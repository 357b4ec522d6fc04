/** Plain node-postgres pool for set-based SQL (unnest inserts, COPY, group-commit updates) that Prisma is too slow for. */
import { Pool, Client } from 'pg';

/**
 * How long a new connection may take. Without a limit, a PostgreSQL host that accepts the connection and never
 * answers (or drops packets) held every command for good — Ctrl-C during an import could not end it either. TCP
 * keep-alive finds a connection whose server went away while it sat idle.
 */
export const PG_CONNECTION_OPTIONS = { connectionTimeoutMillis: 10_000, keepAlive: true } as const;

export function createPgPool(databaseUrl: string, max = 10): Pool {
  const pool = new Pool({ connectionString: databaseUrl, max, ...PG_CONNECTION_OPTIONS });
  // An idle client erroring (e.g. PostgreSQL restarted) must not crash the process; the next query reconnects.
  pool.on('error', () => undefined);
  return pool;
}

/** Splits a database URL into the target database name and a URL for the maintenance database `postgres`. */
export function maintenanceUrl(databaseUrl: string): { database: string; adminUrl: string } {
  const url = new URL(databaseUrl);
  const database = decodeURIComponent(url.pathname.replace(/^\//, '')) || 'postgres';
  url.pathname = '/postgres';
  return { database, adminUrl: url.toString() };
}

export async function withClient<T>(connectionString: string, fn: (c: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString, ...PG_CONNECTION_OPTIONS });
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
