/**
 * `bulksms restore <manifest>`: loads archived runs back into `messages`. Each file is verified against
 * its manifest entry (SHA-256, row count) before a single row is inserted; rows go in with
 * `ON CONFLICT (id) DO NOTHING`, so restoring twice is harmless; all files load in one transaction (all or nothing).
 */
import type { Pool, PoolClient } from 'pg';
import type { Config } from '../config';
import type { PrismaClient } from '../db/prisma';
import type { Prisma } from '../generated/prisma/client';
import { quoteIdent } from '../db/pg';
import { ARCHIVE_LOCK, releaseSessionLocked } from '../db/advisory-locks';
import { AppError, ConflictError, NotFoundError, ServiceError } from '../errors';
import type { Logger } from '../logger';
import { recordAudit } from '../access/audit';
import { ARCHIVED_COUNTS_UPSERT } from '../sending/ledger';
import { decodeRow } from '../db/copy-text';
import { destinationOfManifest, type ArchiveDestination } from './destination';
import { loadManifest, type ManifestFile } from './manifest';
import { openDestination } from './open-destination';
import { checkFile, messageColumns, openArchivedFile, type FileCheck } from './run-files';

const INSERT_BATCH = 5000;

export interface RestoreResult {
  runs: number;
  /** Rows the restored files hold (all present in the database afterwards). */
  rows: number;
  /** Rows actually inserted by this call (0 when everything was already there). */
  inserted: number;
  files: number;
}

export interface RestoreOptions {
  /** Called once every file has passed its check, before the first is loaded (tests change a file here). */
  onChecked?: () => Promise<void>;
  /** Who restores, added to each `archive.restore` audit entry (the CLI: `{via, user, host}`). */
  actor?: Prisma.InputJsonObject;
}

export async function restoreArchive(
  deps: { config: Config; logger: Logger; pg: Pool; prisma: PrismaClient },
  manifestPath: string,
  opts: RestoreOptions = {},
): Promise<RestoreResult> {
  const { dest: spec, key } = destinationOfManifest(manifestPath);
  const dest = openDestination(spec, deps.config);
  const manifest = await loadManifest(dest, key, true);
  if (!manifest) throw new NotFoundError(`no archive manifest at ${manifestPath}`);
  const db = await deps.pg.connect();
  const result: RestoreResult = { runs: 0, rows: 0, inserted: 0, files: 0 };
  const runs = new Set<string>();
  try {
    // The archive's own lock: an archive running meanwhile deletes what this inserts (a restored run is still expired),
    // and its delete-and-count checks fail on rows appearing under it.
    const locked = await db.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1) AS ok', [ARCHIVE_LOCK]);
    if (!locked.rows[0]!.ok) {
      throw new ConflictError('an archive (`bulksms archive`, or another restore) is running against this database; run restore once it has finished');
    }
    const current = new Map((await messageColumns(db)).map((c) => [c.name, c.type]));
    // Newest file first: a run archived again after it changed (retried after an interrupted archive) has rows in
    // two files, and rows already present are kept (ON CONFLICT DO NOTHING) — so their latest version must win.
    const newestFirst = [...manifest.files].sort((a, b) => b.exportedAt.localeCompare(a.exportedAt));
    // One transaction: what only inserting finds (a row the table refuses, a line with a field missing in a file
    // whose manifest entry was rewritten to match) or a kill mid-way left the files loaded before it restored — a
    // half-applied archive. The pre-checks below still name a damaged file before a single row is read into it.
    const loaded: { entry: ManifestFile; inserted: number }[] = [];
    await db.query('BEGIN');
    try {
      // Every file is checked before the first row goes in: a damaged or missing file, or a run deleted since, found
      // only at the third file left the first two restored and the operator with a half-applied archive.
      for (const entry of newestFirst) await checkRestorable(db, dest, entry, current);
      await opts.onChecked?.();
      for (const entry of newestFirst) {
        const { inserted, present } = await loadFile(db, dest, entry, current);
        if (present !== entry.rows) {
          throw new ServiceError(`${entry.file}: ${entry.rows} rows archived but ${present} present after restore; nothing restored`);
        }
        loaded.push({ entry, inserted });
      }
      await db.query('COMMIT');
    } catch (err) {
      await db.query('ROLLBACK').catch(() => undefined);
      throw err;
    }
    for (const { entry, inserted } of loaded) {
      deps.logger.info({ runId: entry.runId, rows: entry.rows, inserted }, 'restore: run loaded');
      await recordAudit(deps, { tokenId: null, action: 'archive.restore', target: entry.runId, details: { ...opts.actor, file: entry.file, rows: entry.rows, inserted } });
      runs.add(entry.runId);
      result.rows += entry.rows;
      result.inserted += inserted;
      result.files++;
    }
  } finally {
    // Unlocked and destroyed rather than returned: it carries the session lock.
    await releaseSessionLocked(db);
  }
  result.runs = runs.size;
  return result;
}

