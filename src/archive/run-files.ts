/**
 * The SQL and file work of archiving one run: find expired runs, export a run's messages in keyset
 * batches to a gzip COPY-text file, re-read a published file (hash + row count), delete a run's rows in
 * short batches. Everything runs on one pg client that holds the archive's advisory lock.
 */
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { pipeline as pipelineStreams, Transform, Writable, type Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { pipeline } from 'node:stream/promises';
import { createGunzip, createGzip } from 'node:zlib';
import type { PoolClient } from 'pg';
import { quoteIdent } from '../db/pg';
import { PRIVATE_FILE } from '../lib/private-files';
import { ServiceError } from '../errors';
import { decodeRow, encodeRow } from '../db/copy-text';
import { ARCHIVED_COUNTS_UPSERT } from '../sending/ledger';
import type { ArchiveDestination } from './destination';
import type { ArchiveColumn } from './manifest';
import type { RetentionCutoffs } from './retention';

export interface ExpiredRun {
  runId: string;
  campaignId: string;
  runNumber: number;
  regulated: boolean;
  endedAt: Date;
}

/** The messages table's columns as they are now (so columns other teams add are archived too). */
export async function messageColumns(db: PoolClient): Promise<ArchiveColumn[]> {
  const { rows } = await db.query<ArchiveColumn>(
    `SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type
       FROM pg_attribute a
      WHERE a.attrelid = 'messages'::regclass AND a.attnum > 0 AND NOT a.attisdropped
      ORDER BY a.attnum`,
  );
  return rows;
}

/** Finished runs past their retention that still have messages, oldest first. */
export async function findExpiredRuns(db: PoolClient, cutoffs: RetentionCutoffs): Promise<ExpiredRun[]> {
  const { rows } = await db.query<{ id: string; campaign_id: string; run_number: number; regulated: boolean; ended_at: Date }>(
    `SELECT r.id, r.campaign_id, r.run_number, c.regulated, COALESCE(r.completed_at, r.started_at, r.created_at) AS ended_at
       FROM campaign_runs r
       JOIN campaigns c ON c.id = r.campaign_id
      WHERE r.status IN ('completed', 'cancelled', 'failed')
        AND COALESCE(r.completed_at, r.started_at, r.created_at) < CASE WHEN c.regulated THEN $2::timestamptz ELSE $1::timestamptz END
        AND EXISTS (SELECT 1 FROM messages m WHERE m.run_id = r.id)
      ORDER BY ended_at, r.id`,
    [cutoffs.ordinary, cutoffs.regulated],
  );
  return rows.map((r) => ({ runId: r.id, campaignId: r.campaign_id, runNumber: r.run_number, regulated: r.regulated, endedAt: r.ended_at }));
}

export async function countRunRows(db: PoolClient, runId: string, range?: { minId: string; maxId: string }): Promise<number> {
  const { rows } = range
    ? await db.query<{ n: string }>('SELECT count(*) AS n FROM messages WHERE run_id = $1 AND id BETWEEN $2::bigint AND $3::bigint', [
        runId, range.minId, range.maxId,
      ])
    : await db.query<{ n: string }>('SELECT count(*) AS n FROM messages WHERE run_id = $1', [runId]);
  return Number(rows[0]!.n);
}

export interface ExportedRun {
  rows: number;
  minId: string | null;
  maxId: string | null;
}

export async function runIdRange(db: PoolClient, runId: string): Promise<{ minId: string; maxId: string }> {
  const { rows } = await db.query<{ min: string; max: string }>(
    'SELECT min(id)::text AS min, max(id)::text AS max FROM messages WHERE run_id = $1',
    [runId],
  );
  if (!rows[0]?.min) throw new ServiceError(`run ${runId} has no messages to archive`);
  return { minId: rows[0].min, maxId: rows[0].max };
}

/** Writes the run's messages with id <= maxId (ordered by id) to `path` as gzip-compressed COPY text. */
export async function exportRun(
  db: PoolClient,
  runId: string,
  columns: ArchiveColumn[],
  path: string,
  maxId: string,
  /** Rows per SELECT (keyset pages). */
  batch = 5000,
): Promise<ExportedRun> {
  const idIndex = columns.findIndex((c) => c.name === 'id');
  if (idIndex < 0) throw new ServiceError('messages has no id column');
  // Qualified: `ORDER BY id` would sort by the text output column named id ('99' after '237').
  const select = columns.map((c) => `m.${quoteIdent(c.name)}::text`).join(', ');
  const gzip = createGzip({ level: 6 });
  const done = pipeline(gzip, createWriteStream(path, { mode: PRIVATE_FILE }));
  let rows = 0;
  let minId: string | null = null;
  let cursor = '0';
  try {
    for (;;) {
      const res = await db.query<(string | null)[]>({
        text: `SELECT ${select} FROM messages m WHERE m.run_id = $1 AND m.id > $2::bigint AND m.id <= $3::bigint ORDER BY m.id LIMIT ${batch}`,
        values: [runId, cursor, maxId],
        rowMode: 'array',
      });
      if (res.rows.length === 0) break;
      minId ??= res.rows[0]![idIndex]!;
      cursor = res.rows[res.rows.length - 1]![idIndex]!;
      rows += res.rows.length;
      if (!gzip.write(res.rows.map(encodeRow).join(''))) await once(gzip, 'drain');
      if (res.rows.length < batch) break;
    }
    gzip.end();
    await done;
  } catch (err) {
    gzip.destroy(err as Error);
    await done.catch(() => undefined);
    throw err;
  }
  return { rows, minId, maxId: rows ? cursor : null };
}

export interface FileCheck {
  sha256: string;
  bytes: number;
  rows: number;
}

/** Re-reads a published file from the destination: SHA-256 of the stored bytes and the row count inside. */
export async function checkFile(dest: ArchiveDestination, key: string): Promise<FileCheck> {
  const source = await dest.read(key);
  if (!source) throw new ServiceError(`archive file ${dest.location}/${key} is missing`);
  const hash = createHash('sha256');
  let bytes = 0;
  let rows = 0;
  const done = pipeline(
    source,
    new Transform({
      transform(chunk: Buffer, _enc, cb) {
        hash.update(chunk);
        bytes += chunk.length;
        cb(null, chunk);
      },
    }),
    createGunzip(),
    new Writable({
      write(chunk: Buffer, _enc, cb) {
        for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) rows++;
        cb();
      },
    }),
  );
  try {
    await done;
  } catch (err) {
    throw new ServiceError(`archive file ${dest.location}/${key} is damaged: ${(err as Error).message}`, { cause: err });
  }
  return { sha256: hash.digest('hex'), bytes, rows };
}

