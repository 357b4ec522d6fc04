/**
 * contact_lists lifecycle: `importing` → `ready`, or `failed` with the reason. Contacts are written in one
 * transaction that also flips the list to `ready`, so a list is never `ready` without all its contacts and
 * a failed or crashed import leaves no contact behind.
 */
import type { Pool, PoolClient } from 'pg';
import { LIST_IMPORT_LOCK_CLASS } from '../db/advisory-locks';
import { ConflictError } from '../errors';

export interface NewList {
  name: string;
  sourceFile: string;
  country: string;
}

/**
 * Claims a list name for one import, on the session that will write the contacts: a session advisory lock on the
 * name, held until the import has committed or failed (`release`, or the connection's end). The list row's own
 * lock is only taken once the row exists, after its creation has committed — between the two another importer of
 * the name could replace the brand-new `importing` row (measured: 6 parallel uploads of one new name, 20 rounds →
 * 93 × 500 on the unique name, 2 × 503 after one importer deleted another's list). Returns null when taken.
 */
export async function claimListName(client: PoolClient, name: string): Promise<{ release(): Promise<void> } | null> {
  const { rows } = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1, hashtext($2)) AS ok', [LIST_IMPORT_LOCK_CLASS, name]);
  if (!rows[0]?.ok) return null;
  return {
    release: async () => {
      await client.query('SELECT pg_advisory_unlock($1, hashtext($2))', [LIST_IMPORT_LOCK_CLASS, name]);
    },
  };
}

/**
 * Creates the list row (status `importing`, committed so it is visible as such). A `failed` list of the
 * same name is replaced; so is an `importing` one whose importer is gone (its row lock is free); a `deleted` one
 * (kept for its campaigns' pages) is renamed out of the way; a `deleting` one is refused. Runs its own
 * transaction, on `db`'s connection when it is a client (the importer's, holding the name's claim).
 * `onReplaced` is told the id of a list it replaced (its leftover files are the caller's to remove).
 */
export async function createImportingList(db: Pool | PoolClient, list: NewList, onReplaced?: (oldId: string) => void): Promise<string> {
  const own = !('release' in db);
  const client = 'release' in db ? db : await db.connect();
  try {
    await client.query('BEGIN');
    const existing = await client.query<{ id: string; status: string }>(
      'SELECT id, status FROM contact_lists WHERE name = $1',
      [list.name],
    );
    const old = existing.rows[0];
    // The name's old list is dropped (or, deleted, renamed) only when this import replaces it: onReplaced's files go.
    let replaced = false;
    if (old) {
      if (old.status === 'ready') throw new ConflictError(`list "${list.name}" already exists (id ${old.id}); choose another name`);
      const locked = await client.query<{ status: string }>('SELECT status::text AS status FROM contact_lists WHERE id = $1 FOR UPDATE SKIP LOCKED', [old.id]);
      if (locked.rowCount === 0) throw new ConflictError(`list "${list.name}" is being imported right now`);
      // Read again under the lock: a delete may have marked it since (its contacts must go in batches, not here at once).
      const status = locked.rows[0]!.status;
      if (status === 'ready') throw new ConflictError(`list "${list.name}" already exists (id ${old.id}); choose another name`);
      if (status === 'deleting') {
        throw new ConflictError(`list "${list.name}" (${old.id}) is being deleted; run \`bulksms list delete ${old.id}\` to finish it (a running \`bulksms worker\` does so by itself), or choose another name`);
      }
      if (status === 'deleted') {
        // What stays of a deleted list for its campaigns' pages (no contacts) gives its name up, and keeps its id in it.
        await client.query(`UPDATE contact_lists SET name = name || ' (deleted ' || id || ')' WHERE id = $1`, [old.id]);
      } else {
        const used = await client.query('SELECT 1 FROM campaigns WHERE list_id = $1 LIMIT 1', [old.id]);
        if (used.rowCount) throw new ConflictError(`list "${list.name}" (${old.status}) is referenced by a campaign; choose another name`);
        await client.query('DELETE FROM contact_lists WHERE id = $1', [old.id]);
        replaced = true;
      }
    }
    const { rows } = await client.query<{ id: string }>(
      `INSERT INTO contact_lists (name, status, source_file, country) VALUES ($1, 'importing', $2, $3) RETURNING id`,
      [list.name, list.sourceFile, list.country],
    );
    await client.query('COMMIT');
    if (old && replaced) onReplaced?.(old.id);
    return rows[0]!.id;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    // The name's unique index: only a writer that skipped the claim (or a hash collision of two names) gets here.
    if ((err as { code?: string }).code === '23505') throw new ConflictError(`list "${list.name}" already exists; choose another name`);
    throw err;
  } finally {
    if (own) client.release();
  }
}

