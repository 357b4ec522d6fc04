/**
 * `bulksms archive`: export each expired run's messages to a verified flat file, then delete them.
 * Order per run, each step durable before the next:
 *   1. export to a temp name, publish atomically (rename / PutObject)
 *   2. re-read the published file: SHA-256 and row count must equal what was exported and what the
 *      database holds for the run — otherwise stop, nothing deleted
 *   3. manifest entry `exported` (atomic rewrite)
 *   4. delete the rows in short batches: only rows the file holds exactly as they are now (a row changed since the
 *      export, e.g. by a late delivery report, stays in the database and goes into a new file at the next archive)
 *   5. manifest entry `deleted`
 * A crash anywhere leaves either no manifest entry (re-run re-exports the identical file) or an
 * `exported` entry (re-run re-verifies the file and finishes the deletion). One archiver per database, and no
 * restore meanwhile (advisory lock).
 */
import type { Pool, PoolClient } from 'pg';
import type { Config } from '../config';
import type { PrismaClient } from '../db/prisma';
import type { Prisma } from '../generated/prisma/client';
import { ARCHIVE_LOCK, RUN_ARCHIVE_LOCK_CLASS, releaseSessionLocked } from '../db/advisory-locks';
import { ConflictError, ServiceError } from '../errors';
import type { Logger } from '../logger';
import { recordAudit } from '../access/audit';
import { refreshRunCounters } from '../sending/ledger';
import { loadManifest, emptyManifest, saveManifest, upsertFile, type Manifest, type ManifestFile } from './manifest';
import { destinationFsError } from './fs-errors';
import { openDestination } from './open-destination';
import { retentionCutoffs, type RetentionCutoffs } from './retention';
import {
  archivedLines, checkFile, countRunRows, deleteArchivedRows, exportRun, findExpiredRuns, messageColumns, runIdRange, type DeleteOutcome,
  type ExpiredRun,
} from './run-files';
import type { ArchiveDestination } from './destination';

export type ArchiveStage = 'exported' | 'deleting';

export interface ArchiveDeps {
  config: Config;
  logger: Logger;
  pg: Pool;
  prisma: PrismaClient;
}

export interface ArchiveOptions {
  olderThanDays?: number;
  dest?: string;
  dryRun?: boolean;
  now?: Date;
  /** Called at each durable stage (tests pause here to crash the process). */
  onStage?: (stage: ArchiveStage, runId: string) => Promise<void>;
  /** Duration of each delete batch's transaction (how long its rows are locked: compare with the file, DELETE), for benchmarks. */
  onDeleteBatch?: (runId: string, rows: number, ms: number) => void;
  /**
   * Who runs the archive, added to each `archive.run` audit entry (the CLI: `{via, user, host}`, as every command-line
   * action names its OS user and host): the entry of a deletion of every recipient's messages named no one.
   */
  actor?: Prisma.InputJsonObject;
}

export interface ArchiveResult {
  runs: number;
  rows: number;
  files: number;
  /** The destination's manifest (what `bulksms restore` takes); null when there is none (nothing archived there yet). */
  manifest: string | null;
  dryRun: boolean;
  runIds: string[];
  /** Runs whose deletion an earlier, interrupted archive had left unfinished. */
  resumed: number;
}

export function runFileKey(runId: string, minId: string | null, maxId: string | null, rows?: number): string {
  return `runs/${runId}-${minId ?? 0}-${maxId ?? 0}${rows === undefined ? '' : `-${rows}`}.copy.gz`;
}

/**
 * How long after its end a run's messages can still change by a delivery report: the poller asks for the reports of
 * a finished run's `sent` messages until 2 × DLR_MAX_AGE_HOURS after its end (src/delivery/poller.ts RECENT_RUN).
 */
export function reportWindowMs(config: Pick<Config, 'DLR_MAX_AGE_HOURS'>): number {
  return 2 * config.DLR_MAX_AGE_HOURS * 3_600_000;
}

