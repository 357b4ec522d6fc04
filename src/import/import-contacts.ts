/**
 * Contact import: one streaming pipeline used by `bulksms import`, `bulksms send` and the HTTP upload.
 * Readable → encoding detection/decoding → delimiter detection → CSV records → phone column + variables →
 * E.164 → batched COPY (suppression per batch, duplicates settled at the end) + reject report. Memory stays flat
 * whatever the file size. Whole-file problems throw ImportError (exit 2 / HTTP 400); the list is then
 * `failed` with the reason and holds no contacts.
 */
import { rmSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { DatabaseError, type PoolClient } from 'pg';
import { isSupportedCountry, type CountryCode } from 'libphonenumber-js/max';
import type { Container } from '../container';
import { AppError, ConflictError, ServiceError, ValidationError } from '../errors';
import { ContactWriter } from './contact-writer';
import { c0ControlReason, C0_CONTROL } from './control-characters';
import { refuseControlInName } from '../lib/names';
import { duplicateVerdicts } from './duplicates';
import { openCsvTable } from './csv-table';
import { mapColumns } from './detect';
import { ImportError } from './import-error';
import { normalisePhone } from './phone';
import { resolveLimits, type ImportLimits } from './limits';
import { beginListTransaction, claimListName, createImportingList, markFailed, markReady } from './list-store';
import { RejectReport } from './reject-report';
import { ReportSpool, writeReport } from './report-spool';
import { RowMapper } from './row-mapper';

export type { ImportLimits } from './limits';
export { ImportError } from './import-error';

export interface ImportProgress {
  rows: number;
  bytes: number;
}

export interface ImportOptions {
  listName: string;
  /** Shown in errors and stored on the list (a path or an upload's original name). */
  fileName: string;
  /** Default country for numbers without an international prefix (ISO 3166 alpha-2); IN if absent. */
  country?: string;
  /** Header name (case/space-insensitive) or 1-based column number of the phone column. */
  phoneColumn?: string;
  limits?: Partial<ImportLimits>;
  /** Called after every decoded chunk (progress bars). */
  onProgress?: (p: ImportProgress) => void;
  /**
   * Last check before the list becomes ready, given its variable columns and the bytes read (the HTTP upload reads
   * the rest of its request here; a one-shot send checks its text's placeholders against the columns; the CLI that
   * the file is still the one it read); throwing
   * rolls the import back like any failure: the list ends `failed` and holds no contacts.
   */
  beforeCommit?: (list: { columns: string[]; bytesRead: number }) => Promise<void>;
}

export interface ImportResult {
  listId: string;
  rows: number;
  accepted: number;
  rejected: number;
  duplicates: number;
  suppressed: number;
  rejectReport: string | null;
}

export type ImportDeps = Pick<Container, 'config' | 'logger' | 'pg'>;

export const MAX_LIST_NAME = 200;

/** A failed import's reason when the server itself failed (not the file): the detail is in the server log. */
export const INTERNAL_FAILURE = 'the server could not complete the import (the reason is in its log)';

/** An error whose text describes this server (paths, SQL, constraints), not the upload: a system call's or PostgreSQL's. */
function serverInternal(err: unknown): boolean {
  if (err instanceof AppError) return false;
  // No `instanceof Error` for the system error: one raised in another realm (a vm context, Jest) is not one here.
  const syscall = typeof err === 'object' && err !== null ? (err as NodeJS.ErrnoException).syscall : undefined;
  return err instanceof DatabaseError || typeof syscall === 'string';
}

export function resolveCountry(country: string | undefined): CountryCode {
  const c = (country ?? 'IN').trim().toUpperCase();
  // Named like every other input at fault (`--country: …` for the CLI, `country: …` over HTTP): the bare message did not say which option.
  if (!isSupportedCountry(c)) throw new ValidationError((n) => `${n('country')}: unknown country "${country}" (use an ISO code such as IN)`, 'country');
  return c;
}

/** The name every file of one list's import starts with (its reject report, its spool). */
const filesOf = (listId: string): string => `import-${listId}`;

/**
 * Removes the reject report a list that never became `ready` may have left: the report is written just before the
 * commit, and an importer killed then (SIGKILL, a lost machine) left it — raw rows, names and numbers — on disk for
 * good, no list pointing at it. A list that is not `ready` never has a report of its own. Never throws: a file it
 * cannot remove is logged, and must not fail the import or the request that found the list abandoned.
 */
export function removeUnfinishedReport(deps: Pick<Container, 'config' | 'logger'>, listId: string): void {
  const file = RejectReport.pathFor(deps.config.REPORTS_DIR, filesOf(listId));
  try {
    rmSync(file, { force: true });
  } catch (err) {
    deps.logger.warn({ err, listId }, 'could not remove the reject report of an unfinished import');
  }
}

export async function importContacts(deps: ImportDeps, source: Readable, opts: ImportOptions): Promise<ImportResult> {
  // An upload can fail before reading starts (while connections are set up); without a listener that
  // 'error' event would crash the process. Reading the stream later rethrows it.
  source.on('error', () => undefined);
  const limits = resolveLimits(opts.limits);
  const country = resolveCountry(opts.country);
  const listName = opts.listName.trim();
  if (!listName) throw new ValidationError('list name must not be empty', 'list');
  // As the upload route's limit: a longer name could not go into the name's unique index (random text of ~3,000
  // characters or more failed there: exit 1 "index row requires … bytes", not bad usage).
  if (listName.length > MAX_LIST_NAME) throw new ValidationError(`list name must be at most ${MAX_LIST_NAME} characters`, 'list');
  refuseControlInName(listName, 'list', 'a list name');
  const file = opts.fileName;
  const started = Date.now();
  // One connection for the whole import: it claims the name, creates the list and writes the contacts.
  let client: PoolClient | undefined = await deps.pg.connect();
  let claim: Awaited<ReturnType<typeof claimListName>> = null;
  let listId: string;
  try {
    claim = await claimListName(client, listName);
    if (!claim) throw new ConflictError(`list "${listName}" is being imported right now`);
    listId = await createImportingList(client, { name: listName, sourceFile: file, country }, (old) => removeUnfinishedReport(deps, old));
  } catch (err) {
    await claim?.release().catch(() => undefined);
    client.release();
    throw err;
  }
  const report = new RejectReport(deps.config.REPORTS_DIR, filesOf(listId));
  const spool = new ReportSpool(deps.config.REPORTS_DIR, filesOf(listId));
  let writer: ContactWriter | undefined;
  try {
    await beginListTransaction(client, listId);
    const table = await openCsvTable(source, file, limits);
    const header = table.header;
    if (header.fields.length > limits.maxColumns) {
      throw new ImportError({ file, line: header.line }, `${header.fields.length} columns, more than the limit of ${limits.maxColumns}`);
    }
    // A control character in a header makes a variable no placeholder can name (the campaign text refuses them):
    // the column would be imported and never usable. C1 ones failed the file already (csv-table.ts).
    const controlled = header.fields.findIndex((f) => C0_CONTROL.test(f.trim()));
    if (controlled !== -1) {
      throw new ImportError({ file, line: header.line }, `field ${controlled + 1} of the header holds ${c0ControlReason(header.fields[controlled]!.trim())!}`);
    }
    const mapped = mapColumns(header.fields, opts.phoneColumn);
    // A phone column asked for and not found is the option's fault (its value is the column in the message).
    if (!mapped.ok) {
      throw new ImportError({ file, line: header.line, column: opts.phoneColumn }, mapped.reason, opts.phoneColumn === undefined ? undefined : 'phoneColumn');
    }
    const { mapping } = mapped;
    // A file without a header row, its phone column named by number: the first contact would be taken for the
    // header and silently lost (and its values become column names).
    if (normalisePhone((header.fields[mapping.phoneIndex] ?? '').trim(), country).ok) {
      throw new ImportError(
        { file, line: header.line, column: mapping.phoneHeader },
        'the first row looks like data, not a header (its phone column holds a phone number); add a header row',
      );
    }
    const anySuppressed = await client.query('SELECT 1 FROM suppressions LIMIT 1');
    writer = await ContactWriter.open(client, listId, mapping.phoneHeader, spool, (anySuppressed.rowCount ?? 0) > 0);
    const mapper = new RowMapper(mapping, country, limits.maxColumns, header.fields.length);
    let rows = 0;
    let rejected = 0;
    for await (const batch of table.batches) {
      for (const rec of batch) {
        rows++;
        const r = mapper.map(rec);
        if (r.ok) writer.add(r.row);
        else {
          rejected++;
          writer.reject(r.entry);
        }
        if (writer.full) await writer.flush();
      }
      opts.onProgress?.({ rows, bytes: table.bytesRead() });
    }
    if (rows === 0) throw new ImportError({ file, line: header.line }, 'the file has a header row but no data rows');
    const counts = await writer.finish();
    await writeReport(spool, duplicateVerdicts(client), report, mapping.phoneHeader);
    await spool.discard();
    const rejectReport = await report.close();
    const result: ImportResult = { listId, rows, accepted: counts.accepted, rejected, duplicates: counts.duplicates, suppressed: counts.suppressed, rejectReport };
    await markReady(client, listId, {
      ...result,
      phoneColumn: mapping.phoneHeader,
      columns: mapping.variables.map((v) => v.name),
      rejectReportPath: rejectReport,
    });
    await opts.beforeCommit?.({ columns: mapping.variables.map((v) => v.name), bytesRead: table.bytesRead() });
    await client.query('COMMIT');
    deps.logger.info(
      // shortRows: accepted rows that ended before the header's last column (those values read as empty).
      { file, encoding: table.encoding(), delimiter: table.delimiter, ...result, shortRows: mapper.shortRows, ms: Date.now() - started },
      'contact import finished',
    );
    return result;
  } catch (err) {
    await writer?.settle();
    await client.query('ROLLBACK').catch(() => undefined);
    await report.discard().catch(() => undefined);
    await spool.discard().catch(() => undefined);
    source.destroy();
    const detail = err instanceof Error ? err.message : String(err);
    // The list's failure reason is read by every API caller (viewers included) and answered to the uploader: a
    // failure of this server's own (a file system error naming REPORTS_DIR, PostgreSQL's error on a query) says so in
    // general terms, the detail goes to the log below. The rest (the file's faults, an aborted upload) say what happened.
    const reason = serverInternal(err) ? INTERNAL_FAILURE : detail;
    // Marked failed on this connection, while it still holds the name's claim (no other import of the name sees the
    // row half-way) — not on a second pooled one: ten imports failing at once, each holding a connection and
    // waiting for another, hung the whole pool. Only if this connection is broken does the pool get asked, after.
    const marked = await markFailed(client, listId, reason).then(
      () => true,
      () => false,
    );
    // The claim is given back explicitly: closing the connection ends it too, but only once the server has noticed,
    // and a retry of the same name right after the failure found it still taken ("is being imported right now").
    await claim?.release().catch(() => undefined);
    // A connection that saw an error mid-transaction is not trusted back into the pool.
    client.release(true);
    client = undefined;
    if (!marked) {
      await markFailed(deps.pg, listId, reason).catch((e: unknown) => deps.logger.error({ err: e, listId }, 'could not mark list failed'));
    }
    deps.logger.warn({ listId, file, reason: detail }, 'contact import failed');
    if (err instanceof AppError) throw err;
    throw new ServiceError(`import of ${file} failed: ${reason}`, { cause: err, ...(reason === INTERNAL_FAILURE ? { serverDetail: detail } : {}) });
  } finally {
    if (client) {
      await claim?.release().catch(() => undefined);
      client.release();
    }
  }
}
