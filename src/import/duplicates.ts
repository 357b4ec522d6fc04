/**
 * Duplicates within one import, settled once at the end instead of row by row.
 *
 * Every row is loaded (COPY, in line order) without looking anything up. The numbers the Bloom filter
 * (seen-phones.ts) could not call certainly new — every later occurrence of a number, plus rare false
 * positives — are noted in a temporary table. At the end one statement walks the list's rows (the
 * (list_id, id) index) and finds, for each noted number, its later occurrences; those are deleted. A unique
 * (list_id, phone) index did the same per row, but random inserts into it were ~40 % of PostgreSQL's
 * import work; the importer is the only writer of a list's contacts, so it can guarantee uniqueness itself.
 */
import type { PoolClient } from 'pg';
import type { DuplicateVerdict } from './report-spool';

export const COPY_CANDIDATES_SQL = 'COPY pg_temp.import_candidates (phone) FROM STDIN';

/** Both tables vanish with the import's transaction, whether it commits or rolls back. */
export async function createDuplicateTables(client: PoolClient): Promise<void> {
  await client.query('CREATE TEMP TABLE import_candidates (phone text) ON COMMIT DROP');
  await client.query('CREATE TEMP TABLE import_losers (id int8, line int4, kept int4, phone text) ON COMMIT DROP');
}

/**
 * Every later occurrence of a noted number in the list, with the line that keeps the number.
 *
 * The planner cannot be trusted here: the list's rows are not in the statistics yet (they are this
 * transaction's own), so it believes the list holds one row and picked a nested loop probing every
 * candidate for every row — hours for 1M rows. Hash joins only, with enough memory to stay off disk, make
 * it one pass over the list whatever the statistics say.
 */
export const FIND_DUPLICATES_SQL = `
INSERT INTO pg_temp.import_losers
SELECT id, source_line, kept, phone FROM (
  SELECT id, phone, source_line, min(source_line) OVER (PARTITION BY phone) AS kept
    FROM contacts
   WHERE list_id = $1 AND phone IN (SELECT phone FROM pg_temp.import_candidates)
) o WHERE source_line > kept`;

const HASH_JOINS_ONLY = ['SET LOCAL enable_nestloop = off', 'SET LOCAL enable_mergejoin = off', "SET LOCAL work_mem = '64MB'"];
const PLANNER_DEFAULTS = ['RESET enable_nestloop', 'RESET enable_mergejoin', 'RESET work_mem'];

/** Runs `fn` with the planner limited to hash joins (inside the current transaction), then restores it. */
export async function withHashJoinsOnly<T>(client: PoolClient, fn: () => Promise<T>): Promise<T> {
  for (const sql of HASH_JOINS_ONLY) await client.query(sql);
  try {
    return await fn();
  } finally {
    for (const sql of PLANNER_DEFAULTS) await client.query(sql);
  }
}

/**
 * Removes the list's duplicates; returns how many rows it removed. The deletes go by primary key, a page
 * of ids at a time (`id = ANY(…)` is an index lookup whatever the statistics say).
 */
export async function removeDuplicates(client: PoolClient, listId: string, pageSize = 10_000): Promise<number> {
  const found = (await withHashJoinsOnly(client, () => client.query(FIND_DUPLICATES_SQL, [listId]))).rowCount ?? 0;
  if (found === 0) return 0;
  await client.query('DECLARE import_loser_ids NO SCROLL CURSOR FOR SELECT id FROM pg_temp.import_losers');
  let removed = 0;
  for (;;) {
    const { rows } = await client.query<{ id: string }>(`FETCH ${pageSize} FROM import_loser_ids`);
    if (rows.length === 0) break;
    const res = await client.query('DELETE FROM contacts WHERE id = ANY($1::int8[])', [rows.map((r) => r.id)]);
    removed += res.rowCount ?? 0;
  }
  await client.query('CLOSE import_loser_ids');
  if (removed !== found) throw new Error(`duplicate pass removed ${removed} rows but found ${found}`);
  return removed;
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
