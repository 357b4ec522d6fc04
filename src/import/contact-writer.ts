/**
 * Batched, pipelined contact writes inside the import's transaction(s). One `INSERT … SELECT FROM unnest`
 * per batch (one bind parameter per column). While PostgreSQL runs batch N the importer parses batch N+1
 * (at most one batch in flight), so parsing and writing overlap. Optionally each batch is split over
 * several connections by phone number, for hosts where PostgreSQL has cores to spare (a number always goes
 * to the same connection, so "first wins" still holds per number and every duplicate is found on the
 * connection that kept the first one).
 *
 * De-duplication must not keep every number in memory (5M phone strings in a JS Set would be ~400 MB).
 * Numbers repeated within one batch are resolved in JS (a map bounded by the batch size). Across batches,
 * a fixed-size Bloom filter (seen-phones.ts) marks almost every row as certainly new: those are inserted
 * without any lookup, one unique-index insert each. Only the rest (real duplicates of earlier batches
 * and rare false positives) take ON CONFLICT, in the same statement, which also returns the line each
 * duplicate lost to. ON CONFLICT for every row, as before, searched the unique index twice per row
 * (speculative insertion). First occurrence wins: lines go in order, batches in sequence.
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

/**
 * One statement per batch part. Ids are drawn in line order first (so they follow line order whichever
 * insert writes the row). Rows the Bloom filter has certainly not seen are inserted blind: no lookup, and
 * the unique index alone would still refuse a duplicate, failing the import rather than losing a row.
 * The others go through ON CONFLICT on the (list_id, phone) unique index, which needs no plan choice:
 * lookups planned from statistics once scanned the whole list per batch on a table vacuumed while empty.
 * The no-op DO UPDATE makes RETURNING give, for every such row, the line stored for its number: its own
 * (inserted) or an earlier batch's (it lost to that line). Numbers repeated within the batch never get
 * here (the writer settles those), so no row of one statement conflicts with another.
 */
export const INSERT_SQL = `
WITH b AS MATERIALIZED (
  SELECT nextval('contacts_id_seq'::regclass) AS id, u.*
  FROM unnest($2::text[], $3::text[], $4::text[], $5::int4[], $6::bool[]) AS u(phone, raw_phone, variables, source_line, fresh)
), blind AS (
  INSERT INTO contacts (id, list_id, phone, raw_phone, variables, source_line)
  SELECT id, $1::uuid, phone, raw_phone, variables::jsonb, source_line FROM b WHERE fresh
)
INSERT INTO contacts (id, list_id, phone, raw_phone, variables, source_line)
SELECT id, $1::uuid, phone, raw_phone, variables::jsonb, source_line FROM b WHERE NOT fresh
ON CONFLICT (list_id, phone) DO UPDATE SET source_line = contacts.source_line
RETURNING phone, source_line AS line`;

/**
 * PostgreSQL array literals built here rather than by node-postgres, whose per-element escaping (two
 * regex passes plus a type check per value) was the importer's largest JS cost after GC. E.164 numbers
 * and integers never need quoting; other text is quoted with `\` and `"` escaped.
 */
