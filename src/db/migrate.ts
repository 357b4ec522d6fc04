/**
 * Our own migration runner over prisma/migrations/<name>/migration.sql, because every `prisma migrate`
 * command needs a native schema-engine binary that cannot be downloaded here. It records applied
 * migrations in a `_prisma_migrations` table with Prisma's layout and checksums (sha256 of the file),
 * so `prisma migrate status/deploy` agree with it wherever the engine is available.
 */
import { createHash, randomUUID } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Client, Pool } from 'pg';
import { projectPath } from '../lib/project-path';
import { MIGRATE_LOCK } from './advisory-locks';
import { maintenanceUrl, PG_LINK_DEFAULTS, quoteIdent, withClient, type PgLinkSettings } from './pg';

export const MIGRATIONS_DIR = projectPath('prisma', 'migrations');

export interface Migration {
  name: string;
  sql: string;
  checksum: string;
}

export interface MigrateResult {
  createdDatabase: boolean;
  applied: string[];
  alreadyApplied: string[];
}

export class MigrationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MigrationError';
  }
}

export async function readMigrations(dir = MIGRATIONS_DIR): Promise<Migration[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const names = entries.filter((e) => e.isDirectory()).map((e) => e.name).sort();
  return Promise.all(
    names.map(async (name) => {
      const sql = await readFile(path.join(dir, name, 'migration.sql'), 'utf8');
      return { name, sql, checksum: createHash('sha256').update(sql).digest('hex') };
    }),
  );
}

const CREATE_MIGRATIONS_TABLE = `
CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
    "id"                    VARCHAR(36) PRIMARY KEY NOT NULL,
    "checksum"              VARCHAR(64) NOT NULL,
    "finished_at"           TIMESTAMPTZ,
    "migration_name"        VARCHAR(255) NOT NULL,
    "logs"                  TEXT,
    "rolled_back_at"        TIMESTAMPTZ,
    "started_at"            TIMESTAMPTZ NOT NULL DEFAULT now(),
    "applied_steps_count"   INTEGER NOT NULL DEFAULT 0
)`;

export async function ensureDatabase(databaseUrl: string, link: PgLinkSettings = PG_LINK_DEFAULTS): Promise<boolean> {
  const { database, adminUrl } = maintenanceUrl(databaseUrl);
  return withClient(adminUrl, async (admin) => {
    const exists = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (exists.rowCount) return false;
    try {
      await admin.query(`CREATE DATABASE ${quoteIdent(database)}`);
    } catch (err) {
      // Another migrator created it between our check and our CREATE: fine.
      if ((err as { code?: string }).code !== '42P04') throw err;
      return false;
    }
    return true;
  }, link);
}

async function applyPending(client: Client, migrations: Migration[]): Promise<MigrateResult> {
  await client.query(CREATE_MIGRATIONS_TABLE);
  const rows = await client.query<{ migration_name: string; checksum: string; finished_at: Date | null }>(
    'SELECT migration_name, checksum, finished_at FROM "_prisma_migrations" WHERE rolled_back_at IS NULL',
  );
  const applied = new Map(rows.rows.map((r) => [r.migration_name, r]));
  const result: MigrateResult = { createdDatabase: false, applied: [], alreadyApplied: [] };
  for (const m of migrations) {
    const done = applied.get(m.name);
    if (done) {
      if (done.checksum !== m.checksum) {
        throw new MigrationError(
          `migration ${m.name} was changed after it was applied (checksum ${done.checksum.slice(0, 12)}… in the database, ` +
            `${m.checksum.slice(0, 12)}… on disk); add a new migration instead of editing an applied one`,
        );
      }
      if (!done.finished_at) throw new MigrationError(`migration ${m.name} is recorded as started but never finished`);
      result.alreadyApplied.push(m.name);
      continue;
    }
    // One transaction per migration: either all of it and its record land, or nothing does.
    await client.query('BEGIN');
    try {
      await client.query(m.sql);
      await client.query(
        `INSERT INTO "_prisma_migrations" (id, checksum, migration_name, finished_at, applied_steps_count)
         VALUES ($1, $2, $3, now(), 1)`,
        [randomUUID(), m.checksum, m.name],
      );
      await client.query('COMMIT');
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw new MigrationError(`migration ${m.name} failed: ${(err as Error).message}`);
    }
    result.applied.push(m.name);
  }
  return result;
}

/** Creates the database if missing, then applies pending migrations under an advisory lock. Idempotent. */
export async function migrate(databaseUrl: string, dir = MIGRATIONS_DIR, link: PgLinkSettings = PG_LINK_DEFAULTS): Promise<MigrateResult> {
  const createdDatabase = await ensureDatabase(databaseUrl, link);
  const migrations = await readMigrations(dir);
  const result = await withClient(databaseUrl, async (client) => {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATE_LOCK]);
    try {
      return await applyPending(client, migrations);
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [MIGRATE_LOCK]).catch(() => undefined);
    }
  }, link);
  return { ...result, createdDatabase };
}

/**
 * The migrations on disk this database has not applied (none recorded at all: every one). Nothing else checks:
 * a worker started after an upgrade but before `bulksms migrate` ran, sent, and failed only when a query met the
 * missing table or column (the counters of its runs, mid-campaign).
 */
export async function pendingMigrations(pg: Pool | Client, dir = MIGRATIONS_DIR): Promise<string[]> {
  const migrations = await readMigrations(dir);
  const table = await pg.query<{ present: boolean }>(`SELECT to_regclass('"_prisma_migrations"') IS NOT NULL AS present`);
  if (!table.rows[0]?.present) return migrations.map((m) => m.name);
  const done = await pg.query<{ migration_name: string }>(
    'SELECT migration_name FROM "_prisma_migrations" WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL',
  );
  const applied = new Set(done.rows.map((r) => r.migration_name));
  return migrations.map((m) => m.name).filter((name) => !applied.has(name));
}

/** Throws a MigrationError saying which migrations are missing and what applies them (long-running commands start with it). */
export async function assertMigrated(pg: Pool | Client, dir = MIGRATIONS_DIR): Promise<void> {
  const pending = await pendingMigrations(pg, dir);
  if (pending.length === 0) return;
  const which = pending.length === 1 ? `1 migration is pending (${pending[0]})` : `${pending.length} migrations are pending (${pending[0]} … ${pending[pending.length - 1]})`;
  throw new MigrationError(`the database is not migrated: ${which}; run \`bulksms migrate\` first`);
}