export async function archiveExpiredRuns(deps: ArchiveDeps, opts: ArchiveOptions = {}): Promise<ArchiveResult> {
  const dest = openDestination(opts.dest ?? deps.config.ARCHIVE_DEST, deps.config);
  const cutoffs = retentionCutoffs(opts.now ?? new Date(), {
    retentionDays: deps.config.RETENTION_DAYS,
    regulatedDays: deps.config.RETENTION_REGULATED_DAYS,
    olderThanDays: opts.olderThanDays,
    reportWindowMs: reportWindowMs(deps.config),
  });
  const db = await deps.pg.connect();
  try {
    // Timestamps render in UTC so identical data always gives a byte-identical file.
    await db.query("SET TIME ZONE 'UTC'");
    const locked = await db.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1) AS ok', [ARCHIVE_LOCK]);
    if (!locked.rows[0]!.ok) throw new ConflictError('another `bulksms archive` or a `bulksms restore` is running against this database');
    const result: ArchiveResult = { runs: 0, rows: 0, files: 0, manifest: null, dryRun: !!opts.dryRun, runIds: [], resumed: 0 };
    if (opts.dryRun) {
      await dest.check();
      await countWhatWouldBeArchived(db, dest, cutoffs, result);
      return result;
    }
    // A destination that cannot take files is found before the first export, even on a night with nothing to archive.
    await dest.prepare();
    // Held to the end: an archive of another database into the same destination would rewrite the manifest too.
    const unlock = await dest.lock();
    try {
      return await archiveLocked(deps, opts, db, dest, cutoffs, result);
    } finally {
      await unlock();
    }
  } finally {
    // Unlocked and destroyed rather than returned: it carries the session lock and time zone.
    await releaseSessionLocked(db);
  }
}

async function archiveLocked(
  deps: ArchiveDeps,
  opts: ArchiveOptions,
  db: PoolClient,
  dest: ArchiveDestination,
  cutoffs: RetentionCutoffs,
  result: ArchiveResult,
): Promise<ArchiveResult> {
  const removed = await dest.cleanupStaging();
  if (removed) deps.logger.info({ removed }, 'archive: removed temp files of an interrupted run');
  const existing = await loadManifest(dest);
  const manifest = existing ?? emptyManifest();
  const ctx = { deps, db, dest, manifest, opts };
  for (const entry of manifest.files.filter((f) => f.state === 'exported')) {
    await whileRunFinished(ctx, entry.runId, async () => {
      // Rows changed since the file was written (the run was retried after the interruption): the file no longer
      // holds them as they are, so they are not deleted — they stay in the database, the file stays listed.
      const changed = await changedSinceExport(db, entry);
      if (changed) {
        deps.logger.warn({ runId: entry.runId, file: entry.file, changed }, 'archive: rows changed since this file was exported; not deleted');
        return;
      }
      deps.logger.info({ runId: entry.runId, file: entry.file }, 'archive: resuming an interrupted deletion');
      await finishDeletion(ctx, entry, await verifyResumable(ctx, entry));
      result.resumed++;
      tally(result, entry);
    });
  }
  const columns = await messageColumns(db);
  for (const run of await findExpiredRuns(db, cutoffs)) {
    await whileRunFinished(ctx, run.runId, async () => {
      const entry = await exportAndVerify(ctx, run, columns);
      result.files++;
      await opts.onStage?.('exported', run.runId);
      await finishDeletion(ctx, entry, entry.rows);
      tally(result, entry);
    });
  }
  // Only a manifest that exists: with nothing archived and none before, pointing `restore` at one was a dead end.
  if (existing || manifest.files.length) result.manifest = dest.manifestLocation;
  return result;
}

interface Ctx {
  deps: ArchiveDeps;
  db: PoolClient;
  dest: ArchiveDestination;
  manifest: Manifest;
  opts: ArchiveOptions;
}

/**
 * Runs `fn` holding the run's archive lock (a retry skips the run meanwhile), if the run is still finished once
 * the lock is held: a retry that committed after the run was picked (or after an interrupted deletion) made it
 * running again, and its re-queued messages must not be deleted. Such a run is left for a later archive.
 */
async function whileRunFinished(ctx: Ctx, runId: string, fn: () => Promise<void>): Promise<void> {
  const { db, deps } = ctx;
  await db.query('SELECT pg_advisory_lock($1, hashtext($2::text))', [RUN_ARCHIVE_LOCK_CLASS, runId]);
  try {
    const status = await runStatus(db, runId);
    if (!isFinished(status)) {
      deps.logger.warn({ runId, status }, 'archive: run is sending again (retried); left for a later archive');
      return;
    }
    await fn();
  } finally {
    await db.query('SELECT pg_advisory_unlock($1, hashtext($2::text))', [RUN_ARCHIVE_LOCK_CLASS, runId]).catch(() => undefined);
  }
}

