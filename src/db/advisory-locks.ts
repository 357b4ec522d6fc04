/**
 * PostgreSQL advisory-lock keys, in one place so no two uses collide. The one-key (bigint) and two-key (int, int)
 * forms are separate key spaces.
 */
import type { PoolClient } from 'pg';

/** One `bulksms migrate` at a time (session lock). */
export const MIGRATE_LOCK = 727_073_690;

/** One `bulksms archive` or `bulksms restore` per database at a time (session lock). */
export const ARCHIVE_LOCK = 727_073_691;

/**
 * A run whose messages are being exported and deleted: the archiver holds this exclusively (two-key form, second
 * key the run id's hash) from its last status check until the deletion is done; a retry takes it shared for each
 * run it re-queues, or skips the run. Without it a retry could make a run's failed messages pending between the
 * export and the deletion, and the deletion would remove recipients the retry had promised to send.
 */
export const RUN_ARCHIVE_LOCK_CLASS = 727_073_692;

/** A list name being imported (two-key form, second key the name's hash): one importer per name at a time. */
export const LIST_IMPORT_LOCK_CLASS = 727_073_693;

/** A list being deleted (two-key form, second key the list id's hash): one deleter per list at a time (session lock). */
export const LIST_DELETE_LOCK_CLASS = 727_073_694;

/** SQL: true when no archiver holds the run (`runIdSql` is an expression of type uuid); held shared to commit. */
export const runNotBeingArchived = (runIdSql: string): string =>
  `pg_try_advisory_xact_lock_shared(${RUN_ARCHIVE_LOCK_CLASS}, hashtext((${runIdSql})::text))`;

/**
 * Ends a pooled client that holds session locks (and session settings): unlocks them, then destroys it. Destroyed
 * alone, its locks lasted until the server noticed the closed connection — the next archive or restore of the same
 * process, right after, found the lock still taken ("another bulksms archive … is running"; seen in the test suite).
 */
export async function releaseSessionLocked(db: PoolClient): Promise<void> {
  await db.query('SELECT pg_advisory_unlock_all()').catch(() => undefined);
  db.release(true);
}

