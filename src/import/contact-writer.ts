/**
 * Batched, pipelined contact writes inside the import's transaction(s). One `INSERT … SELECT FROM unnest`
 * per batch (one bind parameter per column). While PostgreSQL runs batch N the importer parses batch N+1
 * (at most one batch in flight), so parsing and writing overlap. Optionally each batch is split over
 * several connections by phone number, for hosts where PostgreSQL has cores to spare (a number always goes
 * to the same connection, so "first wins" still holds per number and every duplicate is found on the
 * connection that kept the first one).
 *
 * De-duplication happens in PostgreSQL, so memory does not grow with the file (5M phone strings in a JS
 * Set would be ~400 MB). A fixed-size Bloom filter (seen-phones.ts) splits each batch: numbers certainly
 * not written before go in with a plain INSERT (one unique-index descent per row); the rest (duplicates
 * and rare false positives) follow on the same connection with `ON CONFLICT (list_id, phone) DO NOTHING`,
 * which keeps the first occurrence (rows are inserted in array order, i.e. line order, and batches in
 * sequence; a number's first occurrence is never in the second statement while a later one is in the
 * first) and returns only the lines that lost. The line each duplicate lost to is looked up afterwards
 * (about 1% of rows).
 * Suppressed numbers are filtered out before the insert with one indexed lookup per batch, skipped
 * entirely while the suppression list is empty (checked at start; sending checks suppressions again).
 */
import type { PoolClient } from 'pg';
import type { RejectEntry, RejectReport } from './reject-report';
import { SeenPhones } from './seen-phones';

export interface ContactRow {
  phone: string;
  raw: string;
  /** JSON object of the per-recipient variables, already escaped as a text[] literal element (see row-mapper). */
  variablesLiteral: string;
  line: number;
  /** The record's source text, for the report if the row loses. */
  rawRow: string;
}

export interface WriteCounts {
  accepted: number;
  duplicates: number;
  suppressed: number;
}

const COLUMNS = `contacts (list_id, phone, raw_phone, variables, source_line)`;
const ROWS = `unnest($2::text[], $3::text[], $4::text[], $5::int4[]) AS u(phone, raw_phone, variables, source_line)`;

/** Numbers the Bloom filter has certainly not seen: a unique violation here would be a bug, and fails the import. */
const INSERT_NEW_SQL = `INSERT INTO ${COLUMNS} SELECT $1::uuid, u.phone, u.raw_phone, u.variables::jsonb, u.source_line FROM ${ROWS}`;

// Without a join or ORDER BY the executor inserts unnest's rows in array order, so "first wins" holds.
const INSERT_MAYBE_SEEN_SQL = `
WITH ins AS (
  INSERT INTO ${COLUMNS}
  SELECT $1::uuid, u.phone, u.raw_phone, u.variables::jsonb, u.source_line FROM ${ROWS}
  ON CONFLICT (list_id, phone) DO NOTHING
  RETURNING source_line
)
SELECT ARRAY(SELECT unnest($5::int4[]) EXCEPT ALL SELECT source_line FROM ins) AS losers`;

/**
 * PostgreSQL array literals built here rather than by node-postgres, whose per-element escaping (two
 * regex passes plus a type check per value) was the importer's largest JS cost after GC. E.164 numbers
 * and integers never need quoting; other text is quoted with `\` and `"` escaped.
 */
export function plainArray(values: readonly (string | number)[]): string {
  return `{${values.join(',')}}`;
}

