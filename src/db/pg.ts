/** Plain node-postgres pool for set-based SQL (unnest inserts, COPY, group-commit updates) that Prisma is too slow for. */
import { Pool, Client } from 'pg';

export function createPgPool(databaseUrl: string, max = 10): Pool {
  const pool = new Pool({ connectionString: databaseUrl, max });
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
  const client = new Client({ connectionString });
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