export interface DeleteOutcome {
  deleted: number;
  /** Rows of the run not deleted because the file does not hold them as they are now (changed since the export). */
  kept: number;
}

/**
 * Deletes the run's rows up to maxId in batches of `batch`, but only those the archive file holds exactly as they
 * are now. Each batch, in one short transaction: a keyset read on the primary key locks the next rows (FOR UPDATE,
 * so a delivery report cannot change a row between the comparison and its deletion), each row is encoded as the
 * export encodes it and compared with the file's line of the same id (both sorted by id), and the equal ones are
 * removed by `id = ANY(...)` (index lookups, never a scan of the whole table). A row changed after the export (a
 * late delivery report) is kept: deleting it would lose the change, which is in no file. `archived` yields the
 * file's lines (as written, without the newline); `columns` must be the file's.
 */
export async function deleteArchivedRows(
  db: PoolClient,
  runId: string,
  columns: ArchiveColumn[],
  archived: AsyncIterator<string>,
  maxId: string,
  batch: number,
  afterBatch?: (deleted: number, lockedMs: number) => Promise<void>,
): Promise<DeleteOutcome> {
  const idIndex = columns.findIndex((c) => c.name === 'id');
  if (idIndex < 0) throw new ServiceError('messages has no id column');
  const select = columns.map((c) => `m.${quoteIdent(c.name)}::text`).join(', ');
  let lineNo = 0;
  const nextLine = async (): Promise<{ id: bigint; line: string } | null> => {
    const r = await archived.next();
    if (r.done) return null;
    return { id: BigInt(decodeRow(r.value, columns.length, ++lineNo)[idIndex]!), line: `${r.value}\n` };
  };
  let file = await nextLine();
  const outcome: DeleteOutcome = { deleted: 0, kept: 0 };
  let cursor = '0';
  for (;;) {
    const started = performance.now();
    await db.query('BEGIN');
    let picked: number;
    try {
      const res = await db.query<(string | null)[]>({
        text: `SELECT ${select} FROM messages m WHERE m.run_id = $1 AND m.id > $2::bigint AND m.id <= $3::bigint ORDER BY m.id LIMIT ${batch} FOR UPDATE`,
        values: [runId, cursor, maxId],
        rowMode: 'array',
      });
      picked = res.rows.length;
      const same: string[] = [];
      for (const row of res.rows) {
        const id = BigInt(row[idIndex]!);
        while (file && file.id < id) file = await nextLine();
        if (file?.id === id && file.line === encodeRow(row)) same.push(row[idIndex]!);
        else outcome.kept++;
      }
      if (same.length) {
        // The run's archived counts grow in the same statement: its counters (rows left + archived) stay exact.
        const del = await db.query<{ n: number }>(
          `WITH d AS (DELETE FROM messages WHERE id = ANY($1::bigint[]) AND run_id = $2 RETURNING run_id, status),
                counted AS (${ARCHIVED_COUNTS_UPSERT('d', 1)})
           SELECT count(*)::int AS n FROM d`,
          [same, runId],
        );
        outcome.deleted += del.rows[0]!.n;
      }
      await db.query('COMMIT');
      if (picked) cursor = res.rows[picked - 1]![idIndex]!;
    } catch (err) {
      await db.query('ROLLBACK').catch(() => undefined);
      throw err;
    }
    // The batch's rows were locked from the SELECT to the COMMIT: that is how long a writer could wait on them.
    const lockedMs = performance.now() - started;
    if (picked === 0) return outcome;
    if (afterBatch) await afterBatch(outcome.deleted, lockedMs);
    if (picked < batch) return outcome;
  }
}