/** Why a list whose importer is gone is `failed` (see failAbandonedImports). */
export const ABANDONED_IMPORT_REASON = 'the import stopped before it finished (its process ended); nothing was imported — import the file again';

/**
 * Marks `failed` every `importing` list whose importer is gone (killed, or its machine lost): its name's claim
 * (claimListName, a session lock) is free. Otherwise such a list showed `importing` for good. A live importer
 * holds the claim from before the row exists until after it is `ready` or `failed`, so a free claim is proof.
 * `onFailed` is told each list it marked (its leftover files are the caller's to remove). Returns how many it marked.
 */
export async function failAbandonedImports(pool: Pool, onFailed?: (listId: string) => void): Promise<number> {
  const { rows } = await pool.query<{ id: string; name: string }>(`SELECT id, name FROM contact_lists WHERE status = 'importing'`);
  if (!rows.length) return 0;
  const client = await pool.connect();
  let marked = 0;
  try {
    for (const list of rows) {
      const claim = await claimListName(client, list.name);
      if (!claim) continue; // its importer is still at work
      try {
        const r = await client.query(
          `UPDATE contact_lists SET status = 'failed', failure_reason = $2, completed_at = now() WHERE id = $1 AND status = 'importing'`,
          [list.id, ABANDONED_IMPORT_REASON],
        );
        marked += r.rowCount ?? 0;
        if (r.rowCount) onFailed?.(list.id);
      } finally {
        await claim.release();
      }
    }
  } finally {
    client.release();
  }
  return marked;
}

/** Starts the contacts transaction and locks the list row, so a concurrent import cannot replace the list. */
export async function beginListTransaction(client: PoolClient, listId: string): Promise<void> {
  await client.query('BEGIN');
  const locked = await client.query('SELECT id FROM contact_lists WHERE id = $1 FOR NO KEY UPDATE', [listId]);
  if (locked.rowCount === 0) throw new ConflictError(`list ${listId} was replaced by another import before its contacts were written`);
}

export interface ListOutcome {
  phoneColumn: string;
  columns: string[];
  rows: number;
  accepted: number;
  rejected: number;
  duplicates: number;
  suppressed: number;
  rejectReportPath: string | null;
}

export async function markReady(client: PoolClient, listId: string, o: ListOutcome): Promise<void> {
  const res = await client.query(
    `UPDATE contact_lists SET status = 'ready', phone_column = $2, columns = $3, rows = $4, accepted = $5,
       rejected = $6, duplicates = $7, suppressed = $8, reject_report_path = $9, completed_at = now()
     WHERE id = $1`,
    [listId, o.phoneColumn, o.columns, o.rows, o.accepted, o.rejected, o.duplicates, o.suppressed, o.rejectReportPath],
  );
  if (res.rowCount === 0) throw new ConflictError(`list ${listId} no longer exists; nothing was imported`);
}

/** Also deletes any contacts of the list (none after a rolled-back import; kept for lists failed by hand). */
export async function markFailed(pg: Pool | PoolClient, listId: string, reason: string): Promise<void> {
  await pg.query('DELETE FROM contacts WHERE list_id = $1', [listId]);
  await pg.query(
    `UPDATE contact_lists SET status = 'failed', failure_reason = $2, completed_at = now() WHERE id = $1`,
    [listId, reason.slice(0, 2000)],
  );
}
