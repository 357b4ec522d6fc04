/**
 * Global suppression list (opt-outs, DND): numbers here are kept out of imports and never sent to.
 * Numbers are normalised exactly like imported contacts; adding is idempotent (ON CONFLICT DO NOTHING).
 */
import type { Readable } from 'node:stream';
import type { Pool, PoolClient } from 'pg';
import { maskPhone } from '../access/policy';
import type { Container } from '../container';
import { inTransaction } from '../db/transaction';
import { ValidationError } from '../errors';
import { openCsvTable } from '../import/csv-table';
import { cleanHeader, mapColumns } from '../import/detect';
import { ImportError } from '../import/import-error';
import { resolveCountry } from '../import/import-contacts';
import { resolveLimits, type ImportLimits } from '../import/limits';
import { normalisePhone } from '../import/phone';

export interface SuppressionEntry {
  phone: string;
  reason?: string;
  source?: string;
}

type Deps = Pick<Container, 'pg'>;

const BATCH = 5000;

const INSERT_SQL = `
INSERT INTO suppressions (phone, reason, source)
SELECT u.phone, u.reason, coalesce(u.source, 'manual')
FROM unnest($1::text[], $2::text[], $3::text[]) AS u(phone, reason, source)
ON CONFLICT (phone) DO NOTHING`;

async function insertNormalised(db: Pool | PoolClient, entries: readonly SuppressionEntry[]): Promise<number> {
  let added = 0;
  for (let i = 0; i < entries.length; i += BATCH) {
    const batch = entries.slice(i, i + BATCH);
    const res = await db.query(INSERT_SQL, [
      batch.map((e) => e.phone),
      batch.map((e) => e.reason ?? null),
      batch.map((e) => e.source ?? null),
    ]);
    added += res.rowCount ?? 0;
  }
  return added;
}

/**
 * Adds numbers to the suppression list. Every number is validated first: one invalid number rejects the
 * whole call (ValidationError) so nothing is half-applied. `added` counts numbers that were not there yet.
 */
export async function addSuppressions(
  deps: Deps,
  entries: readonly SuppressionEntry[],
  opts: { country?: string } = {},
): Promise<{ added: number }> {
  const country = resolveCountry(opts.country);
  const normalised: SuppressionEntry[] = [];
  const invalid: string[] = [];
  // Among several, each invalid one says where it is (1-based), or a batch of 10,000 named a value to search for.
  const where = (i: number): string => (entries.length > 1 ? `#${i + 1} ` : '');
  entries.forEach((e, i) => {
    const r = normalisePhone(e.phone, country);
    if (r.ok) normalised.push({ ...e, phone: r.e164 });
    else invalid.push(`${where(i)}"${e.phone}" (${r.reason})`);
  });
  if (invalid.length) {
    const shown = invalid.slice(0, 5).join(', ');
    throw new ValidationError(`invalid phone number${invalid.length > 1 ? 's' : ''}: ${shown}${invalid.length > 5 ? ` and ${invalid.length - 5} more` : ''}`, 'phone');
  }
  return { added: await insertNormalised(deps.pg, normalised) };
}

/** The number as an audit entry may name it: read like addSuppressions reads it, then masked; null if it is none. */
export function maskedSuppression(phone: string, country?: string): string | null {
  const read = normalisePhone(phone, resolveCountry(country));
  return read.ok ? maskPhone(read.e164) : null;
}

export interface SuppressionFileResult {
  added: number;
  rows: number;
  rejected: number;
  /** The first few rejected rows, for the operator. */
  rejects: { line: number; reason: string }[];
}

export interface SuppressionFileOptions {
  fileName: string;
  reason?: string;
  phoneColumn?: string;
  country?: string;
  limits?: Partial<ImportLimits>;
}

/**
 * Streams a suppression CSV (phone column auto-detected like contact imports, optional `reason` column;
 * a file of bare numbers without a header works too). Invalid rows are skipped and counted. All or nothing: the
 * rows go in one transaction, so a file that turns out broken half-way (exit 2) adds none of them.
 */
export async function importSuppressions(deps: Deps, source: Readable, opts: SuppressionFileOptions): Promise<SuppressionFileResult> {
  const { applied, ...counts } = await applySuppressionFile(deps, source, opts, insertNormalised);
  return { added: applied, ...counts };
}

/**
 * Reads a suppression file as importSuppressions does and hands its valid numbers, in batches, to `apply` inside
 * one transaction (so a file broken half-way applies nothing); `applied` sums what `apply` answered.
 */
export async function applySuppressionFile(
  deps: Deps,
  source: Readable,
  opts: SuppressionFileOptions,
  apply: (client: PoolClient, entries: readonly SuppressionEntry[]) => Promise<number>,
): Promise<Omit<SuppressionFileResult, 'added'> & { applied: number }> {
  const country = resolveCountry(opts.country);
  const file = opts.fileName;
  const table = await openCsvTable(source, file, resolveLimits(opts.limits));
  const header = table.header.fields;
  let phoneIndex: number;
  let reasonIndex = -1;
  let pending: { fields: string[]; line: number }[] = [];
  const mapped = mapColumns(header, opts.phoneColumn);
  if (mapped.ok) {
    phoneIndex = mapped.mapping.phoneIndex;
    reasonIndex = header.findIndex((h) => cleanHeader(h).toLowerCase() === 'reason');
  } else if (opts.phoneColumn === undefined && normalisePhone(header[0] ?? '', country).ok) {
    phoneIndex = 0; // no header: the first line is already a number
    pending = [table.header];
  } else {
    throw new ImportError({ file, line: table.header.line, column: opts.phoneColumn }, mapped.reason, opts.phoneColumn === undefined ? undefined : 'phoneColumn');
  }
  const result = { applied: 0, rows: 0, rejected: 0, rejects: [] as SuppressionFileResult['rejects'] };
  let batch: SuppressionEntry[] = [];
  const take = (fields: string[], line: number): void => {
    result.rows++;
    const r = normalisePhone((fields[phoneIndex] ?? '').trim(), country);
    if (!r.ok) {
      result.rejected++;
      if (result.rejects.length < 20) result.rejects.push({ line, reason: r.reason });
      return;
    }
    const reason = (reasonIndex >= 0 ? fields[reasonIndex]?.trim() : '') || opts.reason;
    batch.push({ phone: r.e164, reason, source: `file:${file}`.slice(0, 200) });
  };
  for (const rec of pending) take(rec.fields, rec.line);
  return inTransaction(deps.pg, async (c) => {
    for await (const records of table.batches) {
      for (const rec of records) take(rec.fields, rec.line);
      if (batch.length >= BATCH) {
        result.applied += await apply(c, batch);
        batch = [];
      }
    }
    result.applied += await apply(c, batch);
    return result;
  });
}
