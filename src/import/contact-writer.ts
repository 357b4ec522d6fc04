/**
 * Batched, pipelined contact writes inside the import's transaction. One `INSERT … SELECT FROM unnest`
 * per batch (one bind parameter per column, ~200k rows/s). While PostgreSQL runs batch N the importer
 * parses batch N+1 (at most one batch in flight), so parsing and writing use both cores.
 *
 * De-duplication and suppression happen in the same statement, in PostgreSQL, so memory does not grow
 * with the file: `ON CONFLICT (list_id, phone) DO NOTHING` keeps the first occurrence (rows are inserted in
 * line order, batches in sequence), and the statement returns only the losers, i.e. rows that were
 * suppressed or not inserted. The line each duplicate lost to is looked up afterwards (about 1% of rows).
 */
import type { PoolClient } from 'pg';
import type { RejectEntry, RejectReport } from './reject-report';

export interface ContactRow {
  phone: string;
  raw: string;
  /** JSON object text of the per-recipient variables. */
  variables: string;
  line: number;
  /** The record's source text, for the report if the row loses. */
  rawRow: string;
}

export interface WriteCounts {
  accepted: number;
  duplicates: number;
  suppressed: number;
}

const INSERT_SQL = `
WITH input AS (
  SELECT * FROM unnest($2::text[], $3::text[], $4::text[], $5::int4[]) AS u(phone, raw_phone, variables, source_line)
), ins AS (
  INSERT INTO contacts (list_id, phone, raw_phone, variables, source_line)
  SELECT $1::uuid, i.phone, i.raw_phone, i.variables::jsonb, i.source_line
  FROM input i
  WHERE NOT EXISTS (SELECT 1 FROM suppressions s WHERE s.phone = i.phone)
  ORDER BY i.source_line
  ON CONFLICT (list_id, phone) DO NOTHING
  RETURNING source_line
)
SELECT i.source_line AS line, i.phone, s.phone IS NOT NULL AS suppressed, s.reason
FROM input i
LEFT JOIN suppressions s ON s.phone = i.phone
WHERE NOT EXISTS (SELECT 1 FROM ins WHERE ins.source_line = i.source_line)`;

const KEPT_SQL = `SELECT phone, source_line AS line FROM contacts WHERE list_id = $1 AND phone = ANY($2::text[])`;

interface Loser {
  line: number;
  phone: string;
  suppressed: boolean;
  reason: string | null;
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
    private readonly client: PoolClient,
    private readonly listId: string,
    private readonly phoneColumn: string,
    private readonly report: RejectReport,
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
    let losers: Loser[] = [];
    if (batch.rows.length) {
      const { rows } = await this.client.query<Loser>(INSERT_SQL, [
        this.listId,
        batch.rows.map((r) => r.phone),
        batch.rows.map((r) => r.raw),
        batch.rows.map((r) => r.variables),
        batch.rows.map((r) => r.line),
      ]);
      losers = rows;
    }
    const entries = batch.rejects;
    if (losers.length) entries.push(...(await this.describeLosers(batch.rows, losers)));
    this.counts.accepted += batch.rows.length - losers.length;
    entries.sort((a, b) => a.line - b.line);
    await this.report.write(entries);
  }

  private async describeLosers(rows: ContactRow[], losers: Loser[]): Promise<RejectEntry[]> {
    const byLine = new Map(rows.map((r) => [r.line, r]));
    const dupPhones = [...new Set(losers.filter((l) => !l.suppressed).map((l) => l.phone))];
    const kept = new Map<string, number>();
    if (dupPhones.length) {
      const { rows: found } = await this.client.query<{ phone: string; line: number }>(KEPT_SQL, [this.listId, dupPhones]);
      for (const f of found) kept.set(f.phone, f.line);
    }
    return losers.map((l) => {
      const row = byLine.get(l.line)!;
      if (l.suppressed) {
        this.counts.suppressed++;
        return { line: l.line, raw: row.rawRow, column: this.phoneColumn, reason: `suppressed${l.reason ? ` (${l.reason})` : ''}: ${l.phone}` };
      }
      this.counts.duplicates++;
      const first = kept.get(l.phone);
      return { line: l.line, raw: row.rawRow, column: this.phoneColumn, reason: `duplicate of line ${first ?? '?'}: ${l.phone}` };
    });
  }
}