/** The file is intact (SHA-256, row count), its run still exists and its columns still do; names the file otherwise. */
async function checkRestorable(db: PoolClient, dest: ArchiveDestination, entry: ManifestFile, current: Map<string, string>): Promise<void> {
  if (!matchesManifest(await checkFile(dest, entry.file), entry)) {
    throw new ServiceError(`${entry.file}: SHA-256 or row count differs from the manifest; nothing restored`);
  }
  // Locked (inside restore's transaction): a campaign deleted between this check and the inserts failed them half-way.
  const run = await db.query('SELECT 1 FROM campaign_runs WHERE id = $1 FOR KEY SHARE', [entry.runId]);
  if (!run.rowCount) throw new ServiceError(`${entry.file}: campaign run ${entry.runId} no longer exists (campaign deleted?); nothing restored`);
  for (const c of entry.columns) {
    if (!current.has(c.name)) throw new ServiceError(`${entry.file}: column ${c.name} no longer exists in messages; nothing restored`);
  }
}

function matchesManifest(read: FileCheck, entry: ManifestFile): boolean {
  return read.sha256 === entry.sha256 && read.rows === entry.rows;
}

/**
 * Inserts the file's rows (those not present) and counts how many of them — by id, in its run — are present after:
 * all, or the restore fails. Not the run's rows in the file's id range: a file of rows kept by an earlier deletion
 * (changed after the export) shares its range with the run's first file, and a second restore then failed on it.
 */
async function loadFile(
  db: PoolClient,
  dest: ArchiveDestination,
  entry: ManifestFile,
  current: Map<string, string>,
): Promise<{ inserted: number; present: number }> {
  const idIndex = entry.columns.findIndex((c) => c.name === 'id');
  if (idIndex < 0) throw new ServiceError(`${entry.file}: the manifest lists no id column; nothing restored`);
  // Types come from the live table, never from the (editable) manifest.
  const names = entry.columns.map((c) => quoteIdent(c.name));
  // The runs' archived counts shrink by the rows actually inserted, in the same statement (the counters stay exact).
  const sql =
    `WITH i AS (INSERT INTO messages (${names.join(', ')}) ` +
    `SELECT ${entry.columns.map((c, i) => `t.c${i}::${current.get(c.name)}`).join(', ')} ` +
    `FROM unnest(${entry.columns.map((_c, i) => `$${i + 1}::text[]`).join(', ')}) AS t(${entry.columns.map((_c, i) => `c${i}`).join(', ')}) ` +
    'ON CONFLICT (id) DO NOTHING RETURNING run_id, status), ' +
    `counted AS (${ARCHIVED_COUNTS_UPSERT('i', -1)}) ` +
    'SELECT count(*)::int AS n FROM i';
  let inserted = 0;
  let present = 0;
  let batch: (string | null)[][] = [];
  const flush = async () => {
    if (!batch.length) return;
    const columns = entry.columns.map((_c, i) => batch.map((row) => row[i]!));
    const res = await db.query<{ n: number }>(sql, columns);
    inserted += res.rows[0]!.n;
    const there = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM messages WHERE id = ANY($1::bigint[]) AND run_id = $2', [
      columns[idIndex],
      entry.runId,
    ]);
    present += there.rows[0]!.n;
    batch = [];
  };
  let lineNo = 0;
  try {
    const file = await openArchivedFile(dest, entry.file);
    for await (const line of file.lines) {
      batch.push(decodeRow(line, entry.columns.length, ++lineNo));
      if (batch.length >= INSERT_BATCH) await flush();
    }
    await flush();
    // The rows just inserted came from these bytes: checked here, before the commit, not trusted from the check pass
    // (which read the file once already; one replaced since then loaded unverified).
    if (!matchesManifest(await file.read(), entry)) {
      throw new ServiceError(`${entry.file}: changed since it was checked (SHA-256 or row count differs from the manifest); nothing restored`);
    }
  } catch (err) {
    if (err instanceof AppError) throw err;
    // A line that does not decode or a value the table refuses: name the file (the manifest vouched for it). Without
    // the value PostgreSQL quotes (`invalid input syntax for type integer: "+9198…"`): it can be a recipient's number,
    // and this message goes to the terminal, logs and --json.
    const reason = (err as Error).message.replace(/"(?:[^"\\]|\\.)*"/g, '"…"');
    throw new ServiceError(`${entry.file}: cannot be loaded (${reason}); nothing restored`, { cause: err });
  }
  return { inserted, present };
}