const NEEDS_ESCAPE = /[\\"]/g;

export function textArray(values: readonly string[]): string {
  let out = '{';
  for (let i = 0; i < values.length; i++) {
    if (i) out += ',';
    out += `"${values[i]!.replace(NEEDS_ESCAPE, '\\$&')}"`;
  }
  return `${out}}`;
}

const SUPPRESSED_SQL = `SELECT phone, reason FROM suppressions WHERE phone = ANY($1::text[])`;
// COLLATE "C" so the lookup can use the (list_id, phone COLLATE "C") unique index.
const KEPT_SQL = `SELECT phone, source_line AS line FROM contacts WHERE list_id = $1 AND phone COLLATE "C" = ANY($2::text[])`;

class Batch {
  rows: ContactRow[] = [];
  /** Rows rejected while parsing this batch's lines, so the report stays in line order. */
  rejects: RejectEntry[] = [];
}

export class ContactWriter {
  readonly counts: WriteCounts = { accepted: 0, duplicates: 0, suppressed: 0 };
  private batch = new Batch();
  private inFlight: Promise<void> | null = null;
  private readonly seen = new SeenPhones();

  constructor(
    /** One or more connections, each inside its own open transaction. */
    private readonly clients: readonly PoolClient[],
    private readonly listId: string,
    private readonly phoneColumn: string,
    private readonly report: RejectReport,
    /** False while the suppression list is empty: saves one query per batch. */
    private readonly checkSuppressions: boolean,
    private readonly batchSize = 5000,
  ) {}

  get full(): boolean {
    return this.batch.rows.length >= this.batchSize || this.batch.rejects.length >= this.batchSize;
  }

  add(row: ContactRow): void {
    this.batch.rows.push(row);
  }

  reject(entry: RejectEntry): void {
    this.batch.rejects.push(entry);
  }

  /** Sends the current batch once the previous one is done (keeps one batch in flight). */
  async flush(): Promise<void> {
    const batch = this.batch;
    this.batch = new Batch();
    if (this.inFlight) await this.inFlight;
    const p = this.write(batch);
    // Handled later by the next flush()/finish(); the no-op catch stops an "unhandled rejection" meanwhile.
    p.catch(() => undefined);
    this.inFlight = p;
  }

  async finish(): Promise<WriteCounts> {
    await this.flush();
    await this.inFlight;
    return this.counts;
  }

  /** Waits for the in-flight batch without surfacing its error (used before ROLLBACK). */
  async settle(): Promise<void> {
    await this.inFlight?.catch(() => undefined);
  }

  private async write(batch: Batch): Promise<void> {
    const entries = batch.rejects;
    let rows = batch.rows;
    if (rows.length && this.checkSuppressions) {
      const { rows: hits } = await this.clients[0]!.query<{ phone: string; reason: string | null }>(SUPPRESSED_SQL, [
        rows.map((r) => r.phone),
      ]);
      if (hits.length) {
        const why = new Map(hits.map((h) => [h.phone, h.reason]));
        rows = [];
        for (const r of batch.rows) {
          if (!why.has(r.phone)) rows.push(r);
          else {
            this.counts.suppressed++;
            const reason = why.get(r.phone);
            entries.push({ line: r.line, raw: r.rawRow, column: this.phoneColumn, reason: `suppressed${reason ? ` (${reason})` : ''}: ${r.phone}` });
          }
        }
      }
    }
    if (rows.length) {
      const parts = this.partition(rows);
      const settled = await Promise.allSettled(parts.map((part, i) => this.insert(this.clients[i]!, part)));
      for (const r of settled) {
        if (r.status === 'rejected') throw r.reason;
        entries.push(...r.value);
      }
    }
    entries.sort((a, b) => a.line - b.line);
    await this.report.write(entries);
  }

  /**
   * Splits rows (kept in line order) into one part per connection by a leading digit of the number
   * (`+91 9 [8]…`), so each connection inserts into its own key ranges of the two phone indexes instead
   * of fighting over the same B-tree pages.
   */
  private partition(rows: ContactRow[]): ContactRow[][] {
    const n = this.clients.length;
    if (n === 1) return [rows];
    const parts: ContactRow[][] = Array.from({ length: n }, () => []);
    for (const r of rows) {
      const digit = r.phone.charCodeAt(4) - 48;
      parts[digit >= 0 && digit <= 9 ? Math.floor((digit * n) / 10) : 0]!.push(r);
    }
    return parts;
  }

  /** Inserts one part; returns report entries for its duplicates. */
  private async insert(client: PoolClient, rows: ContactRow[]): Promise<RejectEntry[]> {
    if (rows.length === 0) return [];
    const fresh: ContactRow[] = [];
    const maybeSeen: ContactRow[] = [];
    for (const r of rows) (this.seen.testAndAdd(r.phone) ? maybeSeen : fresh).push(r);
    // Both statements are queued at once on the one connection, which runs them in this order.
    const inserted = fresh.length ? client.query(INSERT_NEW_SQL, this.params(fresh)) : null;
    const settled = maybeSeen.length ? client.query<{ losers: number[] }>(INSERT_MAYBE_SEEN_SQL, this.params(maybeSeen)) : null;
    // Wait for both before surfacing either error: the transaction is rolled back only once both are done.
    const [a, b] = await Promise.allSettled([inserted, settled]);
    if (a.status === 'rejected') throw a.reason;
    if (b.status === 'rejected') throw b.reason;
    const losers = b.value?.rows[0]?.losers ?? [];
    this.counts.accepted += rows.length - losers.length;
    return losers.length ? this.describeDuplicates(client, maybeSeen, losers) : [];
  }

  private params(rows: readonly ContactRow[]): [string, string, string, string, string] {
    return [
      this.listId,
      plainArray(rows.map((r) => r.phone)),
      textArray(rows.map((r) => r.raw)),
      `{"${rows.map((r) => r.variablesLiteral).join('","')}"}`,
      plainArray(rows.map((r) => r.line)),
    ];
  }

  private async describeDuplicates(client: PoolClient, rows: ContactRow[], lines: number[]): Promise<RejectEntry[]> {
    const lost = new Set(lines);
    const losers = rows.filter((r) => lost.has(r.line));
    const kept = new Map<string, number>();
    const { rows: found } = await client.query<{ phone: string; line: number }>(KEPT_SQL, [
      this.listId,
      [...new Set(losers.map((l) => l.phone))],
    ]);
    for (const f of found) kept.set(f.phone, f.line);
    this.counts.duplicates += losers.length;
    return losers.map((r) => ({
      line: r.line,
      raw: r.rawRow,
      column: this.phoneColumn,
      reason: `duplicate of line ${kept.get(r.phone) ?? '?'}: ${r.phone}`,
    }));
  }
}
