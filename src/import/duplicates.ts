/**
 * Duplicates within one import, settled once at the end instead of row by row.
 *
 * Every row is loaded (COPY, in line order) without looking anything up. The numbers the Bloom filter
 * (seen-phones.ts) could not call certainly new — every later occurrence of a number, plus rare false
 * positives — are noted in a temporary table. At the end one statement walks the list's rows (the
 * (list_id, id) index), keeps the first line of each noted number and deletes the later ones. A unique
 * (list_id, phone) index did the same per row, but random inserts into it were ~40 % of PostgreSQL's
 * import work; the importer is the only writer of a list's contacts, so it can guarantee uniqueness itself.
 */
import type { PoolClient } from 'pg';
import type { DuplicateVerdict } from './report-spool';

export const COPY_CANDIDATES_SQL = 'COPY pg_temp.import_candidates (phone) FROM STDIN';

/** Both tables vanish with the import's transaction, whether it commits or rolls back. */
export async function createDuplicateTables(client: PoolClient): Promise<void> {
  await client.query('CREATE TEMP TABLE import_candidates (phone text) ON COMMIT DROP');
  await client.query('CREATE TEMP TABLE import_losers (line int4, kept int4, phone text) ON COMMIT DROP');
}

/**
 * Deletes every later occurrence of a noted number from the list; the verdicts are kept for the report.
 * Analyzing the candidates first lets the planner see how few they are: a hash of them probed by the list's
 * rows, never a scan of the whole contacts table.
 */
export const REMOVE_DUPLICATES_SQL = `
WITH occurrences AS (
  SELECT id, phone, source_line, min(source_line) OVER (PARTITION BY phone) AS kept
    FROM contacts
   WHERE list_id = $1 AND phone IN (SELECT phone FROM pg_temp.import_candidates)
), removed AS (
  DELETE FROM contacts c USING occurrences o
   WHERE c.id = o.id AND o.source_line > o.kept
  RETURNING o.source_line, o.kept, o.phone
)
INSERT INTO pg_temp.import_losers SELECT * FROM removed`;

/** Removes the list's duplicates; returns how many rows it removed. */
export async function removeDuplicates(client: PoolClient, listId: string): Promise<number> {
  await client.query('ANALYZE pg_temp.import_candidates');
  const res = await client.query(REMOVE_DUPLICATES_SQL, [listId]);
  return res.rowCount ?? 0;
}

/** The removed rows in line order, a page at a time (a cursor: a file of repeats must not fill memory). */
export async function* duplicateVerdicts(client: PoolClient, pageSize = 5000): AsyncGenerator<DuplicateVerdict[]> {
  await client.query('DECLARE import_verdicts NO SCROLL CURSOR FOR SELECT line, kept, phone FROM pg_temp.import_losers ORDER BY line');
  try {
    for (;;) {
      const { rows } = await client.query<DuplicateVerdict>(`FETCH ${pageSize} FROM import_verdicts`);
      if (rows.length === 0) return;
      yield rows;
    }
  } finally {
    // Fails only inside an already failed transaction, which is rolled back anyway.
    await client.query('CLOSE import_verdicts').catch(() => undefined);
  }
}