/** Newline-separated UTF-8 lines of a stream (COPY text escapes embedded newlines, so this is exact). */
export async function* lines(stream: Readable): AsyncGenerator<string> {
  const decoder = new StringDecoder('utf8');
  let rest = '';
  for await (const chunk of stream) {
    const parts = (rest + decoder.write(chunk as Buffer)).split('\n');
    rest = parts.pop()!;
    yield* parts;
  }
  rest += decoder.end();
  if (rest.length) yield rest;
}

/**
 * A published archive file opened for reading: its lines, decompressed, and — once every line has been read — the
 * SHA-256, size and line count of the very bytes those lines came from. A reader that compares `read()` with the
 * manifest has verified what it used; checking the file first and reading it again later trusted a second read that
 * could see another file (replaced in between).
 */
export interface ArchivedFileReader {
  /** Stopping early (return()) closes the file or S3 stream. */
  lines: AsyncGenerator<string>;
  /** What was read, once `lines` is exhausted (it throws before: a partial hash would be compared with the whole file's). */
  read(): Promise<FileCheck>;
}

export async function openArchivedFile(dest: ArchiveDestination, key: string): Promise<ArchivedFileReader> {
  const source = await dest.read(key);
  if (!source) throw new ServiceError(`archive file ${dest.location}/${key} is missing`);
  const hash = createHash('sha256');
  let bytes = 0;
  let rows = 0;
  let exhausted = false;
  const hashing = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      hash.update(chunk);
      bytes += chunk.length;
      cb(null, chunk);
    },
  });
  // Settles once every byte of the source has gone through the hash, or with the first error of any stage (which
  // also reaches `lines` through the gunzip stream).
  let settle: (err?: Error | null) => void = () => undefined;
  const streamed = new Promise<void>((resolve, reject) => {
    settle = (err) => (err ? reject(err) : resolve());
  });
  streamed.catch(() => undefined);
  const text = pipelineStreams(source, hashing, createGunzip(), (err) => settle(err));
  const lineReader = (async function* () {
    try {
      for await (const line of lines(text)) {
        rows++;
        yield line;
      }
      exhausted = true;
    } finally {
      source.destroy();
    }
  })();
  return {
    lines: lineReader,
    async read() {
      if (!exhausted) throw new Error(`archive file ${key}: read() before all its lines were read`);
      await streamed;
      return { sha256: hash.digest('hex'), bytes, rows };
    },
  };
}

/** The lines of a published archive file, decompressed. Stopping early (return()) closes the file or S3 stream. */
export async function archivedLines(dest: ArchiveDestination, key: string): Promise<AsyncGenerator<string>> {
  return (await openArchivedFile(dest, key)).lines;
}