async function runStatus(db: PoolClient, runId: string): Promise<string | undefined> {
  const { rows } = await db.query<{ status: string }>('SELECT status::text AS status FROM campaign_runs WHERE id = $1', [runId]);
  return rows[0]?.status;
}

function isFinished(status: string | undefined): boolean {
  return status === 'completed' || status === 'cancelled' || status === 'failed';
}

/**
 * --dry-run: the runs and rows a real run would process, in its order. First the deletions an interrupted archive left
 * (`resumed`: those a real run finishes — run finished again, no row changed since the export), counted by their
 * file's rows as a real run counts them; then the expired runs' rows outside those files. `files` stays 0: none written.
 */
async function countWhatWouldBeArchived(db: PoolClient, dest: ArchiveDestination, cutoffs: RetentionCutoffs, result: ArchiveResult): Promise<void> {
  const manifest = await loadManifest(dest);
  if (manifest) result.manifest = dest.manifestLocation;
  const resumed: ManifestFile[] = [];
  for (const entry of manifest?.files.filter((f) => f.state === 'exported') ?? []) {
    if (!isFinished(await runStatus(db, entry.runId)) || (await changedSinceExport(db, entry))) continue;
    resumed.push(entry);
    result.resumed++;
    tally(result, entry);
  }
  for (const run of await findExpiredRuns(db, cutoffs)) {
    let rows = await countRunRows(db, run.runId);
    for (const entry of resumed.filter((e) => e.runId === run.runId && e.minId)) {
      rows -= await countRunRows(db, run.runId, { minId: entry.minId!, maxId: entry.maxId! });
    }
    if (rows <= 0) continue;
    if (!result.runIds.includes(run.runId)) {
      result.runs++;
      result.runIds.push(run.runId);
    }
    result.rows += rows;
  }
}

function tally(result: ArchiveResult, entry: ManifestFile): void {
  if (!result.runIds.includes(entry.runId)) {
    result.runs++;
    result.runIds.push(entry.runId);
  }
  result.rows += entry.rows;
}

async function exportAndVerify(ctx: Ctx, run: ExpiredRun, columns: ManifestFile['columns']): Promise<ManifestFile> {
  const { db, dest } = ctx;
  // The key carries the id range, so a later export of the same run (new or restored rows) can never
  // overwrite a file whose rows are already deleted; the same rows always give the same key and bytes.
  const range = await runIdRange(db, run.runId);
  // The run's counters as of now (its rows left plus those archived before); each delete batch keeps them exact after.
  await refreshRunCounters(db, [run.runId]);
  let key = runFileKey(run.runId, range.minId, range.maxId);
  // A listed file may be the only copy of rows that are gone (deleted, or partly deleted before a crash). Rows its
  // deletion kept (changed after the export) can span the same id range: their file must not replace it. The same
  // number of rows in the same range is the same rows (ids are never reused), so that export may replace it (a run
  // restored and archived again gives the same key and bytes).
  const listed = ctx.manifest.files.find((f) => f.file === key);
  if (listed) {
    const rows = await countRunRows(db, run.runId, range);
    if (rows !== listed.rows) key = runFileKey(run.runId, range.minId, range.maxId, rows);
  }
  const staged = await dest.stage(key);
  let exported;
  try {
    exported = await exportRun(db, run.runId, columns, staged.path, range.maxId, ctx.deps.config.ARCHIVE_DELETE_BATCH).catch((err: unknown) => {
      // The export writes the staged file itself (a full disk shows here): name where.
      throw destinationFsError(err, dest.location, 'write', staged.path);
    });
    await staged.commit();
  } catch (err) {
    await staged.discard();
    throw err;
  }

  const check = await checkFile(dest, key);
  const inDb = exported.minId ? await countRunRows(db, run.runId, { minId: exported.minId, maxId: exported.maxId! }) : 0;
  if (check.rows !== exported.rows || inDb !== exported.rows) {
    throw new ServiceError(
      `archive of run ${run.runId} does not verify (exported ${exported.rows} rows, file holds ${check.rows}, database ${inDb}); nothing deleted`,
    );
  }
  const entry: ManifestFile = {
    runId: run.runId,
    campaignId: run.campaignId,
    runNumber: run.runNumber,
    regulated: run.regulated,
    endedAt: run.endedAt.toISOString(),
    file: key,
    table: 'messages',
    format: 'copy-text+gzip',
    columns,
    rows: exported.rows,
    bytes: check.bytes,
    sha256: check.sha256,
    minId: exported.minId,
    maxId: exported.maxId,
    state: 'exported',
    exportedAt: new Date().toISOString(),
    deletedAt: null,
  };
  upsertFile(ctx.manifest, entry);
  await saveManifest(dest, ctx.manifest);
  ctx.deps.logger.info({ runId: run.runId, rows: entry.rows, file: key }, 'archive: exported and verified');
  return entry;
}