export function plainArray(values: readonly (string | number | boolean)[]): string {
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

interface PlannedPart {
  /** Rows in the part, repeats included. */
  rows: number;
  params: string[];
  maybeSeen: ContactRow[];
  repeats: { row: ContactRow; first: number }[];
}

class Batch {
  rows: ContactRow[] = [];
  /** Rows rejected while parsing this batch's lines, so the report stays in line order. */
  rejects: RejectEntry[] = [];
}

export class ContactWriter {
  readonly counts: WriteCounts = { accepted: 0, duplicates: 0, suppressed: 0 };
  private batch = new Batch();
  private inFlight: Promise<void> | null = null;

  constructor(
    /** One or more connections, each inside its own open transaction. */
    private readonly clients: readonly PoolClient[],
    private readonly listId: string,
    private readonly phoneColumn: string,
    private readonly report: RejectReport,
    /** False while the suppression list is empty: saves one query per batch. */
    private readonly checkSuppressions: boolean,
    private readonly batchSize = 2000,
    /** Numbers written so far (approximately); one per import, shared by all its connections. */
    private readonly seen = new SeenPhones(),
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

  /**
   * Sends the current batch once the previous one is done (keeps one batch in flight). Without suppressions
   * to look up, the batch's statement parameters are built before waiting, so PostgreSQL gets the next
   * batch the moment it finishes one.
   */
  async flush(): Promise<void> {
    const batch = this.batch;
    this.batch = new Batch();
    const planned = this.checkSuppressions ? null : this.plan(batch.rows);
    if (this.inFlight) await this.inFlight;
    const p = this.write(batch, planned);
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

  private async write(batch: Batch, planned: PlannedPart[] | null): Promise<void> {
    const entries = batch.rejects;
    let rows = batch.rows;
    if (planned === null && rows.length) {
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
    const parts = planned ?? this.plan(rows);
    if (parts.length) {
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

  /** One planned part per connection (none for an empty batch). */
  private plan(rows: ContactRow[]): PlannedPart[] {
    return rows.length ? this.partition(rows).map((part) => this.planPart(part)) : [];
  }

  /**
   * Sorts a part's rows into: repeats of a number earlier in the batch (settled here), rows the filter
   * has certainly not seen, and rows it may have seen (checked against the table); builds the parameters.
   */
  private planPart(rows: ContactRow[]): PlannedPart {
    const send: ContactRow[] = [];
    const fresh: boolean[] = [];
    const maybeSeen: ContactRow[] = [];
    const repeats: { row: ContactRow; first: number }[] = [];
    // Numbers repeated within this batch, by hash → index in `send` (small-integer keys: no string hashing).
    // Only rows the filter has maybe seen can be repeats; a fresh row is new to the batch too.
    const byHash = new Map<number, number>();
    for (const r of rows) {
      const isFresh = !this.seen.testAndAdd(r.phone);
      const hash = this.seen.lastHash;
      if (!isFresh) {
        const first = this.firstInBatch(send, byHash.get(hash), r.phone);
        if (first !== undefined) {
          repeats.push({ row: r, first: first.line });
          continue;
        }
        maybeSeen.push(r);
      }
      if (!byHash.has(hash)) byHash.set(hash, send.length);
      send.push(r);
      fresh.push(isFresh);
    }
    const params = [
      this.listId,
      plainArray(send.map((r) => r.phone)),
      textArray(send.map((r) => r.raw)),
      `{"${send.map((r) => r.variablesLiteral).join('","')}"}`,
      plainArray(send.map((r) => r.line)),
      plainArray(fresh),
    ];
    return { rows: rows.length, params, maybeSeen, repeats };
  }

  /** Inserts one planned part; returns report entries for its duplicates. */
  private async insert(client: PoolClient, part: PlannedPart): Promise<RejectEntry[]> {
    if (part.rows === 0) return [];
    const { maybeSeen, repeats } = part;
    const { rows: stored } = await client.query<{ phone: string; line: number }>(INSERT_SQL, part.params);
    // The line stored for each maybe-seen number; a number the batch inserted blind is its first line.
    const keptLine = new Map(stored.map((e) => [e.phone, e.line]));
    const lost: RejectEntry[] = [];
    for (const r of maybeSeen) {
      const kept = keptLine.get(r.phone)!;
      if (kept !== r.line) lost.push(this.duplicate(r, kept));
    }
    for (const { row, first } of repeats) lost.push(this.duplicate(row, keptLine.get(row.phone) ?? first));
    this.counts.duplicates += lost.length;
    this.counts.accepted += part.rows - lost.length;
    return lost;
  }

  /** The batch's earlier row with this number, if any: the hash's first row, else (collision) a scan. */
  private firstInBatch(send: readonly ContactRow[], candidate: number | undefined, phone: string): ContactRow | undefined {
    if (candidate === undefined) return undefined;
    if (send[candidate]!.phone === phone) return send[candidate];
    return send.find((r) => r.phone === phone);
  }

  private duplicate(r: ContactRow, keptLine: number): RejectEntry {
    return { line: r.line, raw: r.rawRow, column: this.phoneColumn, reason: `duplicate of line ${keptLine}: ${r.phone}` };
  }
}
