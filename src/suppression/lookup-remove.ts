/**
 * Looking a number up on the suppression list, and taking numbers off it: a customer who opted out and later
 * re-subscribes, or numbers suppressed by mistake (a whole file imported as DND). Numbers are read as imports read
 * them (`+91 98765 43210`, `098765…`).
 *
 * Removal changes only the list: a message already marked `suppressed` (at a campaign's start, or when a worker
 * claimed it) stays so. From then on the number is treated as any other: the next import keeps it, the next run's
 * start materialises it `pending`, and a worker claiming one of its `queued` messages sends it.
 */
import type { Readable } from 'node:stream';
import type { PoolClient } from 'pg';
import { maskDigitRuns, maskPhone } from '../access/policy';
import type { Container } from '../container';
import { ValidationError } from '../errors';
import { resolveCountry } from '../import/import-contacts';
import { normalisePhone } from '../import/phone';
import { applySuppressionFile, type SuppressionEntry, type SuppressionFileOptions, type SuppressionFileResult } from './suppression';

type Deps = Pick<Container, 'pg'>;

/** Where a suppression came from and why, as the list stores it. */
export interface SuppressionRecord {
  reason: string | null;
  /** `cli`, `api`, `manual` or `file:<name>`: which file, for numbers a file added. */
  source: string;
  since: Date;
}

export interface SuppressionStatus {
  /** The number as read (E.164). */
  phone: string;
  suppressed: boolean;
  /** null when the number is not suppressed. */
  entry: SuppressionRecord | null;
}

/** One number as addSuppressions reads it, or a ValidationError naming `phone`. */
export function readSuppressionNumber(phone: string, country?: string): string {
  const read = normalisePhone(phone, resolveCountry(country));
  if (!read.ok) throw new ValidationError(`invalid phone number: "${phone}" (${read.reason})`, 'phone');
  return read.e164;
}

/** The reason a removal must give: it goes into the audit entry (required, so nobody unblocks a number unexplained). */
export function requireRemovalReason(reason: string | undefined): string {
  const trimmed = reason?.trim() ?? '';
  if (!trimmed) throw new ValidationError((n) => `${n('reason')}: say why the number may receive messages again (it goes into the audit log)`, 'reason');
  return trimmed;
}

interface SuppressionRow {
  reason: string | null;
  source: string;
  since: Date;
}

const RECORD_COLUMNS = 'reason, source, created_at AS since';

export async function findSuppression(deps: Deps, phone: string, opts: { country?: string } = {}): Promise<SuppressionStatus> {
  const e164 = readSuppressionNumber(phone, opts.country);
  const { rows } = await deps.pg.query<SuppressionRow>(`SELECT ${RECORD_COLUMNS} FROM suppressions WHERE phone = $1`, [e164]);
  const row = rows[0];
  return { phone: e164, suppressed: row !== undefined, entry: row ?? null };
}

export interface RemovalResult {
  /** The number as read (E.164). */
  phone: string;
  /** 0: it was not suppressed (a retry changes nothing). */
  removed: 0 | 1;
  /** What the list held for it before the removal. */
  was: SuppressionRecord | null;
}

/** Takes one number off the list; `reason` is required (see requireRemovalReason) but only the audit keeps it. */
export async function removeSuppression(deps: Deps, phone: string, opts: { reason: string | undefined; country?: string }): Promise<RemovalResult> {
  const e164 = readSuppressionNumber(phone, opts.country);
  requireRemovalReason(opts.reason);
  const { rows } = await deps.pg.query<SuppressionRow>(`DELETE FROM suppressions WHERE phone = $1 RETURNING ${RECORD_COLUMNS}`, [e164]);
  const row = rows[0];
  return { phone: e164, removed: row ? 1 : 0, was: row ?? null };
}

/**
 * What a removal's audit entry says besides who: the number masked, and the reason given with any number it quotes
 * masked too (the audit log holds no number in clear; "customer 98765 43210 asked to re-subscribe" is a likely reason).
 */
export function removalAuditDetails(removal: { phone: string; removed: number }, reason: string): { phone: string; reason: string; removed: number } {
  return { phone: maskPhone(removal.phone), reason: maskDigitRuns(reason.trim()), removed: removal.removed };
}

export interface RemovalFileResult extends Omit<SuppressionFileResult, 'added'> {
  removed: number;
}

async function deleteNumbers(client: PoolClient, entries: readonly SuppressionEntry[]): Promise<number> {
  const res = await client.query('DELETE FROM suppressions WHERE phone = ANY($1::text[])', [entries.map((e) => e.phone)]);
  return res.rowCount ?? 0;
}

/**
 * Takes every number of a file off the list, the file read as `bulksms suppress <file>` reads it (its reason column
 * is ignored: `reason` is why they come off). All or nothing, like adding: a file broken half-way removes none.
 */
export async function removeSuppressionFile(
  deps: Deps,
  source: Readable,
  opts: Omit<SuppressionFileOptions, 'reason'> & { reason: string | undefined },
): Promise<RemovalFileResult> {
  requireRemovalReason(opts.reason);
  const { applied, ...counts } = await applySuppressionFile(deps, source, opts, deleteNumbers);
  return { removed: applied, ...counts };
}