async function changedSinceExport(db: PoolClient, entry: ManifestFile): Promise<number> {
  if (!entry.minId) return 0;
  const { rows } = await db.query<{ n: number }>(
    'SELECT count(*)::int AS n FROM messages WHERE run_id = $1 AND id BETWEEN $2::bigint AND $3::bigint AND updated_at > $4::timestamptz',
    [entry.runId, entry.minId, entry.maxId, entry.exportedAt],
  );
  return rows[0]!.n;
}

/** For an `exported` entry left by a crash: the file must still match, and the DB may hold only a subset. */
async function verifyResumable(ctx: Ctx, entry: ManifestFile): Promise<number> {
  const mismatch = (why: string) =>
    new ServiceError(`archive file ${entry.file} no longer matches its manifest entry (${why}); nothing deleted for run ${entry.runId}`);
  const check = await checkFile(ctx.dest, entry.file).catch((err: Error) => {
    throw mismatch(err.message);
  });
  if (check.sha256 !== entry.sha256) throw mismatch('SHA-256 differs');
  if (check.rows !== entry.rows) throw mismatch(`${check.rows} rows instead of ${entry.rows}`);
  const remaining = entry.minId ? await countRunRows(ctx.db, entry.runId, { minId: entry.minId, maxId: entry.maxId! }) : 0;
  if (remaining > entry.rows) throw new ServiceError(`run ${entry.runId} has more rows than its archive file; nothing deleted`);
  return remaining;
}

async function finishDeletion(ctx: Ctx, entry: ManifestFile, expected: number): Promise<void> {
  const { deps, db, opts } = ctx;
  let paused = false;
  let outcome: DeleteOutcome = { deleted: 0, kept: 0 };
  if (entry.maxId) {
    const archived = await archivedLines(ctx.dest, entry.file);
    try {
      outcome = await deleteArchivedRows(db, entry.runId, entry.columns, archived, entry.maxId, deps.config.ARCHIVE_DELETE_BATCH, async (total, ms) => {
        opts.onDeleteBatch?.(entry.runId, total, ms);
        if (!paused) {
          paused = true;
          await opts.onStage?.('deleting', entry.runId);
        }
      });
    } finally {
      await archived.return(undefined);
    }
  }
  const { deleted, kept } = outcome;
  const left = entry.minId ? await countRunRows(db, entry.runId, { minId: entry.minId, maxId: entry.maxId! }) : 0;
  if (left > kept) throw new ServiceError(`run ${entry.runId}: ${left} archived rows are still in the database after deletion; re-run archive`);
  if (kept) {
    deps.logger.warn(
      { runId: entry.runId, file: entry.file, kept },
      'archive: rows changed since the export (late delivery reports) are kept in the database; the next archive exports them to a new file',
    );
  }
  if (deleted + kept !== expected) deps.logger.warn({ runId: entry.runId, deleted, kept, expected }, 'archive: deleted row count differs');
  entry.state = 'deleted';
  entry.deletedAt = new Date().toISOString();
  await saveManifest(ctx.dest, ctx.manifest);
  await recordAudit(deps, {
    tokenId: null,
    action: 'archive.run',
    target: entry.runId,
    details: { ...opts.actor, file: entry.file, rows: entry.rows, sha256: entry.sha256, deleted, kept, destination: ctx.dest.location },
  });
}
